"""Tests for ParametricAttention_v2 ("ParametricAttention.v2"): attention scored on
keys from a key_transform layer, which is trained through the same backprop."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.parametricattention import ParametricAttention
from thinc.layers.parametricattention_v2 import KEY_TRANSFORM_REF, ParametricAttention_v2
from thinc.types import Ragged

from ..util import check_gradients
from ._oracle import run_reference

LENGTHS = numpy.array([2, 3], dtype="i")


def make_ragged(seed: int = 0) -> Ragged:
    return Ragged(numpy.random.default_rng(seed).uniform(-1, 1, (5, 3)).astype("f"), LENGTHS)


def test_names_refs_and_default_noop():
    model = ParametricAttention_v2()
    assert model.name == "para-attn" and list(model.param_names) == ["Q"]
    assert KEY_TRANSFORM_REF == "key_transform"
    assert model.get_ref(KEY_TRANSFORM_REF).name == "noop"
    assert [layer.name for layer in model.layers] == ["noop"]
    model.initialize(X=make_ragged())
    assert model.get_dim("nO") == 3 and abs(model.get_param("Q")).max() <= 0.1


def test_noop_transform_equals_v1():
    Q = numpy.array([0.5, -1.0, 2.0], dtype="f")
    v1, v2 = ParametricAttention(nO=3), ParametricAttention_v2(nO=3)
    for model in (v1, v2):
        model.initialize()
        model.set_param("Q", Q)
    numpy.testing.assert_allclose(v2.predict(make_ragged()).data, v1.predict(make_ragged()).data)


def test_key_transform_dims_inferred_and_trained():
    model = ParametricAttention_v2(key_transform=Linear())
    model.initialize(X=make_ragged())
    linear = model.get_ref("key_transform")
    assert linear.get_dim("nI") == 3 and linear.get_dim("nO") == 3
    linear.set_param("W", numpy.random.default_rng(1).normal(size=(3, 3)).astype("f"))
    model.set_param("Q", numpy.array([0.5, -1.0, 2.0], dtype="f"))
    check_gradients(
        model, make_ragged(), to_array=lambda r: r.data, input_arrays=lambda r: [r.data]
    )
    assert linear.has_grad("W")


def test_bytes_config_and_bad_input():
    model = ParametricAttention_v2(key_transform=Linear(3, 3))
    model.initialize(X=make_ragged())
    copy = ParametricAttention_v2(key_transform=Linear(3, 3)).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(
        copy.predict(make_ragged()).data, model.predict(make_ragged()).data
    )
    config = Config().from_str(
        '[model]\n@layers = "ParametricAttention.v2"\nnO = 3\n\n[model.key_transform]\n@layers = "Linear.v1"\n'
    )
    resolved = registry.resolve(config)["model"]
    assert resolved.get_ref("key_transform").name == "linear"
    with pytest.raises(ValueError, match="width 3"):
        model.predict(Ragged(numpy.zeros((5, 4), dtype="f"), LENGTHS))


def test_matches_thinc_8_3():
    reference = run_reference(
        """
import numpy
from thinc.api import ParametricAttention_v2, Linear
from thinc.types import Ragged
rng = numpy.random.default_rng(9)
model = ParametricAttention_v2(key_transform=Linear(4, 4), nO=4)
model.initialize()
model.set_param("Q", rng.uniform(-1, 1, 4).astype("f"))
X = rng.normal(size=(6, 4)).astype("f")
lengths = numpy.array([4, 2], dtype="i")
Y, backprop = model.begin_update(Ragged(X, lengths))
dY = rng.normal(size=X.shape).astype("f")
dX = backprop(Ragged(dY, lengths))
result = dict(bytes=model.to_bytes(), X=X, lengths=lengths, Y=Y.data, dY=dY, dX=dX.data, dQ=model.get_grad("Q"))
"""
    )
    model = ParametricAttention_v2(key_transform=Linear(4, 4), nO=4).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    Y, backprop = model.begin_update(Ragged(reference["X"], reference["lengths"]))
    numpy.testing.assert_allclose(Y.data, reference["Y"], rtol=1e-5, atol=1e-6)
    dX = backprop(Ragged(reference["dY"], reference["lengths"]))
    numpy.testing.assert_allclose(dX.data, reference["dX"], rtol=1e-4, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("Q"), reference["dQ"], rtol=1e-4, atol=1e-6)
