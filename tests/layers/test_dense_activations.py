"""Tests for the dense layers with an elementwise activation (Dish, Gelu, HardSwish,
HardSwishMobilenet, Mish, Swish): values, gradients, dims, bytes, config, composition
with LayerNorm/Dropout, and thinc 8.3.14 parity, one parametrized row per layer."""

import math
from typing import Callable, NamedTuple

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.dish import Dish
from thinc.layers.gelu import Gelu
from thinc.layers.hard_swish import HardSwish
from thinc.layers.hard_swish_mobilenet import HardSwishMobilenet
from thinc.layers.mish import Mish
from thinc.layers.swish import Swish

from ..util import check_gradients
from ._oracle import run_reference
from ._params import with_random_params


def dish(x: numpy.ndarray) -> numpy.ndarray:
    """x * (1 + x / sqrt(1 + x**2)) / 2."""
    return 0.5 * x * (1 + x / numpy.sqrt(1 + x * x))


def gelu(x: numpy.ndarray) -> numpy.ndarray:
    """x * Phi(x), Phi the normal CDF."""
    erf = numpy.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def hard_swish(x: numpy.ndarray) -> numpy.ndarray:
    """x * clip(0.2 * x + 0.5, 0, 1)."""
    return x * numpy.clip(0.2 * x + 0.5, 0, 1)


def hard_swish_mobilenet(x: numpy.ndarray) -> numpy.ndarray:
    """x * relu6(x + 3) / 6."""
    return x * numpy.clip(x + 3, 0, 6) / 6


def mish(x: numpy.ndarray) -> numpy.ndarray:
    """x * tanh(log(1 + exp(x)))."""
    return x * numpy.tanh(numpy.log1p(numpy.exp(x)))


def swish(x: numpy.ndarray) -> numpy.ndarray:
    """x * sigmoid(x)."""
    return x / (1 + numpy.exp(-x))


class Row(NamedTuple):
    factory: Callable
    registry_name: str
    model_name: str
    # Reference activation, applied in float64.
    activation: Callable[[numpy.ndarray], numpy.ndarray]
    # The bare activation at HAND_CHECKED_INPUT, worked out by hand.
    hand_checked: list
    # Name of the default W initializer: "he_normal" or "glorot_uniform".
    default_init_W: str
    # thinc 8.3.14's Dish backprop differentiates at the layer input instead of the
    # pre-activation (and fails when nI != nO), so only its forward pass is compared;
    # test_gradients_match_finite_differences checks ours.
    compare_backprop: bool


ROWS = [
    Row(
        Dish,
        "Dish.v1",
        "dish",
        dish,
        [[-0.1055728, 0.0000000, 0.8535534], [2.9230249, -0.1381966, 0.3618034]],
        "he_normal",
        False,
    ),
    Row(
        Gelu,
        "Gelu.v1",
        "gelu",
        gelu,
        [[-0.0455003, 0.0000000, 0.8413447], [2.9959503, -0.1542688, 0.3457312]],
        "he_normal",
        True,
    ),
    Row(
        HardSwish,
        "HardSwish.v1",
        "hardswish",
        hard_swish,
        [[-0.2000000, 0.0000000, 0.7000000], [3.0000000, -0.2000000, 0.3000000]],
        "he_normal",
        True,
    ),
    Row(
        HardSwishMobilenet,
        "HardSwishMobilenet.v1",
        "hardswishmobilenet",
        hard_swish_mobilenet,
        [[-0.3333333, 0.0000000, 0.6666667], [3.0000000, -0.2083333, 0.2916667]],
        "he_normal",
        True,
    ),
    Row(
        Mish,
        "Mish.v1",
        "mish",
        mish,
        [[-0.2525015, 0.0000000, 0.8650984], [2.9865350, -0.2207438, 0.3752452]],
        "glorot_uniform",
        True,
    ),
    Row(
        Swish,
        "Swish.v1",
        "swish",
        swish,
        [[-0.2384058, 0.0000000, 0.7310586], [2.8577224, -0.1887703, 0.3112297]],
        "he_normal",
        True,
    ),
]

HAND_CHECKED_INPUT = [[-2.0, 0.0, 1.0], [3.0, -0.5, 0.5]]

each_layer = pytest.mark.parametrize("row", ROWS, ids=[row.registry_name for row in ROWS])


def make_input(rows: int = 5, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-3, 3, (rows, width)).astype("f")


@each_layer
def test_declares_thinc_names(row: Row):
    model = row.factory()
    assert model.name == row.model_name
    assert list(model.dim_names) == ["nO", "nI"]
    assert list(model.param_names) == ["W", "b"]


@each_layer
def test_activation_on_hand_checked_values(row: Row):
    # With W = identity and b = 0 the layer is the bare activation.
    model = row.factory(nO=3, nI=3)
    model.initialize()
    model.set_param("W", numpy.eye(3, dtype="f"))
    model.set_param("b", numpy.zeros(3, dtype="f"))
    X = numpy.array(HAND_CHECKED_INPUT, dtype="f")
    numpy.testing.assert_allclose(model.predict(X), numpy.array(row.hand_checked), atol=1e-5)


