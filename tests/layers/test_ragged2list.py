import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.ragged2list import ragged2list
from thinc.types import Ragged

from ..util import check_gradients


def test_ragged2list_splits_at_lengths():
    data = numpy.arange(6, dtype="f").reshape(3, 2)
    Xr = Ragged(data, numpy.asarray([1, 2], dtype="i"))
    Ys, backprop = ragged2list().begin_update(Xr)
    assert [Y.tolist() for Y in Ys] == [[[0, 1]], [[2, 3], [4, 5]]]
    dXr = backprop([Y * 2 for Y in Ys])
    assert isinstance(dXr, Ragged)
    assert dXr.lengths.tolist() == [1, 2]
    numpy.testing.assert_allclose(dXr.dataXd, data * 2)


def test_ragged2list_gradients():
    data = numpy.random.default_rng(0).uniform(-1, 1, (5, 2)).astype("f")
    Xr = Ragged(data, numpy.asarray([2, 3], dtype="i"))
    check_gradients(
        ragged2list(),
        Xr,
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: [X.dataXd],
    )


def test_ragged2list_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "ragged2list.v1"\n'))["m"]
    assert model.name == "ragged2list"
    assert ragged2list().from_bytes(model.to_bytes()).name == "ragged2list"


def test_ragged2list_bad_input():
    with pytest.raises(TypeError, match="ragged2list"):
        ragged2list().predict([numpy.ones((2, 2), dtype="f")])
