import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.with_array import with_array
from thinc.model import Model
from thinc.types import Padded, Ragged

from ..util import check_gradients
from ._params import with_random_params
from ._sequences import check_list_gradients, check_ragged_gradients

OPS = NumpyOps()


def _linear(nO=2, nI=2, seed=0):
    return with_random_params(Linear(nO, nI), seed)


def _sum_rows() -> Model:
    """Toy layer that works on any-rank arrays: y = x * 2 (shape preserved)."""

    def forward(model, X, is_train):
        return X * 2, lambda dY: dY * 2

    return Model("double", forward)


def _data(seed=0):
    return numpy.random.default_rng(seed).uniform(-1, 1, (5, 2)).astype("f")


def test_with_array_copies_dims_and_attrs():
    model = with_array(Linear(3, 2))
    assert model.name == "with_array(linear)"
    assert model.attrs == {"pad": 0}
    assert model.get_dim("nO") == 3 and model.get_dim("nI") == 2
    assert with_array(Linear(3, 2), pad=2).attrs == {"pad": 2}


def test_with_array_on_array_list_ragged():
    inner = _linear(3, 2)
    model = with_array(inner)
    data = _data()
    expected = inner.predict(data)
    numpy.testing.assert_allclose(model.predict(data), expected)
    Ys = model.predict([data[:2], data[2:]])
    assert isinstance(Ys, list) and [Y.shape for Y in Ys] == [(2, 3), (3, 3)]
    numpy.testing.assert_allclose(numpy.vstack(Ys), expected, rtol=1e-6)
    assert isinstance(model.predict((data[:2], data[2:])), list)
    Yr = model.predict(Ragged(data, numpy.asarray([2, 3], dtype="i")))
    assert isinstance(Yr, Ragged) and Yr.lengths.tolist() == [2, 3]
    numpy.testing.assert_allclose(Yr.dataXd, expected, rtol=1e-6)


def test_with_array_padded_passes_3d_data():
    model = with_array(_sum_rows())
    Xp = OPS.list2padded([_data()[:3], _data()[3:]])
    Yp, backprop = model.begin_update(Xp)
    assert isinstance(Yp, Padded)
    numpy.testing.assert_allclose(Yp.data, Xp.data * 2)
    dXp = backprop(Yp)
    numpy.testing.assert_allclose(dXp.data, Xp.data * 4)


def test_with_array_pad_keeps_outputs():
    model = with_array(_linear(2, 2), pad=1)
    data = _data()
    Ys = model.predict([data[:2], data[2:]])
    assert [Y.shape for Y in Ys] == [(2, 2), (3, 2)]
    numpy.testing.assert_allclose(numpy.vstack(Ys), model.layers[0].predict(data), rtol=1e-6)


def test_with_array_gradients():
    data = _data(1)
    model = with_array(_linear(3, 2))
    check_gradients(model, data)
    check_list_gradients(model, [data[:2], data[2:]])
    check_ragged_gradients(model, data, [4, 1])


def test_with_array_infers_dims():
    model = with_array(Linear())
    X = [numpy.ones((2, 4), dtype="f"), numpy.ones((1, 4), dtype="f")]
    Y = [numpy.ones((2, 3), dtype="f"), numpy.ones((1, 3), dtype="f")]
    model.initialize(X=X, Y=Y)
    assert model.get_dim("nI") == 4 and model.get_dim("nO") == 3
    assert model.layers[0].get_param("W").shape == (3, 4)


def test_with_array_serialization_round_trip():
    model = with_array(_linear(3, 2), pad=1)
    other = with_array(Linear(3, 2), pad=1).initialize().from_bytes(model.to_bytes())
    data = _data()
    numpy.testing.assert_allclose(other.predict(data), model.predict(data))


def test_with_array_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "with_array.v1"
        pad = 2

        [model.layer]
        @layers = "Linear.v1"
        nO = 3
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "with_array(linear)" and model.attrs["pad"] == 2


def test_with_array_bad_input():
    with pytest.raises(TypeError, match="with_array"):
        with_array(_linear()).predict({"a": 1})
    with pytest.raises(TypeError, match="with_array"):
        with_array("nope")  # type: ignore[arg-type]


@pytest.mark.ref
def test_with_array_ragged_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_array(Linear(3, 2))",
        "Ragged(numpy.linspace(0, 1, 10, dtype='f').reshape(5, 2), numpy.asarray([2, 3], dtype='i'))",
    )
