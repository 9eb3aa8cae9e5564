import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.layers.linear import Linear
from thinc.layers.noop import noop
from thinc.layers.with_array import with_array
from thinc.layers.with_list import with_list
from thinc.model import Model
from thinc.types import Padded, Ragged

from ._sequences import check_list_gradients, check_ragged_gradients, resolve_wrapped_linear

OPS = NumpyOps()


def _list_only(inner: Model) -> Model:
    """Toy list-of-arrays layer that refuses anything but a list."""

    def forward(model, Xs, is_train):
        assert isinstance(Xs, list), type(Xs)
        return inner(Xs, is_train)

    return Model("list_only", forward, layers=[inner])


def _data(seed=0):
    return numpy.random.default_rng(seed).uniform(-1, 1, (5, 2)).astype("f")


def test_with_list_converts_ragged_and_padded():
    linear = Linear(3, 2).initialize()
    model = with_list(_list_only(with_array(linear)))
    assert model.name == "with_list(list_only)"
    data = _data()
    expected = linear.predict(data)
    Ys = model.predict([data[:2], data[2:]])
    numpy.testing.assert_allclose(numpy.vstack(Ys), expected, rtol=1e-6)
    Yr, backprop = model.begin_update(Ragged(data, numpy.asarray([2, 3], dtype="i")))
    assert isinstance(Yr, Ragged)
    numpy.testing.assert_allclose(Yr.dataXd, expected, rtol=1e-6)
    assert isinstance(backprop(Yr), Ragged)
    Xp = OPS.list2padded([data[:2], data[2:]])
    Yp, backprop = model.begin_update(Xp)
    assert isinstance(Yp, Padded) and Yp.data.shape == (3, 2, 3)
    dXp = backprop(Yp)
    assert isinstance(dXp, Padded) and dXp.data.shape == (3, 2, 2)


def test_with_list_dims_copied():
    model = with_list(with_array(Linear(3, 2)))
    assert model.get_dim("nO") == 3 and model.get_dim("nI") == 2


def test_with_list_gradients():
    data = _data(1)
    model = with_list(_list_only(with_array(Linear(3, 2).initialize())))
    check_ragged_gradients(model, data, [3, 2])
    check_list_gradients(model, [data[:1], data[1:]])


def test_with_list_init_from_ragged_and_serialization():
    model = with_list(with_array(Linear()))
    data = numpy.ones((3, 4), dtype="f")
    lengths = numpy.asarray([1, 2], dtype="i")
    model.initialize(X=Ragged(data, lengths), Y=Ragged(numpy.ones((3, 5), dtype="f"), lengths))
    assert model.layers[0].layers[0].get_param("W").shape == (5, 4)
    other = with_list(with_array(Linear(5, 4))).initialize().from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict([data])[0], model.predict([data])[0])


def test_with_list_from_config():
    model = resolve_wrapped_linear("with_list.v1", "with_array.v1")
    assert model.name == "with_list(with_array(linear))"


def test_with_list_passes_other_inputs_to_the_layer():
    # thinc 8.3 hands anything that is not Ragged or Padded to the layer as it is.
    inner = with_array(Linear(2, 2).initialize())
    model = with_list(inner)
    X = numpy.ones((2, 2), dtype="f")
    numpy.testing.assert_allclose(model.predict(X), inner.predict(X))
    X3d = numpy.ones((2, 3, 2), dtype="f")
    assert with_list(noop()).predict(X3d) is X3d


@pytest.mark.ref
def test_with_list_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_list(with_array(Linear(3, 2)))",
        "Ragged(numpy.linspace(0, 1, 10, dtype='f').reshape(5, 2), numpy.asarray([2, 3], dtype='i'))",
    )
