import numpy
import pytest

from thinc.layers.array_getitem import array_getitem, floats_getitem, ints_getitem

from ..util import check_gradients


def test_array_getitem_row_matches_reference():
    # Values from thinc 8.3.14.
    model = array_getitem(1)
    assert model.name == "array-getitem" and model.attrs == {"index": 1}
    X = numpy.arange(6, dtype="f").reshape(3, 2)
    Y, backprop = model.begin_update(X)
    assert Y.tolist() == [2.0, 3.0]
    assert backprop(Y).tolist() == [[0, 0], [2, 3], [0, 0]]


def test_typed_getitem_variants():
    assert floats_getitem([0, 1]).name == "floats-getitem"
    model = ints_getitem((slice(0, 2), 1))
    assert model.name == "ints-getitem"
    X = numpy.arange(6, dtype="i").reshape(3, 2)
    Y, backprop = model.begin_update(X)
    assert Y.tolist() == [1, 3]
    dX = backprop(Y)
    assert dX.dtype == X.dtype and dX.tolist() == [[0, 1], [0, 3], [0, 0]]


def test_array_getitem_gradients():
    X = numpy.random.default_rng(0).uniform(-1, 1, (4, 3)).astype("f")
    check_gradients(floats_getitem((slice(1, 3), [0, 2])), X)


def test_array_getitem_empty_and_serialization():
    model = array_getitem(1)
    X = numpy.zeros((0, 2), dtype="f")
    Y, backprop = model.begin_update(X)
    assert Y.shape == (0, 2)
    assert backprop(Y).shape == (0, 2)
    other = array_getitem(0).from_bytes(array_getitem(1).to_bytes())
    assert other.attrs["index"] == 1


def test_array_getitem_bad_input():
    with pytest.raises(IndexError, match="array-getitem"):
        array_getitem(5).predict(numpy.ones((2, 2), dtype="f"))
    with pytest.raises(TypeError, match="array-getitem"):
        array_getitem(0).predict([1, 2])
