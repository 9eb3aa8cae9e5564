"""Tests for CauchySimilarity ("CauchySimilarity.v1"): 1 / (1 + sum W (a - b)**2)."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.cauchysimilarity import CauchySimilarity

from ..util import check_gradients
from ._oracle import run_reference

X1 = numpy.array([[1, 2, 3], [0, 0, 1]], dtype="f")
X2 = numpy.array([[1, 1, 1], [0, 1, 0]], dtype="f")


def weighted_model():
    model = CauchySimilarity(nI=3)
    model.initialize()
    model.set_param("W", numpy.array([0.5, 1.0, 2.0], dtype="f"))
    return model


def test_names_and_ones_init():
    model = CauchySimilarity()
    assert model.name == "cauchy_similarity" and list(model.param_names) == ["W"]
    assert model.get_dim("nO") == 1 and model.maybe_get_dim("nI") is None
    model.initialize(X=(X1, X2))
    numpy.testing.assert_array_equal(model.get_param("W"), [1, 1, 1])


def test_hand_checked_values_and_gradients():
    model = weighted_model()
    sim, backprop = model.begin_update((X1, X2))
    # Row 0: 0.5*0 + 1*1 + 2*4 = 9 -> 0.1; row 1: 0 + 1 + 2 = 3 -> 0.25.
    numpy.testing.assert_allclose(sim, [0.1, 0.25], rtol=1e-6)
    d1, d2 = backprop(numpy.array([1.0, 2.0], dtype="f"))
    # d sim / d a = -sim**2 * 2 W (a - b), times d_sim.
    numpy.testing.assert_allclose(d1, [[0, -0.02, -0.08], [0, 0.25, -0.5]], atol=1e-7)
    numpy.testing.assert_allclose(d2, -d1)
    numpy.testing.assert_allclose(model.get_grad("W"), [0, -0.135, -0.165], atol=1e-7)


def test_gradient_check():
    rng = numpy.random.default_rng(0)
    pair = (rng.normal(size=(4, 3)).astype("f"), rng.normal(size=(4, 3)).astype("f"))
    check_gradients(weighted_model(), pair, input_arrays=lambda pair: list(pair))


def test_bytes_config_and_bad_input():
    model = weighted_model()
    copy = CauchySimilarity(nI=3).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.predict((X1, X2)), model.predict((X1, X2)))
    resolved = registry.resolve(
        Config().from_str('[model]\n@layers = "CauchySimilarity.v1"\nnI = 5\n')
    )["model"]
    assert resolved.get_dim("nI") == 5
    with pytest.raises(ValueError, match="same shape"):
        model.predict((X1, X2[:1]))
    with pytest.raises(TypeError):
        model.predict(X1)
    with pytest.raises(ValueError, match="width 3"):
        model.predict((X1[:, :2], X2[:, :2]))


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import CauchySimilarity
rng = numpy.random.default_rng(4)
model = CauchySimilarity(nI=5)
model.initialize()
model.set_param("W", rng.uniform(0, 2, 5).astype("f"))
A = rng.normal(size=(6, 5)).astype("f")
B = rng.normal(size=(6, 5)).astype("f")
Y, backprop = model.begin_update((A, B))
dA, dB = backprop(numpy.ones(6, dtype="f"))
result = dict(bytes=model.to_bytes(), A=A, B=B, Y=Y, dA=dA, dW=model.get_grad("W"))
"""
    )
    model = CauchySimilarity(nI=5).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update((reference["A"], reference["B"]))
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6)
    dA, _ = backprop(numpy.ones(6, dtype="f"))
    numpy.testing.assert_allclose(dA, reference["dA"], rtol=1e-5, atol=1e-7)
    numpy.testing.assert_allclose(model.get_grad("W"), reference["dW"], rtol=1e-5, atol=1e-7)
