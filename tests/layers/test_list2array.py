import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.list2array import list2array

from ..util import check_gradients


def test_list2array_concatenates_and_splits():
    X = [numpy.ones((2, 3), dtype="f"), numpy.arange(3, dtype="f").reshape(1, 3)]
    Y, backprop = list2array().begin_update(X)
    numpy.testing.assert_allclose(Y, numpy.vstack(X))
    dX = backprop(Y * 2)
    assert [d.shape for d in dX] == [(2, 3), (1, 3)]
    numpy.testing.assert_allclose(dX[1], X[1] * 2)


def test_list2array_ints():
    X = [numpy.ones((2,), dtype="i"), numpy.ones((1,), dtype="i")]
    Y, backprop = list2array().begin_update(X)
    assert Y.tolist() == [1, 1, 1]
    assert [d.tolist() for d in backprop(Y)] == [[1, 1], [1]]


def test_list2array_gradients():
    rng = numpy.random.default_rng(0)
    X = [rng.uniform(-1, 1, (n, 2)).astype("f") for n in (3, 1)]
    check_gradients(list2array(), X, input_arrays=lambda X: list(X))


def test_list2array_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "list2array.v1"\n'))["m"]
    assert model.name == "list2array"
    assert list2array().from_bytes(model.to_bytes()).name == "list2array"


def test_list2array_bad_input():
    with pytest.raises(TypeError, match="list2array"):
        list2array().predict(numpy.ones((2, 2), dtype="f"))
