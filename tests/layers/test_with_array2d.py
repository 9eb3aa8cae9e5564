import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.chain import chain
from thinc.layers.linear import Linear
from thinc.layers.with_array2d import with_array2d
from thinc.types import Padded, Ragged

from ..util import check_gradients
from ._params import with_random_params
from ._sequences import padded_data

OPS = NumpyOps()


def _linear(nO=3, nI=2, seed=0):
    return with_random_params(Linear(nO, nI), seed)


def _data(seed=0):
    return numpy.random.default_rng(seed).uniform(-1, 1, (5, 2)).astype("f")


def test_with_array2d_name_and_dims():
    model = with_array2d(Linear(3, 2), pad=1)
    # thinc 8.3.14 names it like with_array.
    assert model.name == "with_array(linear)"
    assert model.attrs == {"pad": 1}
    assert model.get_dim("nO") == 3


def test_with_array2d_all_input_kinds():
    inner = _linear()
    model = with_array2d(inner)
    data = _data()
    expected = inner.predict(data)
    numpy.testing.assert_allclose(model.predict(data), expected)
    numpy.testing.assert_allclose(
        numpy.vstack(model.predict([data[:1], data[1:]])), expected, rtol=1e-6
    )
    Yr = model.predict(Ragged(data, numpy.asarray([1, 4], dtype="i")))
    numpy.testing.assert_allclose(Yr.dataXd, expected, rtol=1e-6)
    Xp = OPS.list2padded([data[:3], data[3:]])
    Yp = model.predict(Xp)
    assert isinstance(Yp, Padded) and Yp.data.shape == (3, 2, 3)
    numpy.testing.assert_allclose(Yp.data[:, 0], inner.predict(data[:3]), rtol=1e-6)


def test_with_array2d_gradients():
    data = _data(1)
    model = with_array2d(_linear())
    check_gradients(
        model,
        [data[:2], data[2:]],
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: list(X),
    )
    Xp = OPS.list2padded([data[:3], data[3:]])
    check_gradients(chain(model, padded_data()), Xp, input_arrays=lambda X: [X.data])


def test_with_array2d_infers_dims_from_padded():
    model = with_array2d(Linear())
    Xp = OPS.list2padded([numpy.ones((2, 4), dtype="f"), numpy.ones((1, 4), dtype="f")])
    Yp = OPS.list2padded([numpy.ones((2, 3), dtype="f"), numpy.ones((1, 3), dtype="f")])
    model.initialize(X=Xp, Y=Yp)
    assert model.get_dim("nI") == 4 and model.get_dim("nO") == 3


def test_with_array2d_serialization_round_trip():
    model = with_array2d(_linear())
    other = with_array2d(Linear(3, 2)).initialize().from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict(_data()), model.predict(_data()))


def test_with_array2d_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "with_array2d.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 3
        nI = 2
        """
    )
    assert registry.resolve(config)["model"].name == "with_array(linear)"


def test_with_array2d_bad_input():
    model = with_array2d(_linear())
    with pytest.raises(TypeError, match="with_array2d"):
        model.predict(numpy.ones((2, 2, 2), dtype="f"))
    with pytest.raises(TypeError, match="with_array2d"):
        model.predict([numpy.ones((2,), dtype="f")])


@pytest.mark.ref
def test_with_array2d_padded_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_array2d(Linear(3, 2))",
        "OPS.list2padded([numpy.ones((2, 2), dtype='f'), numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2)])",
    )


@pytest.mark.parametrize("shape", [(0, 0, 0), (0, 0, 4), (3, 2, 0)])
def test_padded_without_elements_passes_through(shape):
    # numpy cannot reshape to (-1, 0) or infer -1 for an empty array; thinc
    # 8.3.14 takes an empty Padded (ops.list2padded([])) through with_array2d.
    from thinc.layers.noop import noop

    n_steps, n_sequences, _ = shape
    Xp = Padded(
        numpy.zeros(shape, "f"),
        numpy.full((n_steps,), n_sequences, "i"),
        numpy.full((n_sequences,), n_steps, "i"),
        numpy.arange(n_sequences, dtype="i"),
    )
    for model in (with_array2d(noop()), with_array2d(Linear(5, shape[2]))):
        model.initialize(X=Xp)
        Yp, backprop = model.begin_update(Xp)
        width = model.layers[0].get_dim("nO") if model.layers[0].has_dim("nO") else shape[2]
        assert isinstance(Yp, Padded) and Yp.data.shape == (n_steps, n_sequences, width)
        dXp = backprop(Padded(Yp.data + 1, Yp.size_at_t, Yp.lengths, Yp.indices))
        assert dXp.data.shape == shape
    empty = OPS.list2padded([])
    Yp, backprop = with_array2d(noop()).begin_update(empty)
    assert Yp.data.shape == (0, 0, 0) and backprop(Yp).data.shape == (0, 0, 0)
