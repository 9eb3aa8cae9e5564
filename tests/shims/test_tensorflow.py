"""TensorFlowShim, maybe_handshake_model and keras_model_fns on their own:
ArgsKwargs in, tape gradients out, optimizer keys, and safe weight loading.
Runs where TensorFlow is installed (.venv-tf from scripts/make_framework_venvs.sh)."""

import warnings

import numpy
import pytest
import srsly

tf = pytest.importorskip(
    "tensorflow",
    reason="needs TensorFlow: run scripts/make_framework_venvs.sh all, then these tests with .venv-tf/bin/python",
)

from thinc import compat  # noqa: E402
from thinc.shims import TensorFlowShim, keras_model_fns, maybe_handshake_model  # noqa: E402
from thinc.types import ArgsKwargs  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def tensorflow_enabled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        compat.enable_tensorflow()
    yield


def make_dense(seed=0, nO=3, nI=4):
    tf.random.set_seed(seed)
    return tf.keras.Sequential([tf.keras.layers.Input((nI,)), tf.keras.layers.Dense(nO)])


def batch(seed=1):
    return tf.constant(numpy.random.default_rng(seed).uniform(-1, 1, (5, 4)).astype("f"))


class RecordingOptimizer:
    """Records the keys it is called with and returns weights - 0.5 * grad."""

    def __init__(self):
        self.calls = []

    def __call__(self, key, weights, gradient):
        self.calls.append((key, weights.copy(), gradient.copy()))
        return weights - 0.5 * gradient, gradient


def test_predict_and_begin_update_match_the_dense_formula():
    net = make_dense()
    shim = TensorFlowShim(net)
    X = batch()
    W, b = net.get_weights()
    expected = X.numpy() @ W + b
    numpy.testing.assert_allclose(
        shim.predict(ArgsKwargs(args=(X,), kwargs={})).numpy(), expected, rtol=1e-5, atol=1e-6
    )
    Y, backprop = shim.begin_update(ArgsKwargs(args=(X,), kwargs={}))
    numpy.testing.assert_allclose(Y.numpy(), expected, rtol=1e-5, atol=1e-6)
    dX = backprop(tf.ones(Y.shape))
    assert isinstance(dX, ArgsKwargs)
    numpy.testing.assert_allclose(
        dX.args[0].numpy(), numpy.ones((5, 3)) @ W.T, rtol=1e-5, atol=1e-6
    )
    kernel_grad, bias_grad = shim.gradients
    numpy.testing.assert_allclose(
        kernel_grad.numpy(), X.numpy().T @ numpy.ones((5, 3)), rtol=1e-5, atol=1e-6
    )
    numpy.testing.assert_allclose(bias_grad.numpy(), numpy.full(3, 5.0), rtol=1e-6)


def test_integer_inputs_get_no_gradient():
    embed = tf.keras.Sequential(
        [tf.keras.layers.Input((2,), dtype="int32"), tf.keras.layers.Embedding(10, 3)]
    )
    shim = TensorFlowShim(embed)
    ids = tf.constant([[1, 2], [2, 2]], dtype="int32")
    Y, backprop = shim.begin_update(ArgsKwargs(args=(ids,), kwargs={}))
    dX = backprop(tf.ones(Y.shape))
    assert dX.args == (None,)
    # The embedding's sparse gradient is stored dense: row 2 was used three times.
    (table_grad,) = shim.gradients
    numpy.testing.assert_allclose(table_grad.numpy()[[0, 1, 2]], [[0] * 3, [1] * 3, [3] * 3])


def test_finish_update_keys_by_shim_id_and_variable_path():
    net = make_dense()
    shim = TensorFlowShim(net)
    Y, backprop = shim.begin_update(ArgsKwargs(args=(batch(),), kwargs={}))
    backprop(tf.ones(Y.shape))
    kernel_before = net.get_weights()[0]
    kernel_grad = shim.gradients[0].numpy()
    optimizer = RecordingOptimizer()
    shim.finish_update(optimizer)
    keys = [key for key, _, _ in optimizer.calls]
    assert all(shim_id == shim.id for shim_id, _ in keys)
    assert [name.rsplit("/", 1)[-1] for _, name in keys] == ["kernel", "bias"]
    assert len({name for _, name in keys}) == 2
    numpy.testing.assert_allclose(
        net.get_weights()[0], kernel_before - 0.5 * kernel_grad, rtol=1e-6
    )
    assert shim.gradients is None
    shim.finish_update(optimizer)
    assert len(optimizer.calls) == 2, "nothing to step without new gradients"


