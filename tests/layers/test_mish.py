"""Tests for Mish ("Mish.v1"): x * tanh(log(1 + exp(x))), gradients, dims, bytes,
config, composition with LayerNorm/Dropout, and thinc 8.3.14 parity."""
import math

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.mish import Mish

from ..util import check_gradients
from ._oracle import run_reference


def activation(x: numpy.ndarray) -> numpy.ndarray:
    """x * tanh(log(1 + exp(x))), computed in float64."""
    x = x.astype("f8")
    return x * numpy.tanh(numpy.log1p(numpy.exp(x)))


def with_params(model, seed: int = 1):
    model.initialize()
    rng = numpy.random.default_rng(seed)
    nO, nI = model.get_dim("nO"), model.get_dim("nI")
    model.set_param("W", rng.uniform(-1, 1, (nO, nI)).astype("f"))
    model.set_param("b", rng.uniform(-1, 1, (nO,)).astype("f"))
    return model


def make_input(rows: int = 5, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-3, 3, (rows, width)).astype("f")


def test_declares_thinc_names():
    model = Mish()
    assert model.name == "mish"
    assert list(model.dim_names) == ["nO", "nI"]
    assert list(model.param_names) == ["W", "b"]


def test_activation_on_hand_checked_values():
    # With W = identity and b = 0 the layer is the bare activation.
    model = Mish(nO=3, nI=3)
    model.initialize()
    model.set_param("W", numpy.eye(3, dtype="f"))
    model.set_param("b", numpy.zeros(3, dtype="f"))
    X = numpy.array([[-2.0, 0.0, 1.0], [3.0, -0.5, 0.5]], dtype="f")
    expected = numpy.array([[-0.2525015, 0.0000000, 0.8650984], [2.9865350, -0.2207438, 0.3752452]])
    numpy.testing.assert_allclose(model.predict(X), expected, atol=1e-5)


def test_forward_is_activation_of_affine():
    model = with_params(Mish(nO=3, nI=4))
    X = make_input()
    W, b = model.get_param("W"), model.get_param("b")
    expected = activation(X.astype("f8") @ W.T + b)
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)


def test_gradients_match_finite_differences():
    model = with_params(Mish(nO=3, nI=4))
    check_gradients(model, make_input())


def test_dims_inferred_at_initialize():
    model = Mish()
    model.initialize(X=make_input(width=6), Y=numpy.zeros((5, 2), dtype="f"))
    assert model.get_dim("nI") == 6 and model.get_dim("nO") == 2
    assert model.get_param("W").shape == (2, 6)
    assert model.get_param("b").shape == (2,)
    assert not model.get_param("b").any()


def test_default_weight_scale():
    model = Mish(nO=200, nI=300)
    model.initialize()
    W = model.get_param("W")
    # glorot_uniform_init: uniform within sqrt(6 / (nO + nI)).
    limit = math.sqrt(6 / 500)
    assert abs(W).max() <= limit + 1e-6
    assert abs(W).max() > 0.9 * limit


def test_custom_initializers_are_used():
    def ones(ops, shape):
        return ops.alloc(shape) + 1

    model = Mish(nO=2, nI=3, init_W=ones, init_b=ones)
    model.initialize()
    assert (model.get_param("W") == 1).all() and (model.get_param("b") == 1).all()


def test_bytes_round_trip():
    model = with_params(Mish(nO=3, nI=4))
    copy = Mish(nO=3, nI=4).from_bytes(model.to_bytes())
    X = make_input()
    numpy.testing.assert_array_equal(copy.predict(X), model.predict(X))


def test_resolves_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "Mish.v1"
        nO = 3
        nI = 4
        normalize = true
        dropout = 0.1
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "mish>>layernorm>>dropout"
    assert registry.layers.get("Mish.v1") is Mish


def test_dropout_and_normalize_compose_with_chain():
    assert Mish(nO=3, dropout=0.2).name == "mish>>dropout"
    normalized = Mish(nO=3, normalize=True)
    assert normalized.name == "mish>>layernorm"
    assert normalized.layers[1].get_dim("nI") == 3
    both = Mish(nO=3, dropout=0.2, normalize=True)
    assert [layer.name for layer in both.layers] == ["mish>>layernorm", "dropout"]
    assert both.layers[1].attrs["dropout_rate"] == 0.2
    both.initialize(X=make_input())
    assert both.predict(make_input()).shape == (5, 3)


def test_wrong_input_width_is_an_error():
    model = with_params(Mish(nO=3, nI=4))
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=5))
    with pytest.raises(ValueError):
        model.predict(numpy.zeros((4,), dtype="f"))


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import Mish
model = Mish(nO=3, nI=4)
model.initialize()
rng = numpy.random.default_rng(7)
model.set_param("b", rng.uniform(-1, 1, 3).astype("f"))
X = rng.uniform(-3, 3, (6, 4)).astype("f")
Y, backprop = model.begin_update(X)
dY = rng.uniform(-1, 1, Y.shape).astype("f")
dX = backprop(dY)
result = dict(bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=dX, dW=model.get_grad("W"))
"""
    )
    model = Mish(nO=3, nI=4)
    model.initialize()
    model.from_bytes(reference["bytes"])
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-6)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), reference["dW"], rtol=1e-5, atol=1e-6)
