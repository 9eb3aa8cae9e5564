import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.residual import residual
from thinc.layers.with_array import with_array
from thinc.layers.with_array2d import with_array2d
from thinc.types import Padded, Ragged

from ..util import check_gradients
from ._params import with_random_params

OPS = NumpyOps()


def _linear(seed=0, n=3):
    return with_random_params(Linear(n, n), seed)


def test_residual_adds_input():
    inner = _linear()
    model = residual(inner)
    assert model.name == "residual(linear)"
    assert model.get_dim("nO") == 3 and model.get_dim("nI") == 3
    X = numpy.asarray([[1.0, 0.0, -1.0]], dtype="f")
    expected = X + X @ inner.get_param("W").T + inner.get_param("b")
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5)


def test_residual_gradients_array_list_ragged():
    rng = numpy.random.default_rng(0)
    X = rng.uniform(-1, 1, (4, 3)).astype("f")
    check_gradients(residual(_linear()), X)
    Xs = [X[:3], X[3:]]
    check_gradients(
        residual(with_array(_linear())),
        Xs,
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: list(X),
    )
    Xr = Ragged(X, numpy.asarray([1, 3], dtype="i"))
    check_gradients(
        residual(with_array(_linear())),
        Xr,
        to_array=lambda Y: Y.dataXd,
        input_arrays=lambda X: [X.dataXd],
    )


def test_residual_padded():
    inner = _linear()
    model = residual(with_array2d(inner))
    X = [numpy.ones((2, 3), dtype="f"), numpy.ones((1, 3), dtype="f")]
    Xp = OPS.list2padded(X)
    Yp, backprop = model.begin_update(Xp)
    assert isinstance(Yp, Padded)
    expected = 1 + numpy.ones((1, 3)) @ inner.get_param("W").T + inner.get_param("b")
    numpy.testing.assert_allclose(Yp.data[0, 0], expected[0], rtol=1e-5)
    dXp = backprop(Padded(numpy.ones_like(Yp.data), Yp.size_at_t, Yp.lengths, Yp.indices))
    numpy.testing.assert_allclose(dXp.data[0, 0], 1 + inner.get_param("W").sum(axis=0), rtol=1e-5)


def test_residual_infers_dims():
    model = residual(Linear())
    assert model.maybe_get_dim("nO") is None
    model.initialize(X=numpy.ones((2, 4), dtype="f"), Y=numpy.ones((2, 4), dtype="f"))
    assert model.get_dim("nO") == 4 and model.get_dim("nI") == 4


def test_residual_serialization_round_trip():
    model = residual(_linear(1))
    other = residual(Linear(3, 3)).initialize().from_bytes(model.to_bytes())
    X = numpy.ones((2, 3), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_residual_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "residual.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 3
        nI = 3
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "residual(linear)"


def test_residual_bad_input():
    model = residual(Linear(2, 3).initialize())
    with pytest.raises(ValueError, match="residual"):
        model.predict(numpy.ones((2, 3), dtype="f"))
    with pytest.raises(TypeError, match="residual"):
        residual(None)  # type: ignore[arg-type]


@pytest.mark.ref
def test_residual_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "residual(Linear(2, 2))", "numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2)"
    )
