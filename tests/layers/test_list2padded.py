import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.chain import chain
from thinc.layers.list2padded import list2padded
from thinc.types import Padded

from ..util import check_gradients
from ._sequences import padded_data


def test_list2padded_packs_time_major():
    X = [numpy.ones((2, 3), dtype="f"), numpy.arange(9, dtype="f").reshape(3, 3)]
    Yp, backprop = list2padded().begin_update(X)
    assert isinstance(Yp, Padded)
    assert Yp.data.shape == (3, 2, 3)
    # As in thinc 8.3.14: lengths in batch (longest-first) order.
    assert Yp.lengths.tolist() == [3, 2]
    assert Yp.indices.tolist() == [1, 0]
    assert Yp.size_at_t.tolist() == [2, 2, 1]
    # The longest sequence comes first in the batch.
    numpy.testing.assert_allclose(Yp.data[:, 0], X[1])
    dX = backprop(Yp)
    numpy.testing.assert_allclose(dX[0], X[0])
    numpy.testing.assert_allclose(dX[1], X[1])


def test_list2padded_gradients():
    rng = numpy.random.default_rng(0)
    X = [rng.uniform(-1, 1, (n, 2)).astype("f") for n in (2, 3)]
    check_gradients(chain(list2padded(), padded_data()), X, input_arrays=lambda X: list(X))


def test_list2padded_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "list2padded.v1"\n'))["m"]
    assert model.name == "list2padded"
    assert list2padded().from_bytes(model.to_bytes()).name == "list2padded"


def test_list2padded_bad_input():
    with pytest.raises(TypeError, match="list2padded"):
        list2padded().predict(numpy.ones((2, 2), dtype="f"))
