import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.layers.linear import Linear
from thinc.layers.with_array import with_array
from thinc.layers.with_ragged import with_ragged
from thinc.model import Model
from thinc.types import Padded, Ragged

from ._sequences import (
    check_infers_dims_and_serializes,
    check_list_gradients,
    check_ragged_gradients,
    resolve_wrapped_linear,
)

OPS = NumpyOps()


def _ragged_only(inner: Model) -> Model:
    def forward(model, Xr, is_train):
        assert isinstance(Xr, Ragged), type(Xr)
        return inner(Xr, is_train)

    return Model("ragged_only", forward, layers=[inner])


def _model(seed=0):
    linear = Linear(3, 2).initialize()
    rng = numpy.random.default_rng(seed)
    linear.set_param("W", rng.uniform(-1, 1, (3, 2)).astype("f"))
    return with_ragged(_ragged_only(with_array(linear))), linear


def _data(seed=0):
    return numpy.random.default_rng(seed).uniform(-1, 1, (5, 2)).astype("f")


def test_with_ragged_input_kinds():
    model, linear = _model()
    assert model.name == "with_ragged(ragged_only)"
    data = _data()
    expected = linear.predict(data)
    Ys, backprop = model.begin_update([data[:2], data[2:]])
    numpy.testing.assert_allclose(numpy.vstack(Ys), expected, rtol=1e-6)
    assert [dX.shape for dX in backprop(Ys)] == [(2, 2), (3, 2)]
    lengths = numpy.asarray([2, 3], dtype="i")
    Yt, backprop = model.begin_update((data, lengths))
    assert isinstance(Yt, tuple) and len(Yt) == 2
    numpy.testing.assert_allclose(Yt[0], expected, rtol=1e-6)
    assert isinstance(backprop(Yt), tuple)
    Xp = OPS.list2padded([data[:2], data[2:]])
    Yp, backprop = model.begin_update(Xp)
    assert isinstance(Yp, Padded)
    numpy.testing.assert_allclose(OPS.padded2list(Yp)[1], expected[2:], rtol=1e-6)
    assert isinstance(backprop(Yp), Padded)


def test_with_ragged_gradients():
    model, _ = _model(1)
    data = _data(1)
    check_list_gradients(model, [data[:3], data[3:]])
    check_ragged_gradients(model, data, [4, 1])


def test_with_ragged_infers_dims_and_serializes():
    check_infers_dims_and_serializes(lambda linear: with_ragged(with_array(linear)))


def test_with_ragged_from_config():
    model = resolve_wrapped_linear("with_ragged.v1", "with_array.v1")
    assert model.name == "with_ragged(with_array(linear))"


def test_with_ragged_reads_a_3d_array_as_a_list():
    # thinc 8.3 iterates a 3d array as a list of 2d sequences; lists come back.
    model = with_ragged(with_array(Linear(2, 3).initialize()))
    X = numpy.arange(12, dtype="f").reshape(2, 2, 3)
    Ys, backprop = model.begin_update(X)
    expected = model.predict([X[0], X[1]])
    assert isinstance(Ys, list) and len(Ys) == 2
    numpy.testing.assert_allclose(Ys[1], expected[1])
    dXs = backprop(Ys)
    assert [dX.shape for dX in dXs] == [(2, 3), (2, 3)]
    model.initialize(X=X)


def test_with_ragged_bad_input():
    model, _ = _model()
    with pytest.raises(TypeError, match="with_ragged"):
        model.predict(numpy.ones((2, 2), dtype="f"))


@pytest.mark.ref
def test_with_ragged_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_ragged(with_array(Linear(3, 2)))",
        "[numpy.ones((2, 2), dtype='f'), numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2)]",
    )
