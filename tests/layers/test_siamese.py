import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.siamese import siamese
from thinc.model import Model

from ..util import check_gradients


def _dot_similarity() -> Model:
    """Row-wise dot product of the two encodings, as a (n, 1) column."""

    def forward(model, pair, is_train):
        A, B = pair
        Y = (A * B).sum(axis=1, keepdims=True)

        def backprop(dY):
            return dY * B, dY * A

        return Y, backprop

    return Model("dot", forward, dims={"nO": 1})


def _encoder(seed=0):
    model = Linear(2, 3).initialize()
    rng = numpy.random.default_rng(seed)
    model.set_param("W", rng.uniform(-1, 1, (2, 3)).astype("f"))
    return model


def _pair_model(model: Model) -> Model:
    """Test adapter: one array holding both inputs side by side."""

    def forward(outer, X, is_train):
        Y, backprop = model((X[:, :3], X[:, 3:]), is_train)

        def backprop_joined(dY):
            d1, d2 = backprop(dY)
            return numpy.hstack([d1, d2])

        return Y, backprop_joined

    return Model("pair", forward, layers=[model])


def test_siamese_shares_encoder():
    encoder = _encoder()
    model = siamese(encoder, _dot_similarity())
    assert model.name == "siamese(linear, dot)"
    assert model.get_dim("nI") == 3 and model.get_dim("nO") == 1
    rng = numpy.random.default_rng(1)
    X1 = rng.uniform(-1, 1, (4, 3)).astype("f")
    X2 = rng.uniform(-1, 1, (4, 3)).astype("f")
    Y, backprop = model.begin_update((X1, X2))
    expected = (encoder.predict(X1) * encoder.predict(X2)).sum(axis=1, keepdims=True)
    numpy.testing.assert_allclose(Y, expected, rtol=1e-5)
    dX1, dX2 = backprop(numpy.ones_like(Y))
    assert dX1.shape == X1.shape and dX2.shape == X2.shape


def test_siamese_gradients():
    model = siamese(_encoder(), _dot_similarity())
    X = numpy.random.default_rng(2).uniform(-1, 1, (3, 6)).astype("f")
    check_gradients(_pair_model(model), X)


def test_siamese_init_without_samples():
    model = siamese(Linear(2, 3), _dot_similarity())
    model.initialize()
    assert model.layers[0].has_param("W")
    X = numpy.ones((1, 3), dtype="f")
    assert model.predict((X, X)).shape == (1, 1)


def test_siamese_init_and_serialization():
    model = siamese(Linear(2, 3), _dot_similarity())
    X = numpy.ones((2, 3), dtype="f")
    model.initialize(X=(X, X))
    assert model.layers[0].has_param("W")
    other = siamese(Linear(2, 3), _dot_similarity())
    other.initialize(X=(X, X))
    other.from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.predict((X, X * 2)), model.predict((X, X * 2)))


def test_siamese_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "siamese.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 3

        [model.similarity]
        @layers = "Linear.v1"
        nO = 1
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "siamese(linear, linear)"
    assert model.get_dim("nO") == 1


def test_siamese_bad_input():
    model = siamese(_encoder(), _dot_similarity())
    with pytest.raises(TypeError, match="pair"):
        model.predict(numpy.ones((2, 3), dtype="f"))
    with pytest.raises(ValueError):
        # Like thinc 8.3.14, the encoder's nI must be known up front.
        siamese(Linear(), _dot_similarity())


@pytest.mark.ref
def test_siamese_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "siamese(Linear(2, 3), CauchySimilarity(2))",
        "(numpy.linspace(-1, 1, 12, dtype='f').reshape(4, 3), numpy.ones((4, 3), dtype='f'))",
    )