@each_layer
def test_reference_activation_agrees_with_hand_checked_values(row: Row):
    X = numpy.array(HAND_CHECKED_INPUT, dtype="f8")
    numpy.testing.assert_allclose(row.activation(X), numpy.array(row.hand_checked), atol=1e-6)


@each_layer
def test_forward_is_activation_of_affine(row: Row):
    model = with_random_params(row.factory(nO=3, nI=4))
    X = make_input()
    W, b = model.get_param("W"), model.get_param("b")
    expected = row.activation(X.astype("f8") @ W.T + b)
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)


@each_layer
def test_gradients_match_finite_differences(row: Row):
    model = with_random_params(row.factory(nO=3, nI=4))
    check_gradients(model, make_input())


@each_layer
def test_dims_inferred_at_initialize(row: Row):
    model = row.factory()
    model.initialize(X=make_input(width=6), Y=numpy.zeros((5, 2), dtype="f"))
    assert model.get_dim("nI") == 6 and model.get_dim("nO") == 2
    assert model.get_param("W").shape == (2, 6)
    assert model.get_param("b").shape == (2,)
    assert not model.get_param("b").any()


@each_layer
def test_default_weight_scale(row: Row):
    model = row.factory(nO=200, nI=300)
    model.initialize()
    W = model.get_param("W")
    if row.default_init_W == "he_normal":
        # he_normal_init: normal with std sqrt(2 / nI).
        assert abs(W.std() - math.sqrt(2 / 300)) < 0.01
        assert abs(W).max() > math.sqrt(6 / 500)
    else:
        assert row.default_init_W == "glorot_uniform"
        # glorot_uniform_init: uniform within sqrt(6 / (nO + nI)).
        limit = math.sqrt(6 / 500)
        assert abs(W).max() <= limit + 1e-6
        assert abs(W).max() > 0.9 * limit


@each_layer
def test_custom_initializers_are_used(row: Row):
    def ones(ops, shape):
        return ops.alloc(shape) + 1

    model = row.factory(nO=2, nI=3, init_W=ones, init_b=ones)
    model.initialize()
    assert (model.get_param("W") == 1).all() and (model.get_param("b") == 1).all()


@each_layer
def test_bytes_round_trip(row: Row):
    model = with_random_params(row.factory(nO=3, nI=4))
    copy = row.factory(nO=3, nI=4).from_bytes(model.to_bytes())
    X = make_input()
    numpy.testing.assert_array_equal(copy.predict(X), model.predict(X))


@each_layer
def test_resolves_from_config(row: Row):
    config = Config().from_str(
        f"""
        [model]
        @layers = "{row.registry_name}"
        nO = 3
        nI = 4
        normalize = true
        dropout = 0.1
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == f"{row.model_name}>>layernorm>>dropout"
    assert registry.layers.get(row.registry_name) is row.factory


@each_layer
def test_dropout_and_normalize_compose_with_chain(row: Row):
    name = row.model_name
    assert row.factory(nO=3, dropout=0.2).name == f"{name}>>dropout"
    normalized = row.factory(nO=3, normalize=True)
    assert normalized.name == f"{name}>>layernorm"
    assert normalized.layers[1].get_dim("nI") == 3
    both = row.factory(nO=3, dropout=0.2, normalize=True)
    assert [layer.name for layer in both.layers] == [f"{name}>>layernorm", "dropout"]
    assert both.layers[1].attrs["dropout_rate"] == 0.2
    both.initialize(X=make_input())
    assert both.predict(make_input()).shape == (5, 3)


@each_layer
def test_wrong_input_width_is_an_error(row: Row):
    model = with_random_params(row.factory(nO=3, nI=4))
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=5))
    with pytest.raises(ValueError):
        model.predict(numpy.zeros((4,), dtype="f"))


# One oracle process computes every layer's reference: each layer starts from the
# same seed, so its numbers do not depend on the others.
_REFERENCE_SCRIPT = """
import numpy
import thinc.api
result = {}
for name, compare_backprop in %r:
    model = getattr(thinc.api, name)(nO=3, nI=4)
    model.initialize()
    rng = numpy.random.default_rng(7)
    model.set_param("b", rng.uniform(-1, 1, 3).astype("f"))
    X = rng.uniform(-3, 3, (6, 4)).astype("f")
    if compare_backprop:
        Y, backprop = model.begin_update(X)
        dY = rng.uniform(-1, 1, Y.shape).astype("f")
        dX = backprop(dY)
        result[name] = dict(
            bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=dX, dW=model.get_grad("W")
        )
    else:
        result[name] = dict(bytes=model.to_bytes(), X=X, Y=model.predict(X))
"""


@pytest.fixture(scope="module")
def thinc_8_3_results():
    layers = [(row.factory.__name__, row.compare_backprop) for row in ROWS]
    return run_reference(_REFERENCE_SCRIPT % (layers,))


@each_layer
def test_matches_thinc_8_3_on_its_weights(row: Row, thinc_8_3_results):
    reference = thinc_8_3_results[row.factory.__name__]
    model = row.factory(nO=3, nI=4)
    model.initialize()
    model.from_bytes(reference["bytes"])
    assert model.to_bytes() == reference["bytes"]
    if not row.compare_backprop:
        Y = model.predict(reference["X"])
        numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-6)
        return
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-6)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), reference["dW"], rtol=1e-5, atol=1e-6)