def test_to_bytes_is_a_keras_hdf5_file(tmp_path):
    net = make_dense()
    data = TensorFlowShim(net).to_bytes()
    assert data[:8] == b"\x89HDF\r\n\x1a\n"
    path = tmp_path / "model.h5"
    path.write_bytes(data)
    other = make_dense(seed=4)
    other.load_weights(str(path))
    for ours, theirs in zip(net.get_weights(), other.get_weights()):
        numpy.testing.assert_array_equal(ours, theirs)


def test_from_bytes_loads_weights_into_the_existing_model():
    source = TensorFlowShim(make_dense(seed=0))
    target_model = make_dense(seed=1)
    target = TensorFlowShim(target_model)
    target.from_bytes(source.to_bytes())
    assert target._model is target_model
    for ours, theirs in zip(source._model.get_weights(), target_model.get_weights()):
        numpy.testing.assert_array_equal(ours, theirs)


def test_from_bytes_accepts_factory_name_and_weights():
    shim = TensorFlowShim(make_dense())
    weights = [numpy.full(w.shape, 0.25, dtype="f") for w in shim._model.get_weights()]
    shim.from_bytes(["any-factory", weights])
    for loaded, expected in zip(shim._model.get_weights(), weights):
        numpy.testing.assert_array_equal(loaded, expected)


@pytest.mark.parametrize(
    "data",
    [
        b"not hdf5 at all",
        42,
        ("name",),
        ("name", [b"bytes"]),
        ("name", [numpy.zeros((2, 2), dtype="f")]),
    ],
)
def test_bad_data_raises_value_error(data):
    shim = TensorFlowShim(make_dense())
    with pytest.raises(ValueError):
        shim.from_bytes(data)


def test_truncated_hdf5_raises_value_error():
    shim = TensorFlowShim(make_dense())
    data = shim.to_bytes()
    with pytest.raises(ValueError):
        shim.from_bytes(data[: len(data) // 2])


def test_to_bytes_falls_back_to_factory_name_and_weights(monkeypatch):
    @keras_model_fns("thinc-test-shim-factory")
    def factory():
        return make_dense(seed=7)

    net = make_dense()

    def refuse(*args, **kwargs):
        raise NotImplementedError("no HDF5 for this model")

    monkeypatch.setattr(net, "save", refuse)
    shim = TensorFlowShim(net)
    with pytest.raises(ValueError, match="keras_subclass"):
        shim.to_bytes()
    object.__setattr__(net, "catalogue_name", "thinc-test-shim-factory")
    name, weights = shim.to_bytes()
    assert name == "thinc-test-shim-factory"
    for array, expected in zip(weights, net.get_weights()):
        numpy.testing.assert_array_equal(array, expected)
    # Inside a thinc Model the pair travels through msgpack and comes back as a list.
    restored = srsly.msgpack_loads(srsly.msgpack_dumps({"shim": shim.to_bytes()}))["shim"]
    other = TensorFlowShim(make_dense(seed=9))
    other.from_bytes(restored)
    for array, expected in zip(other._model.get_weights(), net.get_weights()):
        numpy.testing.assert_array_equal(array, expected)


def test_maybe_handshake_model():
    built = make_dense()
    assert maybe_handshake_model(built) is built

    class Unbuilt(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="no weights yet"):
        maybe_handshake_model(Unbuilt())
    model = Unbuilt()
    for name, value in [
        ("eg_x", numpy.zeros((1, 3), dtype="f")),
        ("eg_shape", (None, 3)),
        ("eg_compile", {"optimizer": "sgd", "loss": "mse"}),
    ]:
        object.__setattr__(model, name, value)
    assert maybe_handshake_model(model) is model
    assert model.built and model.dense.kernel.shape == (3, 2)


def test_keras_model_fns_namespace():
    assert keras_model_fns.namespace == ("thinc", "keras")


def test_to_device_and_str():
    net = make_dense()
    shim = TensorFlowShim(net)
    X = ArgsKwargs(args=(batch(),), kwargs={})
    before = shim.predict(X).numpy()
    shim.to_device("cpu", 0)
    numpy.testing.assert_allclose(shim.predict(X).numpy(), before)
    if not tf.config.list_logical_devices("GPU"):
        assert shim._model is net, "nothing to move without a GPU"
    with pytest.raises(ValueError, match="device_type"):
        shim.to_device("tpu", 0)
    if not tf.config.list_logical_devices("GPU"):
        with pytest.raises(ValueError, match="GPU"):
            shim.to_device("gpu", 0)
    assert "dense" in str(shim).lower()
