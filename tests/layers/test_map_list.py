import numpy
import pytest

from thinc.layers.linear import Linear
from thinc.layers.map_list import map_list

from ..util import check_gradients


def test_map_list_applies_per_item():
    inner = Linear(3, 2).initialize()
    model = map_list(inner)
    assert model.name == "map_list"
    X = [numpy.ones((2, 2), dtype="f"), numpy.zeros((1, 2), dtype="f")]
    Ys, backprop = model.begin_update(X)
    for Y, x in zip(Ys, X):
        numpy.testing.assert_allclose(Y, inner.predict(x))
    assert [dX.shape for dX in backprop(Ys)] == [(2, 2), (1, 2)]


def test_map_list_gradients():
    rng = numpy.random.default_rng(0)
    X = [rng.uniform(-1, 1, (n, 2)).astype("f") for n in (2, 3)]
    check_gradients(
        map_list(Linear(3, 2).initialize()),
        X,
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: list(X),
    )


def test_map_list_infers_dims_from_first_item():
    model = map_list(Linear())
    model.initialize(
        X=[numpy.ones((3, 2), dtype="f"), numpy.zeros((1, 2), dtype="f")],
        Y=[numpy.ones((3, 4), dtype="f")],
    )
    assert model.layers[0].get_param("W").shape == (4, 2)


def test_map_list_serialization():
    model = map_list(Linear(3, 2).initialize())
    other = map_list(Linear(3, 2).initialize()).from_bytes(model.to_bytes())
    X = [numpy.ones((1, 2), dtype="f")]
    numpy.testing.assert_allclose(other.predict(X)[0], model.predict(X)[0])


def test_map_list_bad_input():
    model = map_list(Linear(3, 2).initialize())
    with pytest.raises(TypeError, match="map_list"):
        model.predict(numpy.ones((2, 2), dtype="f"))
    _, backprop = model.begin_update([numpy.ones((1, 2), dtype="f")])
    with pytest.raises(ValueError, match="map_list"):
        backprop([])
