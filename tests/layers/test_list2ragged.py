import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.list2ragged import list2ragged
from thinc.types import Ragged

from ..util import check_gradients


def test_list2ragged_concatenates_with_lengths():
    X = [numpy.ones((2, 3), dtype="f"), numpy.arange(3, dtype="f").reshape(1, 3)]
    Yr, backprop = list2ragged().begin_update(X)
    assert isinstance(Yr, Ragged)
    assert Yr.lengths.tolist() == [2, 1]
    numpy.testing.assert_allclose(Yr.dataXd, numpy.vstack(X))
    dX = backprop(Ragged(Yr.dataXd * 3, Yr.lengths))
    assert [d.shape for d in dX] == [(2, 3), (1, 3)]
    numpy.testing.assert_allclose(dX[1], X[1] * 3)


def test_list2ragged_gradients():
    rng = numpy.random.default_rng(0)
    X = [rng.uniform(-1, 1, (n, 2)).astype("f") for n in (3, 2)]
    check_gradients(list2ragged(), X, to_array=lambda Y: Y.dataXd, input_arrays=lambda X: list(X))


def test_list2ragged_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "list2ragged.v1"\n'))["m"]
    assert model.name == "list2ragged"
    assert list2ragged().from_bytes(model.to_bytes()).name == "list2ragged"


def test_list2ragged_bad_input():
    with pytest.raises(TypeError, match="list2ragged"):
        list2ragged().predict(numpy.ones((2, 2), dtype="f"))
    _, backprop = list2ragged().begin_update([numpy.ones((2, 2), dtype="f")])
    with pytest.raises(TypeError, match="Ragged"):
        backprop(numpy.ones((2, 2), dtype="f"))
