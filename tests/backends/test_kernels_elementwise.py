"""The element-wise kernels' own code paths: gelu's rational approximations,
the aligned head of the vector loops, and the sequence ops' length checks."""

import math

import numpy
import pytest

from thinc.backends import numpy_ops
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

OPS = NumpyOps()
REFERENCE = Ops()


def _exact_gelu(x64):
    erfc = numpy.vectorize(math.erfc, otypes=["f8"])
    cdf = 0.5 * erfc(-x64 / math.sqrt(2.0))
    with numpy.errstate(over="ignore", invalid="ignore"):
        density = numpy.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
        return x64 * cdf, cdf + x64 * density


def _wide_inputs(dtype):
    # Dense over the range where gelu bends, then out to the largest floats.
    dense = numpy.arange(-12.0, 12.0, 1.0 / 1024)
    far = numpy.geomspace(1e-30, 3e38 if dtype == numpy.float32 else 1e300, 4000)
    return numpy.concatenate([dense, far, -far]).astype(dtype)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_gelu_error_against_float64_erfc_over_a_wide_range(dtype):
    X = _wide_inputs(dtype)
    expected, expected_grad = _exact_gelu(X.astype("f8"))
    with numpy.errstate(over="ignore", invalid="ignore"):
        got = OPS.gelu(X).astype("f8")
        got_grad = OPS.backprop_gelu(numpy.ones_like(X), X).astype("f8")
    # float32 goes through rational fits of Phi and of gelu's derivative
    # (about 1e-7 absolute, a few ulp where |gelu| is not tiny); float64
    # through the library's erfc.
    bound, relative = (1.5e-6, 5e-7) if dtype == numpy.float32 else (1e-12, 1e-12)
    assert numpy.abs(got - expected).max() < bound
    assert numpy.abs(got_grad - expected_grad).max() < bound
    # Away from the negative tail the error is relative, not only absolute.
    positive = X.astype("f8") > -0.5
    scale = numpy.maximum(numpy.abs(expected[positive]), 1e-30)
    assert (numpy.abs(got[positive] - expected[positive]) / scale).max() < relative
    scale = numpy.maximum(numpy.abs(expected_grad[positive]), 1e-30)
    assert (numpy.abs(got_grad[positive] - expected_grad[positive]) / scale).max() < relative


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_gelu_non_finite_inputs_match_the_reference(dtype):
    specials = [numpy.nan, numpy.inf, -numpy.inf, 1e30, -1e30, 0.0, -0.0, 100.0, -100.0, 6.0, -6.0]
    # Padded past one vector, so the values also go through the full-width loop.
    X = numpy.array(specials * 3, dtype=dtype)
    dY = numpy.full_like(X, 0.5)
    with numpy.errstate(over="ignore", invalid="ignore"):
        pairs = [
            (OPS.gelu(X), REFERENCE.gelu(X.copy())),
            (OPS.backprop_gelu(dY.copy(), X), REFERENCE.backprop_gelu(dY.copy(), X.copy())),
        ]
    for got, want in pairs:
        assert got.dtype == X.dtype
        assert numpy.array_equal(numpy.isnan(got), numpy.isnan(want))
        assert numpy.array_equal(numpy.isinf(got), numpy.isinf(want))
        finite = numpy.isfinite(want)
        numpy.testing.assert_allclose(got[finite], want[finite], rtol=1e-6, atol=1e-6)
        assert numpy.array_equal(got[numpy.isinf(want)], want[numpy.isinf(want)])


