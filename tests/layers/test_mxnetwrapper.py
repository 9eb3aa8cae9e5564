"""MXNetWrapper: outputs and gradients match mxnet.autograd on the same weights,
training steps go through thinc optimizers, serialization round-trips safely.
Runs where MXNet is installed (.venv-mxnet from scripts/make_framework_venvs.sh)."""

import warnings

import numpy
import pytest

mx = pytest.importorskip(
    "mxnet",
    reason="needs MXNet: run scripts/make_framework_venvs.sh all, then these tests with .venv-mxnet/bin/python",
)

from thinc import compat  # noqa: E402
from thinc.config import registry  # noqa: E402
from thinc.layers.chain import chain  # noqa: E402
from thinc.layers.linear import Linear  # noqa: E402
from thinc.layers.mxnetwrapper import MXNetWrapper  # noqa: E402
from thinc.model import Model  # noqa: E402
from thinc.optimizers import SGD, Adam  # noqa: E402
from thinc.types import ArgsKwargs  # noqa: E402

from ..util import check_gradients  # noqa: E402

gluon = mx.gluon


@pytest.fixture(autouse=True, scope="module")
def mxnet_enabled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        compat.enable_mxnet()
    yield


def make_mlp(nI=4, nH=5, nO=3, seed=0):
    mx.random.seed(seed)
    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(nH, activation="tanh", in_units=nI), gluon.nn.Dense(nO, in_units=nH))
    net.initialize(mx.init.Uniform(0.5))
    return net


def same_weights_copy(net, nI=4, nH=5, nO=3):
    twin = make_mlp(nI, nH, nO, seed=99)
    for (_, ours), (_, theirs) in zip(
        net._collect_params_with_prefix().items(), twin._collect_params_with_prefix().items()
    ):
        theirs.set_data(ours.data().copy())
    return twin


def inputs(n=6, nI=4, seed=1):
    return numpy.random.default_rng(seed).uniform(-1, 1, (n, nI)).astype("f")


