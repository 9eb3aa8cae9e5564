"""MXNetShim on its own: ArgsKwargs in, autograd backprop, optimizer keys,
serialization in thinc 8.3's format (msgpack of config + MXNet params file).
Runs where MXNet is installed (.venv-mxnet from scripts/make_framework_venvs.sh)."""

import warnings

import numpy
import pytest
import srsly

mx = pytest.importorskip(
    "mxnet",
    reason="needs MXNet: run scripts/make_framework_venvs.sh all, then these tests with .venv-mxnet/bin/python",
)

from thinc import compat  # noqa: E402
from thinc.shims import MXNetShim  # noqa: E402
from thinc.types import ArgsKwargs  # noqa: E402

gluon = mx.gluon


@pytest.fixture(autouse=True, scope="module")
def mxnet_enabled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        compat.enable_mxnet()
    yield


def make_dense(seed=0, nO=3, nI=4):
    mx.random.seed(seed)
    net = gluon.nn.Dense(nO, in_units=nI)
    net.initialize(mx.init.Uniform(0.5))
    return net


def batch(seed=1):
    return mx.nd.array(numpy.random.default_rng(seed).uniform(-1, 1, (5, 4)).astype("f"))


class RecordingOptimizer:
    """Records the keys it is called with and returns weights - 0.5 * grad."""

    def __init__(self):
        self.calls = []

    def __call__(self, key, weights, gradient):
        self.calls.append((key, weights.copy(), gradient.copy()))
        return weights - 0.5 * gradient, gradient


def test_predict_and_begin_update_match_the_dense_formula():
    net = make_dense()
    shim = MXNetShim(net)
    X = batch()
    W, b = net.weight.data().asnumpy(), net.bias.data().asnumpy()
    expected = X.asnumpy() @ W.T + b
    numpy.testing.assert_allclose(
        shim.predict(ArgsKwargs(args=(X,), kwargs={})).asnumpy(), expected, rtol=1e-5
    )
    X.attach_grad()
    Y, backprop = shim.begin_update(ArgsKwargs(args=(X,), kwargs={}))
    numpy.testing.assert_allclose(Y.asnumpy(), expected, rtol=1e-5)
    dY = mx.nd.ones(Y.shape)
    dX = backprop(ArgsKwargs(args=([Y],), kwargs={"head_grads": [dY]}))
    assert isinstance(dX, ArgsKwargs)
    numpy.testing.assert_allclose(dX.args[0].asnumpy(), numpy.ones((5, 3)) @ W, rtol=1e-5)
    numpy.testing.assert_allclose(
        net.weight.grad().asnumpy(), numpy.ones((5, 3)).T @ X.asnumpy(), rtol=1e-5
    )


def test_finish_update_keys_by_shim_id_and_structural_name():
    net = make_dense()
    shim = MXNetShim(net)
    X = batch()
    Y, backprop = shim.begin_update(ArgsKwargs(args=(X,), kwargs={}))
    backprop(ArgsKwargs(args=([Y],), kwargs={"head_grads": [mx.nd.ones(Y.shape)]}))
    weight_before = net.weight.data().asnumpy()
    weight_grad = net.weight.grad().asnumpy()
    optimizer = RecordingOptimizer()
    shim.finish_update(optimizer)
    assert sorted(key for key, _, _ in optimizer.calls) == [(shim.id, "bias"), (shim.id, "weight")]
    numpy.testing.assert_allclose(
        net.weight.data().asnumpy(), weight_before - 0.5 * weight_grad, rtol=1e-6
    )
    assert not net.weight.grad().asnumpy().any()


def test_to_bytes_is_msgpack_of_config_and_mxnet_params_file(tmp_path):
    net = make_dense()
    shim = MXNetShim(net, config={"width": 3})
    msg = srsly.msgpack_loads(shim.to_bytes())
    assert list(msg) == ["config", "state"]
    assert msg["config"] == {"width": 3}
    # The state is exactly what gluon's save_parameters writes.
    path = tmp_path / "dense.params"
    path.write_bytes(msg["state"])
    other = make_dense(seed=5)
    other.load_parameters(str(path))
    numpy.testing.assert_allclose(other.weight.data().asnumpy(), net.weight.data().asnumpy())


def test_from_bytes_restores_weights_and_config():
    source = MXNetShim(make_dense(seed=0), config={"a": 1})
    target = MXNetShim(make_dense(seed=1))
    target.from_bytes(source.to_bytes())
    assert target.cfg == {"a": 1}
    X = ArgsKwargs(args=(batch(),), kwargs={})
    numpy.testing.assert_allclose(target.predict(X).asnumpy(), source.predict(X).asnumpy())


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        srsly.msgpack_dumps([1, 2]),
        srsly.msgpack_dumps({"config": {}, "state": "x"}),
        srsly.msgpack_dumps({"config": {}, "state": b"not a params file"}),
    ],
)
def test_corrupt_bytes_raise_value_error(data):
    shim = MXNetShim(make_dense())
    with pytest.raises(ValueError):
        shim.from_bytes(data)


def test_to_device_checks_the_device_type():
    shim = MXNetShim(make_dense())
    shim.to_device("cpu", 0)
    assert shim._model.weight.list_ctx() == [mx.cpu()]
    with pytest.raises(ValueError, match="device_type"):
        shim.to_device("tpu", 0)


def test_copy_has_equal_but_separate_weights():
    shim = MXNetShim(make_dense())
    copied = shim.copy()
    X = ArgsKwargs(args=(batch(),), kwargs={})
    numpy.testing.assert_allclose(copied.predict(X).asnumpy(), shim.predict(X).asnumpy())
    copied._model.weight.set_data(mx.nd.zeros((3, 4)))
    assert shim._model.weight.data().asnumpy().any()