UNARY = ["relu", "gelu", "hard_tanh", "relu_k", "hard_sigmoid", "sigmoid", "swish", "mish"]
BINARY = [
    "backprop_relu_k",
    "backprop_hard_tanh",
    "backprop_gelu",
    "backprop_hard_sigmoid",
    "backprop_mish",
]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_every_start_offset_and_length_matches_the_aligned_result(name, dtype):
    # Views starting 0..8 elements into a buffer put the output at every
    # alignment the vector loop's masked head can meet; lengths cover the
    # head alone, head plus tail, and several full vectors.
    rng = numpy.random.default_rng(7)
    base = (rng.standard_normal(80) * 4).astype(dtype)
    gradient = rng.standard_normal(80).astype(dtype)
    method = getattr(OPS, name)
    whole = method(gradient, base) if name.startswith("backprop_") else method(base)
    for offset in range(9):
        for length in (0, 1, 3, 7, 8, 9, 15, 16, 17, 40, 71 - offset):
            X = numpy.empty(80, dtype=dtype)[offset : offset + length]
            X[...] = base[offset : offset + length]
            if name.startswith("backprop_"):
                dY = numpy.empty(80, dtype=dtype)[offset : offset + length]
                dY[...] = gradient[offset : offset + length]
                out = method(dY, X)
                in_place = method(dY.copy(), X, inplace=True)
            else:
                out = method(X)
                in_place = method(X.copy(), inplace=True)
            want = whole[offset : offset + length]
            # Each element goes through the same instructions wherever it falls.
            assert numpy.array_equal(out, want), (offset, length)
            assert numpy.array_equal(in_place, want), (offset, length)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_misaligned_views_split_over_threads_equal_serial(dtype):
    rng = numpy.random.default_rng(3)
    buffer = numpy.empty(5003, dtype=dtype)
    X = buffer[3:]
    X[...] = rng.standard_normal(5000) * 4
    dY = rng.standard_normal(5000).astype(dtype)

    def run_all():
        return [OPS.gelu(X), OPS.hard_tanh(X), OPS.backprop_gelu(dY, X), OPS.backprop_relu_k(dY, X)]

    try:
        numpy_ops._set_parallel_grain(40)
        split = run_all()
        numpy_ops._set_parallel_grain(2**62)
        serial = run_all()
    finally:
        numpy_ops._set_parallel_grain(0)
    for got, want in zip(split, serial):
        assert numpy.array_equal(got, want)
    numpy.testing.assert_allclose(split[1], REFERENCE.hard_tanh(X.copy()))
    numpy.testing.assert_allclose(split[3], REFERENCE.backprop_relu_k(dY.copy(), X.copy()))


@pytest.mark.parametrize("lengths_type", ["int32", "int64", "uint8", "list"])
@pytest.mark.parametrize(
    "name", ["backprop_reduce_sum", "backprop_reduce_mean", "backprop_reduce_max"]
)
def test_reduction_gradients_size_their_output_from_the_lengths(name, lengths_type):
    rng = numpy.random.default_rng(5)
    raw = [3, 1, 4, 1, 5] if name == "backprop_reduce_max" else [3, 0, 4, 1, 0, 5]
    lengths = raw if lengths_type == "list" else numpy.asarray(raw, dtype=lengths_type)
    d_out = rng.standard_normal((len(raw), 6)).astype("float32")
    args = (d_out, lengths)
    if name == "backprop_reduce_max":
        which = numpy.array([rng.integers(0, length, 6) for length in raw], dtype="int32")
        args = (d_out, which, lengths)
    got = getattr(OPS, name)(*args)
    copies = (a.copy() if isinstance(a, numpy.ndarray) else a for a in args)
    want = getattr(REFERENCE, name)(*copies)
    assert got.shape == (sum(raw), 6)
    numpy.testing.assert_allclose(got, want, rtol=1e-6)


def test_reduction_gradients_accept_no_sequences_and_reject_bad_lengths():
    empty = numpy.zeros((0, 4), dtype="float32")
    assert OPS.backprop_reduce_sum(empty, numpy.zeros(0, "int32")).shape == (0, 4)
    no_lengths = numpy.zeros(0, "int32")
    assert OPS.backprop_reduce_max(empty, numpy.zeros((0, 4), "int32"), no_lengths).shape == (0, 4)
    d_out = numpy.ones((2, 4), dtype="float32")
    with pytest.raises(ValueError, match="non-negative"):
        OPS.backprop_reduce_mean(d_out, numpy.array([2, -1], "int32"))
    with pytest.raises(ValueError, match="lengths must be integers"):
        OPS.backprop_reduce_sum(d_out, numpy.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="2 lengths for 3 gradient rows"):
        OPS.backprop_reduce_sum(numpy.ones((3, 4), "float32"), [1, 2])
    with pytest.raises(IndexError, match="outside its sequence"):
        OPS.backprop_reduce_max(d_out, numpy.full((2, 4), 2, "int32"), [2, 2])
    with pytest.raises(IndexError, match="must sum up to the number of rows"):
        OPS.reduce_sum(numpy.ones((3, 4), "float32"), [2, 2])
    with pytest.raises(ValueError, match="must be > 0"):
        OPS.reduce_max(numpy.ones((3, 4), "float32"), [3, 0])