def test_forward_and_gradients_match_mxnet_autograd():
    net = make_mlp()
    reference = same_weights_copy(net)
    model = MXNetWrapper(net)
    X = inputs()
    dY = numpy.random.default_rng(2).uniform(-1, 1, (6, 3)).astype("f")
    Y, backprop = model.begin_update(X)
    dX = backprop(dY)
    X_ref = mx.nd.array(X)
    X_ref.attach_grad()
    with mx.autograd.record():
        Y_ref = reference(X_ref)
    Y_ref.backward(mx.nd.array(dY))
    numpy.testing.assert_allclose(Y, Y_ref.asnumpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(dX, X_ref.grad.asnumpy(), rtol=1e-5, atol=1e-6)
    ours = net._collect_params_with_prefix()
    for name, theirs in reference._collect_params_with_prefix().items():
        numpy.testing.assert_allclose(
            ours[name].grad().asnumpy(), theirs.grad().asnumpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )


def test_input_gradient_matches_finite_differences():
    model = MXNetWrapper(make_mlp())
    check_gradients(model, inputs().astype("f"), eps=1e-2, rtol=2e-2, atol=2e-3)


def test_input_arrays_are_left_writeable():
    X = inputs()
    model = MXNetWrapper(make_mlp())
    model.predict(X)
    model.begin_update(X)
    assert X.flags.writeable


def test_predict_matches_begin_update_and_returns_numpy():
    model = MXNetWrapper(make_mlp())
    X = inputs()
    predicted = model.predict(X)
    assert isinstance(predicted, numpy.ndarray)
    numpy.testing.assert_allclose(predicted, model.begin_update(X)[0], rtol=1e-6)


def test_predict_output_has_no_backprop():
    model = MXNetWrapper(make_mlp())
    Y, backprop = model(inputs(), is_train=False)
    with pytest.raises(ValueError, match="inference"):
        backprop(numpy.ones_like(Y))


def test_finish_update_applies_thinc_sgd_step():
    net = make_mlp()
    model = MXNetWrapper(net)
    X = inputs()
    Y, backprop = model.begin_update(X)
    backprop(numpy.ones_like(Y))
    params = net._collect_params_with_prefix()
    before = {n: p.data().asnumpy() for n, p in params.items()}
    grads = {n: p.grad().asnumpy() for n, p in params.items()}
    model.finish_update(SGD(0.1, grad_clip=0.0))
    for name, param in params.items():
        numpy.testing.assert_allclose(
            param.data().asnumpy(),
            before[name] - 0.1 * grads[name],
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
        assert not param.grad().asnumpy().any(), "gradients are reset after the step"


def test_trains_inside_a_thinc_chain():
    X = inputs(n=64)
    target = numpy.sin(X[:, :2] * 2).astype("f")
    model = chain(MXNetWrapper(make_mlp(nO=8)), Linear(2))
    model.initialize(X=X, Y=target)
    optimizer = Adam(0.01)
    losses = []
    for _ in range(150):
        Y, backprop = model.begin_update(X)
        losses.append(float(((Y - target) ** 2).mean()))
        backprop((Y - target) / len(X))
        model.finish_update(optimizer)
    assert losses[-1] < losses[0] * 0.2


class Pair(gluon.nn.Block):
    def forward(self, a, b):
        return a * 2 + b


def test_tuple_inputs_map_to_positional_args():
    # Gluon blocks take positional arguments only, so there is no dict case.
    model = MXNetWrapper(Pair())
    a, b = inputs(n=2), inputs(n=2, seed=5)
    numpy.testing.assert_allclose(model.predict((a, b)), a * 2 + b, rtol=1e-6)
    Y, backprop = model.begin_update((a, b))
    grad_a, grad_b = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(grad_a, 2 * numpy.ones_like(a))
    numpy.testing.assert_allclose(grad_b, numpy.ones_like(b))
    Y2, backprop2 = model.begin_update(ArgsKwargs(args=(a, b), kwargs={}))
    grads = backprop2(numpy.ones_like(Y2))
    assert isinstance(grads, ArgsKwargs)
    numpy.testing.assert_allclose(grads.args[0], 2 * numpy.ones_like(a))


def test_gradient_of_the_wrong_shape_is_a_value_error():
    model = MXNetWrapper(make_mlp())
    Y, backprop = model.begin_update(inputs())
    with pytest.raises(ValueError, match="shape"):
        backprop(numpy.ones((Y.shape[0], Y.shape[1] + 1), dtype="f"))


def test_bytes_round_trip():
    X = inputs()
    model = MXNetWrapper(make_mlp(seed=0))
    other = MXNetWrapper(make_mlp(seed=1))
    assert not numpy.allclose(model.predict(X), other.predict(X))
    other.from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_disk_round_trip(tmp_path):
    X = inputs()
    model = MXNetWrapper(make_mlp(seed=0))
    model.to_disk(tmp_path / "model")
    other = MXNetWrapper(make_mlp(seed=1)).from_disk(tmp_path / "model")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_loading_into_another_architecture_is_a_value_error():
    model = MXNetWrapper(make_mlp(nH=5))
    other = MXNetWrapper(make_mlp(nH=7))
    with pytest.raises(ValueError):
        other.from_bytes(model.to_bytes())


def test_copy_is_independent():
    X = inputs()
    model = MXNetWrapper(make_mlp())
    copied = model.copy()
    numpy.testing.assert_allclose(copied.predict(X), model.predict(X), rtol=1e-6)
    Y, backprop = copied.begin_update(X)
    backprop(numpy.ones_like(Y))
    copied.finish_update(SGD(1.0))
    assert not numpy.allclose(copied.predict(X), model.predict(X))


def test_use_params_swaps_in_averages():
    net = make_mlp()
    model = MXNetWrapper(net)
    X = inputs()
    shim = model.shims[0]
    zeros = {
        (shim.id, name): numpy.zeros(p.shape, dtype="f")
        for name, p in net._collect_params_with_prefix().items()
    }
    original = model.predict(X)
    with model.use_params(zeros):
        assert not model.predict(X).any()
    numpy.testing.assert_allclose(model.predict(X), original)


def test_registered_and_model_class_and_name():
    assert registry.layers.get("MXNetWrapper.v1") is MXNetWrapper

    class Custom(Model):
        pass

    model = MXNetWrapper(make_mlp(), model_class=Custom, model_name="custom")
    assert isinstance(model, Custom) and model.name == "custom"


def test_needs_enable_mxnet(monkeypatch):
    monkeypatch.setattr(compat, "has_mxnet", False)
    with pytest.raises(ImportError, match="enable_mxnet"):
        MXNetWrapper(make_mlp())


def test_use_params_leaves_the_averages_writeable():
    net = make_mlp()
    model = MXNetWrapper(net)
    shim = model.shims[0]
    averages = {
        (shim.id, name): p.data().asnumpy() for name, p in net._collect_params_with_prefix().items()
    }
    with model.use_params(averages):
        model.predict(inputs())
    assert all(array.flags.writeable for array in averages.values())
