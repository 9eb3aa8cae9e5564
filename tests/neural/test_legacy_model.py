"""thinc 7 style Model subclasses (the template of the seeds): standalone with a
thinc 7 optimizer, and inside thinc 8 combinators with thinc 8 optimizers."""

import contextlib

import numpy
import pytest
import srsly

import thinc.neural
from thinc.backends import NumpyOps
from thinc.layers.chain import chain
from thinc.layers.linear import Linear
from thinc.layers.noop import noop
from thinc.neural.optimizers import SGD as LegacySGD
from thinc.neural.optimizers import Adam as LegacyAdam
from thinc.optimizers import Adam


class LegacyAffine(thinc.neural.Model):
    """Written to the template: no base __init__ call, begin_update(X, drop)."""

    def __init__(self, nO, nI, seed=0):
        rng = numpy.random.default_rng(seed)
        self.nO, self.nI = nO, nI
        self.W = rng.uniform(-0.5, 0.5, (nO, nI)).astype("f")
        self.b = numpy.zeros((nO,), dtype="f")
        self.d_W = numpy.zeros_like(self.W)
        self.d_b = numpy.zeros_like(self.b)

    def begin_update(self, X, drop=0.0):
        Y = X @ self.W.T + self.b

        def backprop(dY, sgd=None):
            self.d_W += dY.T @ X
            self.d_b += dY.sum(axis=0)
            dX = dY @ self.W
            if sgd is not None:
                sgd(self.W, self.d_W, key=(self.id, "W"))
                sgd(self.b, self.d_b, key=(self.id, "b"))
            return dX

        return Y, backprop

    def to_bytes(self, **exclude):
        return srsly.msgpack_dumps({"W": self.W, "b": self.b})

    def from_bytes(self, msgpacked_bytes, **exclude):
        msg = srsly.msgpack_loads(msgpacked_bytes)
        self.W[...] = msg["W"]
        self.b[...] = msg["b"]
        return self

    def to_disk(self, path, **exclude):
        with open(path, "wb") as file_:
            file_.write(self.to_bytes())

    def from_disk(self, path, **exclude):
        with open(path, "rb") as file_:
            return self.from_bytes(file_.read())

    @contextlib.contextmanager
    def use_params(self, params):
        backup = self.W.copy()
        if (self.id, "W") in params:
            self.W[...] = params[(self.id, "W")]
        yield
        self.W[...] = backup


def _data(n=32, nI=4, nO=3, seed=1):
    rng = numpy.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, nI)).astype("f")
    target = X @ rng.uniform(-1, 1, (nI, nO)).astype("f")
    return X, target


def test_subclass_without_base_init_has_model_state():
    model = LegacyAffine(3, 4)
    assert model.id > 0
    assert isinstance(model.ops, NumpyOps)
    assert model.name == "legacyaffine"
    assert model(numpy.ones((2, 4), dtype="f")).shape == (2, 3)  # thinc 7: model(X) predicts


def test_standalone_training_with_thinc7_optimizer():
    X, target = _data()
    model = LegacyAffine(3, 4)
    sgd = LegacySGD(NumpyOps(), 0.1)
    losses = []
    for _ in range(50):
        Y, backprop = model.begin_update(X)
        losses.append(float(((Y - target) ** 2).mean()))
        backprop((Y - target) / len(X), sgd=sgd)
        assert not model.d_W.any(), "a thinc 7 optimizer consumes the gradient"
    assert losses[-1] < losses[0] * 0.2


def test_thinc7_sgd_step_matches_hand_computation():
    sgd = LegacySGD(0.5)
    weights = numpy.asarray([1.0, 2.0], dtype="f")
    gradient = numpy.asarray([0.2, -0.4], dtype="f")
    sgd(weights, gradient, key=(7, "W"))
    numpy.testing.assert_allclose(weights, [0.9, 2.2], rtol=1e-6)
    assert not gradient.any()


def test_trains_inside_chain_with_thinc8_optimizer():
    X, target = _data()
    legacy = LegacyAffine(6, 4)
    model = chain(legacy, Linear(3))
    model.initialize(X=X, Y=target)
    optimizer = Adam(0.05)
    W_before = legacy.W.copy()
    losses = []
    for _ in range(60):
        Y, backprop = model.begin_update(X)
        losses.append(float(((Y - target) ** 2).mean()))
        backprop((Y - target) / len(X))
        model.finish_update(optimizer)
    assert losses[-1] < losses[0] * 0.3
    assert not numpy.allclose(legacy.W, W_before), "the legacy weights were updated in place"


def test_legacy_gradient_inside_chain_matches_finite_differences():
    X, target = _data(n=5)
    legacy = LegacyAffine(3, 4)
    Y, backprop = chain(legacy, noop()).begin_update(X)
    dY = numpy.ones_like(Y)
    dX = backprop(dY)
    numpy.testing.assert_allclose(dX, dY @ legacy.W, rtol=1e-5)
    pending = legacy._legacy_shim._pending
    numpy.testing.assert_allclose(pending[(legacy.id, "W")][1], dY.T @ X, rtol=1e-5)


