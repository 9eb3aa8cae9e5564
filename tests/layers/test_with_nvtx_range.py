import numpy
import pytest

from thinc.layers.linear import Linear
from thinc.layers.with_nvtx_range import with_nvtx_range

from ..util import check_gradients


def test_with_nvtx_range_is_transparent():
    layer = Linear(3, 2)
    wrapped = with_nvtx_range(layer, "my range", forward_color=1, backprop_color=2)
    assert wrapped is layer and wrapped.name == "linear"
    wrapped.initialize()
    assert layer.has_param("W")
    X = numpy.ones((2, 2), dtype="f")
    expected = X @ layer.get_param("W").T + layer.get_param("b")
    numpy.testing.assert_allclose(wrapped.predict(X), expected, rtol=1e-6)
    check_gradients(wrapped, numpy.random.default_rng(0).uniform(-1, 1, (2, 2)).astype("f"))


def test_with_nvtx_range_serialization():
    layer = with_nvtx_range(Linear(3, 2)).initialize()
    other = Linear(3, 2).initialize().from_bytes(layer.to_bytes())
    numpy.testing.assert_allclose(other.get_param("W"), layer.get_param("W"))


def test_with_nvtx_range_bad_input():
    with pytest.raises(TypeError, match="with_nvtx_range"):
        with_nvtx_range(42)  # type: ignore[arg-type]
