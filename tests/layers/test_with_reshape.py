import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.with_reshape import with_reshape

from ..util import check_gradients


def _linear(nO=3, nI=2):
    model = Linear(nO, nI).initialize()
    model.set_param("b", numpy.arange(nO, dtype="f"))
    return model


def test_with_reshape_folds_leading_axes():
    inner = _linear()
    model = with_reshape(inner)
    assert model.name == "with_reshape(linear)"
    assert model.maybe_get_dim("nO") is None
    X = numpy.random.default_rng(0).uniform(-1, 1, (2, 4, 2)).astype("f")
    Y, backprop = model.begin_update(X)
    assert Y.shape == (2, 4, 3)
    numpy.testing.assert_allclose(Y.reshape(-1, 3), inner.predict(X.reshape(-1, 2)), rtol=1e-6)
    assert backprop(Y).shape == X.shape


def test_with_reshape_any_rank():
    model = with_reshape(_linear())
    assert model.predict(numpy.ones((4, 2), dtype="f")).shape == (4, 3)
    assert model.predict(numpy.ones((2, 2, 2, 2), dtype="f")).shape == (2, 2, 2, 3)


@pytest.mark.parametrize("shape", [(0, 3, 2), (2, 0, 2), (0, 0, 2), (2, 3, 0)])
def test_with_reshape_empty_axes(shape):
    # thinc 8.3.14's reshape to (-1, width) raises for these; the layer's
    # answer is an empty output of the right shape and a zero gradient.
    inner = Linear(3, shape[-1]).initialize()
    Y, backprop = with_reshape(inner).begin_update(numpy.zeros(shape, dtype="f"))
    assert Y.shape == shape[:-1] + (3,)
    if Y.size:
        numpy.testing.assert_array_equal(Y, numpy.broadcast_to(inner.get_param("b"), Y.shape))
    dX = backprop(numpy.ones_like(Y))
    assert dX.shape == shape and not dX.any()


def test_with_reshape_gradients():
    X = numpy.random.default_rng(1).uniform(-1, 1, (2, 3, 2)).astype("f")
    check_gradients(with_reshape(_linear()), X)


def test_with_reshape_infers_dims_and_serializes():
    model = with_reshape(Linear())
    model.initialize(X=numpy.ones((2, 3, 4), dtype="f"), Y=numpy.ones((2, 3, 5), dtype="f"))
    assert model.get_dim("nI") == 4 and model.get_dim("nO") == 5
    other = with_reshape(Linear(5, 4)).initialize().from_bytes(model.to_bytes())
    X = numpy.ones((1, 2, 4), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_with_reshape_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "with_reshape.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    assert registry.resolve(config)["model"].name == "with_reshape(linear)"


def test_with_reshape_bad_input():
    model = with_reshape(_linear())
    with pytest.raises(ValueError, match="with_reshape"):
        model.predict(numpy.ones((3,), dtype="f"))
    Y, backprop = model.begin_update(numpy.ones((2, 2, 2), dtype="f"))
    with pytest.raises(ValueError, match="with_reshape"):
        backprop(numpy.ones((4, 3), dtype="f"))


@pytest.mark.ref
def test_with_reshape_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_reshape(Linear(3, 2))", "numpy.linspace(-1, 1, 12, dtype='f').reshape(2, 3, 2)"
    )
