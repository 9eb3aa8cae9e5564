"""Tests for ParametricAttention ("ParametricAttention.v1"): rows scaled by a
per-sequence softmax of x . Q; gradients, bytes, config and thinc 8.3.14 parity."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.parametricattention import ParametricAttention
from thinc.types import Ragged

from ..util import check_gradients
from ._oracle import run_reference

LENGTHS = numpy.array([2, 3], dtype="i")


def make_ragged(seed: int = 0) -> Ragged:
    return Ragged(numpy.random.default_rng(seed).uniform(-1, 1, (5, 3)).astype("f"), LENGTHS)


def numpy_attention(X, Q, lengths):
    out, start = [], 0
    for length in lengths:
        scores = X[start : start + length] @ Q
        weights = numpy.exp(scores - scores.max())
        out.append(X[start : start + length] * (weights / weights.sum())[:, None])
        start += length
    return numpy.concatenate(out)


def test_names_and_init():
    model = ParametricAttention()
    assert model.name == "para-attn" and list(model.param_names) == ["Q"]
    model.initialize(X=make_ragged())
    Q = model.get_param("Q")
    assert model.get_dim("nO") == 3 and Q.shape == (3,) and abs(Q).max() <= 0.1


def test_hand_checked_values():
    model = ParametricAttention(nO=2)
    model.initialize()
    model.set_param("Q", numpy.array([1.0, 0.0], dtype="f"))
    X = Ragged(
        numpy.array([[0.0, 1.0], [numpy.log(3), 2.0], [5.0, 5.0]], dtype="f"),
        numpy.array([2, 1], "i"),
    )
    Y = model.predict(X)
    # Sequence 1 scores 0 and log 3 -> weights 1/4 and 3/4; a lone row weighs 1.
    numpy.testing.assert_allclose(
        Y.data, [[0.0, 0.25], [0.75 * numpy.log(3), 1.5], [5.0, 5.0]], rtol=1e-6
    )
    numpy.testing.assert_array_equal(Y.lengths, [2, 1])


def test_forward_matches_numpy_and_gradients():
    model = ParametricAttention(nO=3)
    model.initialize()
    model.set_param("Q", numpy.array([0.5, -1.0, 2.0], dtype="f"))
    Xr = make_ragged()
    numpy.testing.assert_allclose(
        model.predict(Xr).data,
        numpy_attention(Xr.data, model.get_param("Q"), LENGTHS),
        rtol=1e-5,
        atol=1e-6,
    )
    check_gradients(model, Xr, to_array=lambda r: r.data, input_arrays=lambda r: [r.data])


def test_bytes_config_and_bad_input():
    model = ParametricAttention(nO=3)
    model.initialize()
    copy = ParametricAttention(nO=3).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(
        copy.predict(make_ragged()).data, model.predict(make_ragged()).data
    )
    resolved = registry.resolve(
        Config().from_str('[model]\n@layers = "ParametricAttention.v1"\nnO = 4\n')
    )["model"]
    assert resolved.get_dim("nO") == 4
    with pytest.raises(TypeError, match="Ragged"):
        model.predict(make_ragged().data)
    with pytest.raises(ValueError, match="width 3"):
        model.predict(Ragged(numpy.zeros((5, 2), dtype="f"), LENGTHS))


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import ParametricAttention
from thinc.types import Ragged
rng = numpy.random.default_rng(8)
model = ParametricAttention(nO=4)
model.initialize()
model.set_param("Q", rng.uniform(-1, 1, 4).astype("f"))
X = rng.normal(size=(6, 4)).astype("f")
lengths = numpy.array([1, 3, 2], dtype="i")
Y, backprop = model.begin_update(Ragged(X, lengths))
dY = rng.normal(size=X.shape).astype("f")
dX = backprop(Ragged(dY, lengths))
result = dict(bytes=model.to_bytes(), X=X, lengths=lengths, Y=Y.data, dY=dY, dX=dX.data, dQ=model.get_grad("Q"))
"""
    )
    model = ParametricAttention(nO=4).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(Ragged(reference["X"], reference["lengths"]))
    numpy.testing.assert_allclose(Y.data, reference["Y"], rtol=1e-5, atol=1e-6)
    dX = backprop(Ragged(reference["dY"], reference["lengths"]))
    numpy.testing.assert_allclose(dX.data, reference["dX"], rtol=1e-4, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("Q"), reference["dQ"], rtol=1e-4, atol=1e-6)