def test_serializes_inside_chain_through_its_own_to_bytes():
    X, _ = _data()
    model = chain(LegacyAffine(3, 4, seed=3), Linear(2))
    model.initialize(X=X)
    data = model.to_bytes()
    fresh = chain(LegacyAffine(3, 4, seed=9), Linear(2))
    fresh.initialize(X=X)
    assert not numpy.allclose(fresh.predict(X), model.predict(X))
    fresh.from_bytes(data)
    numpy.testing.assert_allclose(fresh.predict(X), model.predict(X), rtol=1e-6)


def test_standalone_bytes_and_disk_round_trip(tmp_path):
    X, _ = _data()
    model = LegacyAffine(3, 4, seed=3)
    other = LegacyAffine(3, 4, seed=5).from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))
    model.to_disk(tmp_path / "affine.bin")
    third = LegacyAffine(3, 4, seed=6).from_disk(tmp_path / "affine.bin")
    numpy.testing.assert_allclose(third.predict(X), model.predict(X))


def test_resize_output_grows_with_zeros_and_shrinks_from_the_end():
    model = LegacyAffine(3, 4)
    W = model.W.copy()
    model.resize_output(5)
    assert model.W.shape == (5, 4) and model.b.shape == (5,)
    numpy.testing.assert_array_equal(model.W[:3], W)
    assert not model.W[3:].any() and not model.b[3:].any()
    model.resize_output(2)
    numpy.testing.assert_array_equal(model.W, W[:2])
    assert model.nO == 2


def test_resize_input_grows_with_zeros_and_shrinks_from_the_end():
    model = LegacyAffine(3, 4)
    W = model.W.copy()
    model.resize_input(6)
    assert model.W.shape == (3, 6)
    numpy.testing.assert_array_equal(model.W[:, :4], W)
    assert not model.W[:, 4:].any()
    model.resize_input(2)
    numpy.testing.assert_array_equal(model.W, W[:, :2])
    X = numpy.ones((1, 2), dtype="f")
    assert model.predict(X).shape == (1, 3)


def test_use_params_restores_weights():
    model = LegacyAffine(3, 4)
    W = model.W.copy()
    with model.use_params({(model.id, "W"): numpy.zeros_like(W)}):
        assert not model.W.any()
    numpy.testing.assert_array_equal(model.W, W)


def test_missing_begin_update_is_a_clear_error():
    class Incomplete(thinc.neural.Model):
        pass

    with pytest.raises(NotImplementedError, match="begin_update"):
        Incomplete().begin_update(numpy.zeros((1, 1), dtype="f"))


def test_legacy_adam_accepts_ops_first_and_thinc8_call():
    opt = LegacyAdam(NumpyOps(), 0.01)
    weights = numpy.ones(3, dtype="f")
    gradient = numpy.ones(3, dtype="f")
    opt(weights, gradient, key=(1, "W"))
    assert (weights < 1).all()
    w2, _ = opt((1, "W2"), numpy.ones(3, dtype="f"), numpy.ones(3, dtype="f"))
    assert (w2 < 1).all()


def test_seed_pytorch_example_runs():
    torch = pytest.importorskip(
        "torch", reason="needs PyTorch: .venv/bin/pip install torch==2.13.0"
    )
    from torch import autograd, nn

    class PytorchWrapper(thinc.neural.Model):
        def __init__(self, pytorch_model):
            self.pytorch_model = pytorch_model

        def begin_update(self, x_data, drop=0.0):
            x_var = autograd.Variable(torch.Tensor(x_data), requires_grad=True)
            y_var = self.pytorch_model.forward(x_var)

            def backward(dy_data, sgd=None):
                dy_var = autograd.Variable(torch.Tensor(dy_data))
                torch.autograd.backward(y_var, dy_var)
                return x_var.grad.numpy()

            return y_var.data.numpy(), backward

    torch.manual_seed(0)
    pt_model = nn.Linear(2, 2)
    wrapper = PytorchWrapper(pt_model)
    optimizer = torch.optim.SGD(pt_model.parameters(), lr=0.05)
    rng = numpy.random.default_rng(0)
    losses = []
    for _ in range(100):
        input_data = rng.uniform(0.5, 1.0, (5, 2)).astype("f")
        target = -input_data
        optimizer.zero_grad()
        output, backward = wrapper.begin_update(input_data)
        losses.append(float(((output - target) ** 2).mean()))
        d_input = backward((output - target) / len(input_data))
        assert d_input.shape == input_data.shape
        optimizer.step()
    assert numpy.mean(losses[-10:]) < numpy.mean(losses[:10]) * 0.5
    # ... and the same wrapper composes with thinc 8 layers.
    model = chain(wrapper, Linear(3))
    model.initialize(X=numpy.ones((2, 2), dtype="f"))
    assert model.predict(numpy.ones((4, 2), dtype="f")).shape == (4, 3)
