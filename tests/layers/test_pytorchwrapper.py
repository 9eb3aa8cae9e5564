"""PyTorchWrapper and TorchScriptWrapper: outputs and gradients match torch's
own autograd, training steps go through thinc optimizers, serialization is safe."""

import copy
import io
import subprocess

import numpy
import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch: .venv/bin/pip install torch==2.13.0")

from thinc.layers.chain import chain  # noqa: E402
from thinc.layers.linear import Linear  # noqa: E402
from thinc.layers.pytorchwrapper import (  # noqa: E402
    PyTorchRNNWrapper,
    PyTorchWrapper,
    PyTorchWrapper_v2,
    PyTorchWrapper_v3,
)
from thinc.layers.torchscriptwrapper import (  # noqa: E402
    TorchScriptWrapper_v1,
    pytorch_to_torchscript_wrapper,
)
from thinc.optimizers import SGD, Adam  # noqa: E402
from thinc.types import ArgsKwargs, Padded  # noqa: E402

from ..util import require_ref_thinc  # noqa: E402


def make_mlp(nI=4, nH=5, nO=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(nI, nH), torch.nn.Tanh(), torch.nn.Linear(nH, nO))


def inputs(n=6, nI=4, seed=1):
    return numpy.random.default_rng(seed).uniform(-1, 1, (n, nI)).astype("f")


