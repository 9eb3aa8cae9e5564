"""CupyOps on a real CUDA device: every override against NumpyOps on the same
inputs (gradients included), a small tagger trained on both, PyTorch sharing
device memory, and the GPU switches. Skipped, with the reason, without cupy and
a GPU; scripts/gpu_check.sh runs them on a GPU machine."""

import numpy
import pytest

from thinc.backends import _custom_kernels
from thinc.compat import has_cupy_gpu

from ._cupy_cases import (
    CASES,
    DTYPE_FREE,
    PAD_INT_DTYPES,
    compare_tagger_training,
    copy_args,
    flatten_result,
    suffix_for,
    with_specials,
)

pytestmark = pytest.mark.skipif(not has_cupy_gpu, reason="needs cupy and a CUDA GPU")


@pytest.fixture
def launched(monkeypatch):
    """The names of the kernels launched during the test (the real ones run)."""
    names: list = []

    class Spy:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __call__(self, grid, block, args, **kwargs):
            names.append(self.name)
            return self.kernel(grid, block, args, **kwargs)

    for name, kernel in list(_custom_kernels.KERNELS.items()):
        monkeypatch.setitem(_custom_kernels.KERNELS, name, Spy(name, kernel))
    return names


@pytest.fixture(scope="module")
def gpu_ops():
    from thinc.backends import CupyOps

    return CupyOps()


def _to_host(result):
    import cupy

    return [cupy.asnumpy(item) for item in flatten_result(result)]


# GPU and CPU evaluate exp, erfc and tanh with different (correctly rounded
# to a few ulp) code, and sum in different orders.
GPU_TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-9, "atol": 1e-11}}


