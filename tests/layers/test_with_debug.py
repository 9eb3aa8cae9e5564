import numpy
import pytest

from thinc.layers.linear import Linear
from thinc.layers.with_debug import with_debug

from ..util import check_gradients


def test_with_debug_calls_hooks_and_keeps_layer():
    calls = []
    layer = Linear(3, 2)
    wrapped = with_debug(
        layer,
        "dbg",
        on_init=lambda model, X, Y: calls.append(("init", model, X is None, Y is None)),
        on_forward=lambda model, X, is_train: calls.append(("forward", model, X.shape, is_train)),
        on_backprop=lambda dY: calls.append(("backprop", dY.shape)),
    )
    assert wrapped is layer
    assert wrapped.name == "linear"
    wrapped.initialize()
    assert layer.has_param("W")
    X = numpy.ones((2, 2), dtype="f")
    Y, backprop = wrapped.begin_update(X)
    dX = backprop(numpy.ones_like(Y))
    assert dX.shape == (2, 2)
    assert calls == [
        ("init", layer, True, True),
        ("forward", layer, (2, 2), True),
        ("backprop", (2, 3)),
    ]


def test_with_debug_defaults_and_gradients():
    layer = with_debug(Linear(3, 2)).initialize()
    check_gradients(layer, numpy.random.default_rng(0).uniform(-1, 1, (2, 2)).astype("f"))


def test_with_debug_serialization():
    layer = with_debug(Linear(3, 2)).initialize()
    other = Linear(3, 2).initialize().from_bytes(layer.to_bytes())
    numpy.testing.assert_allclose(other.get_param("W"), layer.get_param("W"))


def test_with_debug_bad_input():
    with pytest.raises(TypeError, match="with_debug"):
        with_debug("layer")  # type: ignore[arg-type]
