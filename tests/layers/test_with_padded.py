import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.layers.linear import Linear
from thinc.layers.with_array2d import with_array2d
from thinc.layers.with_padded import with_padded
from thinc.model import Model
from thinc.types import Padded, Ragged

from ._sequences import (
    check_infers_dims_and_serializes,
    check_list_gradients,
    check_ragged_gradients,
    resolve_wrapped_linear,
)

OPS = NumpyOps()


def _padded_only(inner: Model) -> Model:
    """Toy Padded layer: a running sum over time, then ``inner`` per step."""

    def forward(model, Xp, is_train):
        assert isinstance(Xp, Padded), type(Xp)
        summed = Padded(Xp.data.cumsum(axis=0), Xp.size_at_t, Xp.lengths, Xp.indices)
        Yp, backprop_inner = inner(summed, is_train)

        def backprop(dYp):
            d_summed = backprop_inner(dYp)
            dX = d_summed.data[::-1].cumsum(axis=0)[::-1].copy()
            return Padded(dX, dYp.size_at_t, dYp.lengths, dYp.indices)

        return Yp, backprop

    return Model("running", forward, layers=[inner])


def _model(seed=0):
    linear = Linear(3, 2).initialize()
    rng = numpy.random.default_rng(seed)
    linear.set_param("W", rng.uniform(-1, 1, (3, 2)).astype("f"))
    return with_padded(_padded_only(with_array2d(linear))), linear


def _data(seed=0):
    return numpy.random.default_rng(seed).uniform(-1, 1, (5, 2)).astype("f")


def _expected(linear, seqs):
    return [linear.predict(seq.cumsum(axis=0)) for seq in seqs]


def test_with_padded_list_and_ragged():
    model, linear = _model()
    assert model.name == "with_padded(running)"
    data = _data()
    seqs = [data[:2], data[2:]]
    Ys = model.predict(seqs)
    for Y, want in zip(Ys, _expected(linear, seqs)):
        numpy.testing.assert_allclose(Y, want, rtol=1e-5)
    Yr = model.predict(Ragged(data, numpy.asarray([2, 3], dtype="i")))
    assert isinstance(Yr, Ragged)
    numpy.testing.assert_allclose(Yr.dataXd, numpy.vstack(_expected(linear, seqs)), rtol=1e-5)


def test_with_padded_tuple_and_array():
    model, linear = _model()
    data = _data()
    Xp = OPS.list2padded([data[:2], data[2:]])
    Yt, backprop = model.begin_update((Xp.data, Xp.size_at_t, Xp.lengths, Xp.indices))
    assert isinstance(Yt, tuple) and len(Yt) == 4
    dXt = backprop(Yt)
    assert isinstance(dXt, tuple) and dXt[0].shape == Xp.data.shape
    block = data[:4].reshape(2, 2, 2)
    Y, backprop = model.begin_update(block)
    assert Y.shape == (2, 2, 3)
    numpy.testing.assert_allclose(Y[:, 1], linear.predict(block[:, 1].cumsum(axis=0)), rtol=1e-5)
    assert backprop(Y).shape == block.shape


def test_with_padded_gradients():
    model, _ = _model(1)
    data = _data(1)
    check_list_gradients(model, [data[:3], data[3:]])
    check_ragged_gradients(model, data, [1, 4])


def test_with_padded_infers_dims_and_serializes():
    check_infers_dims_and_serializes(lambda linear: with_padded(with_array2d(linear)))


def test_with_padded_from_config():
    model = resolve_wrapped_linear("with_padded.v1", "with_array2d.v1")
    assert model.name == "with_padded(with_array(linear))"


def test_with_padded_bad_input():
    model, _ = _model()
    with pytest.raises(TypeError, match="with_padded"):
        model.predict("text")
    with pytest.raises(ValueError, match="3d"):
        model.predict(numpy.ones((2, 2), dtype="f"))


@pytest.mark.ref
def test_with_padded_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_padded(with_array2d(Linear(3, 2)))",
        "[numpy.ones((2, 2), dtype='f'), numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2)]",
    )
