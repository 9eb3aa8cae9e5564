"""Tests for MultiSoftmax ("MultiSoftmax.v1"): one dense layer for several groups of
classes. Like thinc 8.3.14 it returns the unnormalised scores (checked below)."""

import numpy
import pytest

from thinc.config import registry
from thinc.layers.multisoftmax import MultiSoftmax

from ..util import check_gradients
from ._oracle import run_reference


def with_params(model, seed: int = 0):
    model.initialize()
    rng = numpy.random.default_rng(seed)
    model.set_param("W", rng.uniform(-1, 1, model.get_param("W").shape).astype("f"))
    model.set_param("b", rng.uniform(-1, 1, model.get_param("b").shape).astype("f"))
    return model


def test_names_dims_attrs_and_zero_init():
    model = MultiSoftmax(nOs=(2, 3))
    assert model.name == "multisoftmax" and model.attrs == {"nOs": (2, 3)}
    assert model.get_dim("nO") == 5 and list(model.param_names) == ["W", "b"]
    model.initialize(X=numpy.zeros((2, 4), dtype="f"))
    assert model.get_param("W").shape == (5, 4) and not model.get_param("W").any()
    assert model.get_param("b").shape == (5,) and not model.get_param("b").any()


def test_hand_checked_scores_and_backprop():
    model = MultiSoftmax(nOs=(2, 3), nI=3)
    model.initialize()
    model.set_param("W", numpy.ones((5, 3), dtype="f"))
    model.set_param("b", numpy.arange(5, dtype="f"))
    Y, backprop = model.begin_update(numpy.ones((1, 3), dtype="f"))
    numpy.testing.assert_array_equal(Y, [[3, 4, 5, 6, 7]])
    dX = backprop(numpy.array([[1, 0, 0, 0, -1]], dtype="f"))
    numpy.testing.assert_array_equal(dX, [[0, 0, 0]])
    numpy.testing.assert_array_equal(model.get_grad("b"), [1, 0, 0, 0, -1])


def test_gradients():
    X = numpy.random.default_rng(1).normal(size=(4, 3)).astype("f")
    check_gradients(with_params(MultiSoftmax(nOs=(2, 2), nI=3)), X)


def test_bytes_config_and_bad_input():
    model = with_params(MultiSoftmax(nOs=(1, 2), nI=3))
    copy = MultiSoftmax(nOs=(1, 2), nI=3).from_bytes(model.to_bytes())
    X = numpy.ones((2, 3), dtype="f")
    numpy.testing.assert_array_equal(copy.predict(X), model.predict(X))
    # nOs is typed Tuple[int, ...], which a config list does not validate as (as in thinc).
    assert registry.layers.get("MultiSoftmax.v1") is MultiSoftmax
    with pytest.raises(ValueError, match="width 3"):
        model.predict(numpy.ones((2, 4), dtype="f"))
    with pytest.raises(ValueError, match="nOs"):
        MultiSoftmax(nOs=(2, 0))


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import MultiSoftmax
rng = numpy.random.default_rng(6)
model = MultiSoftmax(nOs=(2, 3), nI=4)
model.initialize()
model.set_param("W", rng.uniform(-1, 1, (5, 4)).astype("f"))
model.set_param("b", rng.uniform(-1, 1, (5,)).astype("f"))
X = rng.normal(size=(3, 4)).astype("f")
Y, backprop = model.begin_update(X)
dY = rng.normal(size=Y.shape).astype("f")
result = dict(bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=backprop(dY))
"""
    )
    model = MultiSoftmax(nOs=(2, 3), nI=4).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-7)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-6)
