import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.padded2list import padded2list
from thinc.types import Padded

OPS = NumpyOps()


def test_padded2list_restores_order():
    X = [numpy.ones((2, 3), dtype="f"), numpy.arange(9, dtype="f").reshape(3, 3)]
    Xp = OPS.list2padded(X)
    Ys, backprop = padded2list().begin_update(Xp)
    assert len(Ys) == 2
    numpy.testing.assert_allclose(Ys[0], X[0])
    numpy.testing.assert_allclose(Ys[1], X[1])
    dXp = backprop([Y * 2 for Y in Ys])
    assert isinstance(dXp, Padded)
    numpy.testing.assert_allclose(dXp.data, Xp.data * 2)
    assert dXp.lengths.tolist() == Xp.lengths.tolist()
    assert dXp.indices.tolist() == Xp.indices.tolist()


def test_padded2list_gradient_is_linear_inverse():
    # padded2list is a permutation of the non-padding cells: <Y, dY> == <X, dX>.
    rng = numpy.random.default_rng(0)
    X = [rng.uniform(-1, 1, (n, 2)).astype("f") for n in (3, 1, 2)]
    Xp = OPS.list2padded(X)
    Ys, backprop = padded2list().begin_update(Xp)
    dYs = [rng.uniform(-1, 1, Y.shape).astype("f") for Y in Ys]
    dXp = backprop(dYs)
    lhs = sum(float((Y * dY).sum()) for Y, dY in zip(Ys, dYs))
    rhs = float((Xp.data * dXp.data).sum())
    assert abs(lhs - rhs) < 1e-4


def test_padded2list_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "padded2list.v1"\n'))["m"]
    assert model.name == "padded2list"
    assert padded2list().from_bytes(model.to_bytes()).name == "padded2list"


def test_padded2list_bad_input():
    with pytest.raises(TypeError, match="padded2list"):
        padded2list().predict([numpy.ones((2, 2), dtype="f")])
