import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.reduce_sum import reduce_sum
from thinc.types import Ragged

from ..util import check_gradients


def _ragged(lengths, seed=0):
    rng = numpy.random.default_rng(seed)
    data = rng.uniform(-1, 1, (sum(lengths), 3)).astype("f")
    return Ragged(data, numpy.asarray(lengths, dtype="i"))


def test_reduce_sum_matches_reference():
    # Values from thinc 8.3.14 on rows [[0, 1], [2, 3], [4, 5]], lengths [2, 1].
    Xr = Ragged(numpy.arange(6, dtype="f").reshape(3, 2), numpy.asarray([2, 1], dtype="i"))
    Y, backprop = reduce_sum().begin_update(Xr)
    assert Y.tolist() == [[2.0, 4.0], [4.0, 5.0]]
    dXr = backprop(Y + 1)
    assert isinstance(dXr, Ragged)
    assert dXr.dataXd.tolist() == [[3.0, 5.0], [3.0, 5.0], [5.0, 6.0]]
    assert dXr.lengths.tolist() == [2, 1]


def test_reduce_sum_against_numpy():
    Xr = _ragged([3, 1, 2])
    Y = reduce_sum().predict(Xr)
    pieces = numpy.split(Xr.dataXd, [3, 4])
    expected = numpy.stack([piece.sum(axis=0) for piece in pieces])
    numpy.testing.assert_allclose(Y, expected, rtol=1e-6)


def test_reduce_sum_gradients():
    Xr = _ragged([3, 1, 2], seed=1)
    check_gradients(reduce_sum(), Xr, input_arrays=lambda X: [X.dataXd])


def test_reduce_sum_empty_sequences():
    Xr = Ragged(numpy.arange(6, dtype="f").reshape(3, 2), numpy.asarray([2, 0, 1], dtype="i"))
    Y, backprop = reduce_sum().begin_update(Xr)
    assert Y.tolist() == [[2.0, 4.0], [0.0, 0.0], [4.0, 5.0]]
    assert backprop(Y + 1).dataXd.tolist() == [[3.0, 5.0], [3.0, 5.0], [5.0, 6.0]]


def test_reduce_sum_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "reduce_sum.v1"\n'))["m"]
    assert model.name == "reduce_sum"
    assert reduce_sum().from_bytes(model.to_bytes()).name == "reduce_sum"


def test_reduce_sum_bad_input():
    with pytest.raises(TypeError, match="reduce_sum"):
        reduce_sum().predict(numpy.ones((2, 2), dtype="f"))
    _, backprop = reduce_sum().begin_update(_ragged([2, 1]))
    with pytest.raises(ValueError, match="reduce_sum"):
        backprop(numpy.ones((3, 3), dtype="f"))