def test_the_module_compiles_for_this_device_with_every_kernel():
    module = _custom_kernels._compiled_module()
    for name in _custom_kernels.KERNEL_NAMES:
        assert module.get_function(name) is not None, name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_override_matches_numpy_ops_on_the_gpu(gpu_ops, launched, case, dtype):
    import cupy

    from thinc.backends import NumpyOps

    args, kwargs = case.build(numpy.random.default_rng(0), dtype)
    if case.specials:
        args = with_specials(args, dtype)
    ours = getattr(gpu_ops, case.method)(*copy_args(args, cupy.asarray), **kwargs)
    assert suffix_for(case, dtype) in launched
    cpu = getattr(NumpyOps(), case.method)(*copy_args(args, numpy.asarray), **kwargs)
    got, want = _to_host(ours), flatten_result(cpu)
    assert len(got) == len(want)
    tolerance = dict(GPU_TOLERANCE[dtype])
    if case.method.startswith("_layer_norm"):
        tolerance = {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else tolerance
    for got_item, want_item in zip(got, want):
        assert got_item.shape == want_item.shape and got_item.dtype == want_item.dtype
        numpy.testing.assert_allclose(got_item, want_item, err_msg=case.id, **tolerance)


@pytest.mark.parametrize("dtype", PAD_INT_DTYPES)
def test_pad_of_integer_sequences_on_the_gpu(gpu_ops, launched, dtype):
    import cupy

    from thinc.backends import NumpyOps

    (seqs,), kwargs = next(case for case in CASES if case.method == "pad").build(
        numpy.random.default_rng(1), dtype
    )
    padded = gpu_ops.pad([cupy.asarray(seq) for seq in seqs], **kwargs)
    assert launched == [f"pad_{dtype}"]
    numpy.testing.assert_array_equal(padded.get(), NumpyOps().pad(seqs, **kwargs))


def test_hash_on_the_gpu(gpu_ops, launched):
    import cupy

    from thinc.backends import NumpyOps

    args, _ = DTYPE_FREE["hash"].build(numpy.random.default_rng(2), "uint64")
    got = gpu_ops.hash(cupy.asarray(args[0]), args[1])
    numpy.testing.assert_array_equal(got.get(), NumpyOps().hash(*args))
    assert launched == ["hash_data"]


def test_inputs_larger_than_one_grid(gpu_ops):
    """More items than MAX_BLOCKS * THREADS_PER_BLOCK: the grid-stride loops."""
    import cupy

    from thinc.backends import NumpyOps

    n = _custom_kernels.MAX_BLOCKS * _custom_kernels.THREADS_PER_BLOCK + 4099
    X = numpy.random.default_rng(5).normal(size=(n,)).astype("f")
    numpy.testing.assert_allclose(
        gpu_ops.gelu(cupy.asarray(X)).get(), NumpyOps().gelu(X), rtol=2e-5, atol=2e-6
    )
    lengths = numpy.array([n // 8 - 3, 0, n // 8 + 3], dtype="int32")
    rows = numpy.random.default_rng(6).normal(size=(int(lengths.sum()), 4)).astype("f")
    d_rows = gpu_ops.backprop_reduce_mean(
        gpu_ops.reduce_mean(cupy.asarray(rows), cupy.asarray(lengths)), lengths
    )
    cpu = NumpyOps()
    numpy.testing.assert_allclose(
        d_rows.get(), cpu.backprop_reduce_mean(cpu.reduce_mean(rows, lengths), lengths), rtol=1e-4
    )


def test_inplace_on_the_gpu(gpu_ops):
    import cupy

    X = cupy.linspace(-4, 4, 48, dtype="f").reshape((4, 12))
    expected = gpu_ops.mish(X.copy())
    assert gpu_ops.mish(X, inplace=True) is X
    cupy.testing.assert_array_equal(X, expected)
    base = cupy.linspace(-4, 4, 48, dtype="f").reshape((4, 12))
    view = base[:, ::2]
    expected = gpu_ops.gelu(view.copy())
    assert gpu_ops.gelu(view, inplace=True) is view
    cupy.testing.assert_array_equal(base[:, ::2], expected)


def test_bad_input_raises_on_the_gpu_too(gpu_ops, launched):
    import cupy

    with pytest.raises(IndexError):
        gpu_ops.gather_add(cupy.ones((4, 3), "f"), cupy.asarray([[0, 4]], "i"))
    with pytest.raises(IndexError):
        gpu_ops.backprop_maxout(cupy.ones((2, 3), "f"), cupy.full((2, 3), 3, "i"), 3)
    with pytest.raises(ValueError):
        gpu_ops.backprop_reduce_sum(cupy.ones((2, 3), "f"), cupy.asarray([1, -1], "i"))
    assert launched == []


def test_a_tagger_trains_the_same_on_gpu_and_cpu(gpu_ops):
    """Five Adam steps from the same weights on the same batches: the GPU's
    predictions and weights stay within float32 rounding of the CPU's."""
    compare_tagger_training(gpu_ops)


def test_pytorch_wrapper_shares_memory_with_torch_cuda_tensors():
    torch = pytest.importorskip("torch", reason="needs PyTorch: .venv/bin/pip install torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    import cupy

    from thinc.api import PyTorchWrapper, use_ops

    tensor = torch.arange(4, dtype=torch.float32, device="cuda")
    with use_ops("cupy") as ops:
        array = ops.asarray(tensor)
        assert array.data.ptr == tensor.data_ptr()
        array[0] = 10
        assert float(tensor[0]) == 10.0
        torch.manual_seed(0)
        model = PyTorchWrapper(torch.nn.Linear(3, 2).cuda())
        X = cupy.ones((4, 3), dtype="f")
        Y, backprop = model(X, is_train=True)
        assert isinstance(Y, cupy.ndarray) and Y.shape == (4, 2)
        dX = backprop(cupy.ones_like(Y))
        assert isinstance(dX, cupy.ndarray) and dX.shape == (4, 3)
        layer = model.shims[0]._model
        expected = layer.weight.detach().sum(dim=0).expand(4, 3)
        numpy.testing.assert_allclose(dX.get(), expected.cpu().numpy(), rtol=1e-6)


def test_gpu_switches():
    from thinc.api import (
        CupyOps,
        NumpyOps,
        get_current_ops,
        get_ops,
        prefer_gpu,
        require_cpu,
        require_gpu,
        use_ops,
    )

    try:
        assert require_gpu() is True
        assert isinstance(get_current_ops(), CupyOps)
        require_cpu()
        assert isinstance(get_current_ops(), NumpyOps)
        assert prefer_gpu() is True
        assert isinstance(get_current_ops(), CupyOps)
        require_cpu()
        with use_ops("cupy") as ops:
            assert isinstance(ops, CupyOps) and get_current_ops() is ops
        assert isinstance(get_current_ops(), NumpyOps)
        assert isinstance(get_ops("gpu"), CupyOps)
    finally:
        require_cpu()
