"""Tests for Sigmoid ("Sigmoid.v1"): a dense layer with a logistic output."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.sigmoid import Sigmoid

from ..util import check_gradients
from ._oracle import run_reference
from ._params import with_random_params


def make_input(rows: int = 5, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-2, 2, (rows, width)).astype("f")


def test_names_and_zero_init():
    model = Sigmoid()
    assert model.name == "sigmoid"
    assert list(model.dim_names) == ["nO", "nI"] and list(model.param_names) == ["W", "b"]
    model.initialize(X=make_input(), Y=numpy.zeros((5, 2), dtype="f"))
    assert model.get_param("W").shape == (2, 4)
    assert not model.get_param("W").any() and not model.get_param("b").any()
    numpy.testing.assert_allclose(model.predict(make_input()), numpy.full((5, 2), 0.5))


def test_hand_checked_values():
    model = Sigmoid(nO=2, nI=2)
    model.initialize()
    model.set_param("W", numpy.array([[1.0, 0.0], [0.0, 2.0]], dtype="f"))
    model.set_param("b", numpy.array([0.0, -1.0], dtype="f"))
    Y = model.predict(numpy.array([[0.0, 0.5], [2.0, 1.0]], dtype="f"))
    # sigmoid(0) = 0.5, sigmoid(0) = 0.5; sigmoid(2) = 0.8807971, sigmoid(1) = 0.7310586
    numpy.testing.assert_allclose(Y, [[0.5, 0.5], [0.8807971, 0.7310586]], atol=1e-6)


def test_gradients():
    check_gradients(with_random_params(Sigmoid(nO=3, nI=4)), make_input())


def test_bytes_config_and_bad_input():
    model = with_random_params(Sigmoid(nO=3, nI=4))
    copy = Sigmoid(nO=3, nI=4).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.predict(make_input()), model.predict(make_input()))
    resolved = registry.resolve(Config().from_str('[model]\n@layers = "Sigmoid.v1"\nnO = 3\n'))[
        "model"
    ]
    assert resolved.name == "sigmoid" and resolved.get_dim("nO") == 3
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=2))


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import Sigmoid
rng = numpy.random.default_rng(5)
model = Sigmoid(nO=3, nI=4)
model.initialize()
model.set_param("W", rng.uniform(-1, 1, (3, 4)).astype("f"))
model.set_param("b", rng.uniform(-1, 1, (3,)).astype("f"))
X = rng.uniform(-2, 2, (6, 4)).astype("f")
Y, backprop = model.begin_update(X)
dY = rng.uniform(-1, 1, Y.shape).astype("f")
result = dict(bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=backprop(dY), dW=model.get_grad("W"))
"""
    )
    model = Sigmoid(nO=3, nI=4).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-7)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(model.get_grad("W"), reference["dW"], rtol=1e-5, atol=1e-7)
