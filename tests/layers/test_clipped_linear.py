"""Tests for ClippedLinear and its presets HardSigmoid, HardTanh and ReluK: the
clipping arithmetic, gradients, dims, bytes, config and thinc 8.3.14 parity."""

import math

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.clipped_linear import ClippedLinear, HardSigmoid, HardTanh, ReluK
from thinc.util import fix_random_seed

from ..util import check_gradients
from ._oracle import run_reference


def identity_layer(model, width: int = 3):
    model.initialize()
    model.set_param("W", numpy.eye(width, dtype="f"))
    model.set_param("b", numpy.zeros(width, dtype="f"))
    return model


def make_input(rows: int = 5, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-3, 3, (rows, width)).astype("f")


X_HAND = numpy.array([[-8.0, -1.0, -0.25], [0.0, 0.5, 7.0]], dtype="f")


@pytest.mark.parametrize(
    "factory,expected",
    [
        (HardSigmoid, [[0.0, 0.3, 0.45], [0.5, 0.6, 1.0]]),
        (HardTanh, [[-1.0, -1.0, -0.25], [0.0, 0.5, 1.0]]),
        (ReluK, [[0.0, 0.0, 0.0], [0.0, 0.5, 6.0]]),
        (ClippedLinear, [[0.0, 0.0, 0.0], [0.0, 0.5, 1.0]]),
    ],
)
def test_presets_on_hand_checked_values(factory, expected):
    model = identity_layer(factory(nO=3, nI=3))
    numpy.testing.assert_allclose(model.predict(X_HAND), expected, atol=1e-6)


def test_custom_slope_offset_and_range():
    model = identity_layer(
        ClippedLinear(nO=3, nI=3, slope=2.0, offset=1.0, min_val=-2.0, max_val=3.0)
    )
    # clip(2x + 1, -2, 3) on [-8, -1, -0.25] and [0, 0.5, 7]
    numpy.testing.assert_allclose(model.predict(X_HAND), [[-2, -1, 0.5], [1, 2, 3]], atol=1e-6)
    assert ReluK(k=2.5).attrs == {"slope": 1.0, "offset": 0.0, "min_val": 0.0, "max_val": 2.5}


def test_preset_attrs_match_thinc():
    assert HardSigmoid().attrs == {"slope": 0.2, "offset": 0.5, "min_val": 0.0, "max_val": 1.0}
    assert HardTanh().attrs == {"slope": 1.0, "offset": 0.0, "min_val": -1.0, "max_val": 1.0}
    assert ReluK().attrs["max_val"] == 6.0
    for factory in (ClippedLinear, HardSigmoid, HardTanh, ReluK):
        model = factory()
        assert model.name == "clipped_linear"
        assert list(model.dim_names) == ["nO", "nI"]
        assert list(model.param_names) == ["W", "b"]


@pytest.mark.parametrize("factory", [HardSigmoid, HardTanh, ReluK])
def test_gradients_match_finite_differences(factory):
    # A fixed draw: with weights left to the suite's random state, a unit now
    # and then sits within eps of a clip point, where finite differences straddle the kink.
    fix_random_seed(0)
    model = factory(nO=3, nI=4)
    model.initialize()
    check_gradients(model, make_input())


def test_gradient_is_zero_where_clipped():
    model = identity_layer(HardTanh(nO=3, nI=3))
    Y, backprop = model.begin_update(X_HAND)
    dX = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(dX, [[0, 0, 1], [1, 1, 0]])
    model = identity_layer(HardSigmoid(nO=3, nI=3))
    Y, backprop = model.begin_update(X_HAND)
    numpy.testing.assert_allclose(
        backprop(numpy.ones_like(Y)), [[0, 0.2, 0.2], [0.2, 0.2, 0]], atol=1e-7
    )


def test_dims_inferred_and_glorot_scale():
    model = HardSigmoid()
    model.initialize(X=make_input(width=300), Y=numpy.zeros((5, 200), dtype="f"))
    W = model.get_param("W")
    assert W.shape == (200, 300) and model.get_param("b").shape == (200,)
    limit = math.sqrt(6 / 500)
    assert limit * 0.9 < abs(W).max() <= limit + 1e-6


def test_bytes_round_trip():
    model = ReluK(nO=3, nI=4, k=2.0)
    model.initialize()
    copy = ReluK(nO=3, nI=4, k=2.0).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.predict(make_input()), model.predict(make_input()))


@pytest.mark.parametrize("name", ["ClippedLinear.v1", "HardSigmoid.v1", "HardTanh.v1", "ReluK.v1"])
def test_resolves_from_config(name):
    config = Config().from_str(
        f'[model]\n@layers = "{name}"\nnO = 3\nnormalize = true\ndropout = 0.2\n'
    )
    model = registry.resolve(config)["model"]
    assert model.name == "clipped_linear>>layernorm>>dropout"


def test_bad_input_and_arguments():
    model = HardTanh(nO=3, nI=4)
    model.initialize()
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=3))
    with pytest.raises(ValueError, match="min_val"):
        ClippedLinear(min_val=2.0, max_val=1.0)


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import ClippedLinear
model = ClippedLinear(nO=3, nI=4, slope=1.5, offset=0.2, min_val=-0.5, max_val=0.7)
model.initialize()
rng = numpy.random.default_rng(3)
X = rng.uniform(-2, 2, (6, 4)).astype("f")
Y, backprop = model.begin_update(X)
dY = rng.uniform(-1, 1, Y.shape).astype("f")
result = dict(bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=backprop(dY), db=model.get_grad("b"))
"""
    )
    model = ClippedLinear(nO=3, nI=4, slope=1.5, offset=0.2, min_val=-0.5, max_val=0.7)
    model.from_bytes(reference["bytes"])
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-6)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("b"), reference["db"], rtol=1e-5, atol=1e-6)
