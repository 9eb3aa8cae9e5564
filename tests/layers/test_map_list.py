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


def test_map_list_maps_an_array_over_its_first_axis():
    # thinc 8.3 iterates whatever it is given: a 3d array is a list of 2d items.
    model = map_list(Linear(2, 3).initialize())
    X = numpy.arange(12, dtype="f").reshape(2, 2, 3)
    Ys, backprop = model.begin_update(X)
    assert isinstance(Ys, list) and len(Ys) == 2
    numpy.testing.assert_allclose(Ys[1], model.layers[0].predict(X[1]))
    dXs = backprop(Ys)
    assert [dX.shape for dX in dXs] == [(2, 3), (2, 3)]


def test_map_list_bad_input():
    model = map_list(Linear(3, 2).initialize())
    with pytest.raises(TypeError, match="map_list"):
        model.predict(3)
    _, backprop = model.begin_update([numpy.ones((1, 2), dtype="f")])
    with pytest.raises(ValueError, match="map_list"):
        backprop([])