def test_forward_and_gradients_match_torch_autograd():
    module = make_mlp()
    reference = copy.deepcopy(module)
    model = PyTorchWrapper(module)
    X = inputs()
    dY = numpy.random.default_rng(2).uniform(-1, 1, (6, 3)).astype("f")
    Y, backprop = model.begin_update(X)
    dX = backprop(dY)
    X_ref = torch.tensor(X, requires_grad=True)
    Y_ref = reference(X_ref)
    Y_ref.backward(torch.tensor(dY))
    numpy.testing.assert_allclose(Y, Y_ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(dX, X_ref.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (name, ours), (_, theirs) in zip(module.named_parameters(), reference.named_parameters()):
        numpy.testing.assert_allclose(
            ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )


def test_predict_matches_begin_update_and_needs_no_grad():
    model = PyTorchWrapper(make_mlp())
    X = inputs()
    numpy.testing.assert_allclose(model.predict(X), model.begin_update(X)[0], rtol=1e-6)
    assert isinstance(model.predict(X), numpy.ndarray)


def test_finish_update_applies_thinc_sgd_step():
    module = make_mlp()
    model = PyTorchWrapper(module)
    X = inputs()
    Y, backprop = model.begin_update(X)
    backprop(numpy.ones_like(Y))
    before = {n: p.detach().clone().numpy() for n, p in module.named_parameters()}
    grads = {n: p.grad.clone().numpy() for n, p in module.named_parameters()}
    model.finish_update(SGD(0.1, grad_clip=0.0))
    for name, param in module.named_parameters():
        numpy.testing.assert_allclose(
            param.detach().numpy(),
            before[name] - 0.1 * grads[name],
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
        assert not param.grad.any(), "gradients are reset after the step"


def test_trains_inside_a_thinc_chain():
    X = inputs(n=64)
    target = numpy.sin(X[:, :2] * 2).astype("f")
    model = chain(PyTorchWrapper(make_mlp(nO=8)), Linear(2))
    model.initialize(X=X, Y=target)
    optimizer = Adam(0.01)
    losses = []
    for _ in range(150):
        Y, backprop = model.begin_update(X)
        losses.append(float(((Y - target) ** 2).mean()))
        backprop((Y - target) / len(X))
        model.finish_update(optimizer)
    assert losses[-1] < losses[0] * 0.2


def test_tuple_and_dict_inputs_map_to_args_and_kwargs():
    class Pair(torch.nn.Module):
        def forward(self, a, b=None):
            return a * 2 + b

    model = PyTorchWrapper(Pair())
    a, b = inputs(n=2), inputs(n=2, seed=5)
    numpy.testing.assert_allclose(model.predict((a, b)), a * 2 + b, rtol=1e-6)
    Y, backprop = model.begin_update({"a": a, "b": b})
    grads = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(grads["a"], 2 * numpy.ones_like(a))
    numpy.testing.assert_allclose(grads["b"], numpy.ones_like(b))
    Y2, backprop2 = model.begin_update(ArgsKwargs(args=(a,), kwargs={"b": b}))
    assert isinstance(backprop2(numpy.ones_like(Y2)), ArgsKwargs)


def test_bytes_round_trip():
    X = inputs()
    model = PyTorchWrapper(make_mlp(seed=0))
    other = PyTorchWrapper(make_mlp(seed=1))
    assert not numpy.allclose(model.predict(X), other.predict(X))
    other.from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_v3_custom_serialization_is_used():
    calls = []

    def serialize(module):
        calls.append("save")
        buffer = io.BytesIO()
        torch.save(module.state_dict(), buffer)
        return buffer.getvalue()

    def deserialize(module, data, device):
        calls.append("load")
        module.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
        return module

    model = PyTorchWrapper_v3(make_mlp(), serialize_model=serialize, deserialize_model=deserialize)
    model.from_bytes(model.to_bytes())
    assert calls == ["save", "load"]


class _Exploit:
    def __reduce__(self):
        return (open, ("/tmp/thinc-pickle-was-executed", "w"))


def test_loading_never_unpickles_arbitrary_objects(tmp_path):
    import os

    import srsly

    marker = "/tmp/thinc-pickle-was-executed"
    if os.path.exists(marker):
        os.remove(marker)
    buffer = io.BytesIO()
    torch.save({"weight": _Exploit()}, buffer)
    model = PyTorchWrapper(make_mlp())
    msg = srsly.msgpack_loads(model.to_bytes())
    msg["shims"][0][0] = srsly.msgpack_dumps({"config": {}, "state": buffer.getvalue()})
    with pytest.raises(ValueError, match="Cannot load PyTorch weights"):
        model.from_bytes(srsly.msgpack_dumps(msg))
    assert not os.path.exists(marker)


def test_corrupt_shim_bytes_raise_value_error():
    import srsly

    model = PyTorchWrapper(make_mlp())
    msg = srsly.msgpack_loads(model.to_bytes())
    msg["shims"][0][0] = b"\x93not a map"
    with pytest.raises(ValueError):
        model.from_bytes(srsly.msgpack_dumps(msg))


def test_use_params_swaps_in_averages():
    module = make_mlp()
    model = PyTorchWrapper(module)
    X = inputs()
    shim = model.shims[0]
    zeros = {
        (shim.id, name): numpy.zeros(p.shape, dtype="f") for name, p in module.named_parameters()
    }
    original = model.predict(X)
    with model.use_params(zeros):
        assert not model.predict(X).any()
    numpy.testing.assert_allclose(model.predict(X), original)


def test_rnn_wrapper_matches_torch_lstm():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    reference = copy.deepcopy(lstm)
    model = PyTorchRNNWrapper(lstm)
    rng = numpy.random.default_rng(0)
    data = rng.uniform(-1, 1, (5, 2, 3)).astype("f")  # (time, batch, width)
    Xp = Padded(
        data,
        numpy.asarray([2, 2, 2, 1, 1], dtype="i"),
        numpy.asarray([5, 3], dtype="i"),
        numpy.asarray([0, 1], dtype="i"),
    )
    Yp, backprop = model.begin_update(Xp)
    expected, _ = reference(torch.tensor(data))
    numpy.testing.assert_allclose(Yp.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    dXp = backprop(Padded(numpy.ones_like(Yp.data), Yp.size_at_t, Yp.lengths, Yp.indices))
    assert isinstance(dXp, Padded) and dXp.data.shape == data.shape


def test_torchscript_conversion_and_round_trip():
    X = inputs()
    model = PyTorchWrapper(make_mlp())
    scripted = pytorch_to_torchscript_wrapper(model)
    assert scripted.name == "pytorch_script"
    numpy.testing.assert_allclose(scripted.predict(X), model.predict(X), rtol=1e-6)
    empty = TorchScriptWrapper_v1()
    empty.from_bytes(scripted.to_bytes())
    numpy.testing.assert_allclose(empty.predict(X), model.predict(X), rtol=1e-6)


def test_torchscript_rejects_plain_module():
    with pytest.raises(ValueError, match="ScriptModule"):
        TorchScriptWrapper_v1(make_mlp())


def test_mixed_precision_on_cpu_raises_at_backprop():
    # thinc 8.3.14: the forward pass runs, scaling the CPU gradient is refused.
    model = PyTorchWrapper_v2(make_mlp(), mixed_precision=True)
    X = inputs()
    Y, backprop = model.begin_update(X)
    assert Y.shape == (6, 3)
    with pytest.raises(ValueError, match="CUDA"):
        backprop(numpy.ones_like(Y).astype(Y.dtype))


def test_grad_scaler_on_cpu_raises_at_backprop():
    from thinc.api import PyTorchGradScaler

    model = PyTorchWrapper_v2(make_mlp(), grad_scaler=PyTorchGradScaler(enabled=True))
    Y, backprop = model.begin_update(inputs())
    with pytest.raises(ValueError, match="CUDA"):
        backprop(numpy.ones_like(Y).astype(Y.dtype))


REF_SCRIPT = """
import sys, numpy, torch
from thinc.api import PyTorchWrapper
torch.manual_seed(3)
model = PyTorchWrapper(torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)))
X = numpy.load(sys.argv[1])
if sys.argv[3] == "save":
    open(sys.argv[2], "wb").write(model.to_bytes())
    numpy.save(sys.argv[2] + ".npy", model.predict(X))
else:
    model.from_bytes(open(sys.argv[2], "rb").read())
    numpy.save(sys.argv[2] + ".npy", model.predict(X))
"""


def _ref_has_torch(ref_python):
    return (
        subprocess.run([str(ref_python), "-c", "import torch"], capture_output=True).returncode == 0
    )


@pytest.mark.slow
def test_bytes_interchange_with_thinc_8_3_14(tmp_path):
    ref_python = require_ref_thinc()
    if not _ref_has_torch(ref_python):
        pytest.skip("torch is not installed in thinc 8.3.14's virtualenv")
    X = inputs()
    numpy.save(tmp_path / "X.npy", X)
    script = tmp_path / "ref.py"
    script.write_text(REF_SCRIPT)
    theirs = tmp_path / "theirs.bin"
    subprocess.run(
        [str(ref_python), str(script), str(tmp_path / "X.npy"), str(theirs), "save"],
        check=True,
        cwd=tmp_path,
    )
    ours = PyTorchWrapper(make_mlp(seed=11))
    ours.from_bytes(theirs.read_bytes())
    numpy.testing.assert_allclose(ours.predict(X), numpy.load(str(theirs) + ".npy"), rtol=1e-6)
    mine = tmp_path / "ours.bin"
    mine.write_bytes(PyTorchWrapper(make_mlp(seed=12)).to_bytes())
    subprocess.run(
        [str(ref_python), str(script), str(tmp_path / "X.npy"), str(mine), "load"],
        check=True,
        cwd=tmp_path,
    )
    expected = PyTorchWrapper(make_mlp(seed=12)).predict(X)
    numpy.testing.assert_allclose(numpy.load(str(mine) + ".npy"), expected, rtol=1e-6)
