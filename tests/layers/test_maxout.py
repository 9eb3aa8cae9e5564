"""Tests for Maxout ("Maxout.v1"): the max over nP pieces, W of shape (nO, nP, nI),
gradients, dims, bytes, config, chain composition and thinc 8.3.14 parity."""

import math

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.maxout import Maxout

from ..util import check_gradients
from ._oracle import run_reference
from ._params import with_random_params


def make_input(rows: int = 5, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).uniform(-2, 2, (rows, width)).astype("f")


def test_names_and_shapes():
    model = Maxout()
    assert model.name == "maxout"
    assert list(model.dim_names) == ["nO", "nI", "nP"] and model.get_dim("nP") == 3
    assert list(model.param_names) == ["W", "b"]
    model.initialize(X=make_input(width=300), Y=numpy.zeros((5, 200), dtype="f"))
    assert model.get_param("W").shape == (200, 3, 300)
    assert model.get_param("b").shape == (200, 3) and not model.get_param("b").any()
    # glorot_uniform_init on (nO, nP, nI) uses the first two dims as fans, as in thinc.
    limit = math.sqrt(6 / 203)
    assert limit * 0.9 < abs(model.get_param("W")).max() <= limit + 1e-6


@pytest.mark.parametrize("nP", [1, 3])
def test_no_units_gives_empty_outputs_and_zero_gradients(nP):
    # nO = 0: thinc 8.3.14 raises IndexError in the forward; here the output is
    # (rows, 0) and the backward gives dX = 0 and empty gradients (its compiled
    # kernel once divided by zero there and killed the process).
    model = Maxout(nO=0, nI=4, nP=nP)
    X = make_input()
    model.initialize(X=X)
    Y, backprop = model(X, is_train=True)
    assert Y.shape == (5, 0)
    dX = backprop(Y)
    assert dX.shape == X.shape and not dX.any()
    assert model.get_grad("W").shape == (0, nP, 4) and model.get_grad("b").shape == (0, nP)
    assert model.predict(X).shape == (5, 0)


def test_hand_checked_values():
    model = Maxout(nO=2, nI=2, nP=2)
    model.initialize()
    # unit 0 pieces: x0 and -x0; unit 1 pieces: x1 + 1 and 2 * x1
    W = numpy.array([[[1, 0], [-1, 0]], [[0, 1], [0, 2]]], dtype="f")
    model.set_param("W", W)
    model.set_param("b", numpy.array([[0, 0], [1, 0]], dtype="f"))
    X = numpy.array([[-3.0, 0.5], [2.0, 4.0]], dtype="f")
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_allclose(Y, [[3.0, 1.5], [2.0, 8.0]])
    dX = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(dX, [[-1.0, 1.0], [1.0, 2.0]])
    numpy.testing.assert_allclose(model.get_grad("b"), [[1, 1], [1, 1]])


def test_forward_matches_numpy():
    model = with_random_params(Maxout(nO=3, nI=4, nP=4))
    X = make_input()
    W, b = model.get_param("W"), model.get_param("b")
    expected = (numpy.einsum("opi,ni->nop", W.astype("f8"), X) + b).max(axis=2)
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)


def test_gradients():
    check_gradients(with_random_params(Maxout(nO=3, nI=4, nP=2)), make_input())


def test_bytes_config_chain_and_bad_input():
    model = with_random_params(Maxout(nO=3, nI=4, nP=2))
    copy = Maxout(nO=3, nI=4, nP=2).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(copy.predict(make_input()), model.predict(make_input()))
    config = Config().from_str(
        '[model]\n@layers = "Maxout.v1"\nnO = 3\nnP = 2\nnormalize = true\ndropout = 0.1\n'
    )
    resolved = registry.resolve(config)["model"]
    assert resolved.name == "maxout>>layernorm>>dropout"
    assert resolved.layers[0].layers[0].get_dim("nP") == 2
    assert Maxout(nO=3, dropout=0.2).name == "maxout>>dropout"
    with pytest.raises(ValueError, match="width 4"):
        model.predict(make_input(width=3))


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import Maxout
rng = numpy.random.default_rng(11)
model = Maxout(nO=3, nI=4, nP=2)
model.initialize()
model.set_param("b", rng.uniform(-1, 1, (3, 2)).astype("f"))
X = rng.uniform(-2, 2, (7, 4)).astype("f")
Y, backprop = model.begin_update(X)
dY = rng.uniform(-1, 1, Y.shape).astype("f")
dX = backprop(dY)
result = dict(bytes=model.to_bytes(), X=X, Y=Y, dY=dY, dX=dX, dW=model.get_grad("W"), db=model.get_grad("b"))
"""
    )
    model = Maxout(nO=3, nI=4, nP=2).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(reference["X"])
    numpy.testing.assert_allclose(Y, reference["Y"], rtol=1e-6, atol=1e-6)
    numpy.testing.assert_allclose(backprop(reference["dY"]), reference["dX"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), reference["dW"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("b"), reference["db"], rtol=1e-5, atol=1e-6)
