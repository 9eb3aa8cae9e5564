import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.concatenate import concatenate
from thinc.layers.linear import Linear
from thinc.layers.with_array import with_array
from thinc.layers.with_array2d import with_array2d
from thinc.types import Padded, Ragged

from ..util import check_gradients
from ._params import with_random_params

OPS = NumpyOps()


def _linear(nO, nI, seed):
    return with_random_params(Linear(nO, nI), seed)


def _apply(layer, X):
    return X @ layer.get_param("W").T + layer.get_param("b")


def test_concatenate_arrays():
    a, b = _linear(3, 2, 0), _linear(1, 2, 1)
    model = concatenate(a, b)
    assert model.name == "linear|linear"
    X = numpy.asarray([[1.0, 2.0], [0.0, -1.0]], dtype="f")
    Y = model.predict(X)
    assert Y.shape == (2, 4)
    numpy.testing.assert_allclose(Y, numpy.hstack([_apply(a, X), _apply(b, X)]), rtol=1e-5)


def test_concatenate_construction_rules():
    a, b, c = Linear(3, 2), Linear(4, 2), Linear(1)
    assert concatenate().name == "noop"
    assert concatenate(a) is a
    nested = concatenate(concatenate(a, b), c)
    assert nested.name == "linear|linear"
    assert len(nested.layers) == 3
    assert nested.dim_names == ("nO", "nI")


def test_concatenate_gradients_array():
    model = concatenate(_linear(3, 2, 0), _linear(2, 2, 1))
    check_gradients(model, numpy.random.default_rng(0).uniform(-1, 1, (4, 2)).astype("f"))


def test_concatenate_lists():
    a, b = _linear(2, 2, 0), _linear(3, 2, 1)
    model = concatenate(with_array(a), with_array(b))
    X = [numpy.ones((3, 2), dtype="f"), numpy.arange(4, dtype="f").reshape(2, 2)]
    Ys, backprop = model.begin_update(X)
    assert [Y.shape for Y in Ys] == [(3, 5), (2, 5)]
    numpy.testing.assert_allclose(
        Ys[1], numpy.hstack([_apply(a, X[1]), _apply(b, X[1])]), rtol=1e-5
    )
    dXs = backprop([numpy.ones_like(Y) for Y in Ys])
    # One gradient per input sequence, the children's contributions summed.
    assert [dX.shape for dX in dXs] == [(3, 2), (2, 2)]
    expected = numpy.ones((1, 2)) @ a.get_param("W") + numpy.ones((1, 3)) @ b.get_param("W")
    numpy.testing.assert_allclose(dXs[0], numpy.repeat(expected, 3, axis=0), rtol=1e-5)
    check_gradients(
        model, X, to_array=lambda Y: numpy.concatenate(Y), input_arrays=lambda X: list(X)
    )


def test_concatenate_ragged_and_padded():
    model = concatenate(with_array2d(_linear(2, 2, 0)), with_array2d(_linear(1, 2, 1)))
    data = numpy.random.default_rng(0).uniform(-1, 1, (5, 2)).astype("f")
    Xr = Ragged(data, numpy.asarray([2, 3], dtype="i"))
    Yr = model.predict(Xr)
    assert isinstance(Yr, Ragged) and Yr.dataXd.shape == (5, 3)
    check_gradients(model, Xr, to_array=lambda Y: Y.dataXd, input_arrays=lambda X: [X.dataXd])
    Xp = OPS.list2padded([data[:2], data[2:]])
    Yp, backprop = model.begin_update(Xp)
    assert isinstance(Yp, Padded) and Yp.data.shape == (3, 2, 3)
    dXp = backprop(Padded(numpy.ones_like(Yp.data), Yp.size_at_t, Yp.lengths, Yp.indices))
    assert isinstance(dXp, Padded) and dXp.data.shape == Xp.data.shape


def test_concatenate_infers_dims():
    model = concatenate(Linear(3), Linear(4))
    model.initialize(X=numpy.ones((2, 5), dtype="f"))
    assert model.get_dim("nI") == 5
    assert model.get_dim("nO") == 7
    # thinc 8.3.14 passes Y to every child, so each gets Y's width.
    model = concatenate(Linear(), Linear())
    model.initialize(X=numpy.ones((3, 2), dtype="f"), Y=numpy.ones((3, 4), dtype="f"))
    assert model.get_dim("nO") == 8


def test_concatenate_serialization_round_trip():
    model = concatenate(Linear(3, 2), Linear(4, 2)).initialize()
    other = concatenate(Linear(3, 2), Linear(4, 2)).initialize()
    other.from_bytes(model.to_bytes())
    X = numpy.ones((2, 2), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_concatenate_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "concatenate.v1"

        [model.*.first]
        @layers = "Linear.v1"
        nO = 3
        nI = 2

        [model.*.second]
        @layers = "Linear.v1"
        nO = 1
        nI = 2
        """
    )
    model = registry.resolve(config)["model"].initialize()
    assert model.predict(numpy.ones((2, 2), dtype="f")).shape == (2, 4)


def test_concatenate_bad_input():
    with pytest.raises(TypeError, match="concatenate"):
        concatenate(Linear(2, 2), 3)  # type: ignore[arg-type]
    model = concatenate(_linear(2, 2, 0), _linear(2, 2, 1))
    Y, backprop = model.begin_update(numpy.ones((2, 2), dtype="f"))
    with pytest.raises(ValueError, match="concatenate"):
        backprop(numpy.ones((3, 4), dtype="f"))


@pytest.mark.ref
def test_concatenate_lists_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "concatenate(with_array(Linear(3, 2)), with_array(Linear(1, 2)))",
        "[numpy.ones((2, 2), dtype='f'), numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2)]",
    )


def test_concatenate_without_children_is_identity():
    model = concatenate(Linear(), Linear())
    model.layers.clear()
    X = numpy.asarray([[1, 2, 3, 4]], dtype="f")
    Y, backprop = model(X, is_train=True)
    assert Y is X
    assert backprop(Y) is Y


def _scale(factor: float):
    from thinc.model import Model

    return Model(f"scale{factor}", lambda model, X, is_train: (X * factor, lambda dY: dY * factor))


def test_concatenate_joins_like_hstack():
    # thinc 8.3.14 joins array outputs along axis 1 (numpy.hstack), whatever the rank.
    model = concatenate(_scale(1.0), _scale(2.0))
    X = numpy.arange(8, dtype="f").reshape(2, 2, 2)
    Y, backprop = model.begin_update(X)
    assert Y.shape == (2, 4, 2)
    numpy.testing.assert_allclose(Y[:, 2:], X * 2)
    numpy.testing.assert_allclose(backprop(numpy.ones_like(Y)), numpy.full(X.shape, 3.0))
    vectors = model.predict(numpy.ones((3,), dtype="f"))
    assert vectors.tolist() == [1, 1, 1, 2, 2, 2]
    Xr = Ragged(numpy.ones((3, 2, 2), dtype="f"), numpy.asarray([1, 2], dtype="i"))
    Yr, backprop = with_array(model).begin_update(Xr)
    assert Yr.dataXd.shape == (3, 4, 2)
    Yr, backprop = concatenate(with_array(_scale(1.0)), with_array(_scale(2.0))).begin_update(Xr)
    # Ragged children are joined on their 2d views, as in thinc 8.3.14.
    assert Yr.dataXd.shape == (3, 8)
    assert backprop(Yr).dataXd.shape == (3, 2, 2)
