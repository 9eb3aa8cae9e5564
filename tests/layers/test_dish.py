"""Tests for Dish ("Dish.v1"): x * (1 + x / sqrt(1 + x**2)) / 2, gradients, dims, bytes,
config, composition with LayerNorm/Dropout, and thinc 8.3.14 parity."""
import math

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.dish import Dish

from ..util import check_gradients
from ._oracle import run_reference


def activation(x: numpy.ndarray) -> numpy.ndarray:
    """x * (1 + x / sqrt(1 + x**2)) / 2, computed in float64."""
    x = x.astype("f8")
    return 0.5 * x * (1 + x / numpy.sqrt(1 + x * x))


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
    model = Dish()
    assert model.name == "dish"
    assert list(model.dim_names) == ["nO", "nI"]
    assert list(model.param_names) == ["W", "b"]


def test_activation_on_hand_checked_values():
    # With W = identity and b = 0 the layer is the bare activation.
    model = Dish(nO=3, nI=3)
    model.initialize()
    model.set_param("W", numpy.eye(3, dtype="f"))
    model.set_param("b", numpy.zeros(3, dtype="f"))
    X = numpy.array([[-2.0, 0.0, 1.0], [3.0, -0.5, 0.5]], dtype="f")
    expected = numpy.array([[-0.1055728, 0.0000000, 0.8535534], [2.9230249, -0.1381966, 0.3618034]])
    numpy.testing.assert_allclose(model.predict(X), expected, atol=1e-5)


def test_forward_is_activation_of_affine():
    model = with_params(Dish(nO=3, nI=4))
    X = make_input()
    W, b = model.get_param("W"), model.get_param("b")
    expected = activation(X.astype("f8") @ W.T + b)
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)


def test_gradients_match_finite_differences():
    model = with_params(Dish(nO=3, nI=4))
    check_gradients(model, make_input())


def test_dims_inferred_at_initialize():
    model = Dish()
    model.initialize(X=make_input(width=6), Y=numpy.zeros((5, 2), dtype="f"))
    assert model.get_dim("nI") == 6 and model.get_dim("nO") == 2
    assert model.get_param("W").shape == (2, 6)
    assert model.get_param("b").shape == (2,)
    assert not model.get_param("b").any()


def test_default_weight_scale():
    model = Dish(nO=200, nI=300)
    model.initialize()
    W = model.get_param("W")
    # he_normal_init: normal with std sqrt(2 / nI).
    assert abs(W.std() - math.sqrt(2 / 300)) < 0.01
    assert abs(W).max() > math.sqrt(6 / 500)


def test_custom_initializers_are_used():
    def ones(ops, shape):
        return ops.alloc(shape) + 1

    model = Dish(nO=2, nI=3, init_W=ones, init_b=ones)
    model.initialize()
    assert (model.get_param("W") == 1).all() and (model.get_param("b") == 1).all()


def test_bytes_round_trip():
    model = with_params(Dish(nO=3, nI=4))
    copy = Dish(nO=3, nI=4).from_bytes(model.to_bytes())
    X = make_input()
    numpy.testing.assert_array_equal(copy.predict(X), model.predict(X))


def test_resolves_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "Dish.v1"
        nO = 3
        nI = 4
        normalize = true
        dropout = 0.1
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "dish>>layernorm>>dropout"
    assert registry.layers.get("Dish.v1") is Dish


def test_dropout_and_normalize_compose_with_chain():
    assert Dish(nO=3, dropout=0.2).name == "dish>>dropout"
    normalized = Dish(nO=3, normalize=True)
    assert normalized.name == "dish>>layernorm"
    assert normalized.layers[1].get_dim("nI") == 3
    both = Dish(nO=3, dropout=0.2, normalize=True)
    assert [layer.name for layer in both.layers] == ["dish>>layernorm", "dropout"]
    assert both.layers[1].attrs["dropout_rate"] == 0.2
    both.initialize(X=make_input())
    assert both.predict(make_input()).shape == (5, 3)


def test_wrong_input_width_is_an_error():
    model = with_params(Dish(nO=3, nI=4))
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=5))
    with pytest.raises(ValueError):
        model.predict(numpy.zeros((4,), dtype="f"))


def test_matches_thinc_8_3_on_its_weights():
    # Only the forward pass is compared: thinc 8.3.14's Dish backprop differentiates
    # at the layer input instead of the pre-activation (and fails when nI != nO);
    # test_gradients_match_finite_differences checks ours.
    reference = run_reference(
        """
import numpy
from thinc.api import Dish
model = Dish(nO=3, nI=4)
model.initialize()
rng = numpy.random.default_rng(7)
model.set_param("b", rng.uniform(-1, 1, 3).astype("f"))
X = rng.uniform(-3, 3, (6, 4)).astype("f")
result = dict(bytes=model.to_bytes(), X=X, Y=model.predict(X))
"""
    )
    model = Dish(nO=3, nI=4)
    model.initialize()
    model.from_bytes(reference["bytes"])
    assert model.to_bytes() == reference["bytes"]
    numpy.testing.assert_allclose(model.predict(reference["X"]), reference["Y"], rtol=1e-6, atol=1e-6)
