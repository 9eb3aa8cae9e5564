import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.tuplify import tuplify
from thinc.model import Model

from ..util import check_gradients
from ._params import with_random_params


def _linear(nO, nI, seed):
    return with_random_params(Linear(nO, nI), seed)


def _joined(model: Model) -> Model:
    """Test adapter: hstack the tuple output for check_gradients."""

    def forward(outer, X, is_train):
        Ys, backprop = model(X, is_train)
        widths = [Y.shape[1] for Y in Ys]

        def backprop_joined(dY):
            return backprop(tuple(numpy.split(dY, numpy.cumsum(widths)[:-1], axis=1)))

        return numpy.hstack(Ys), backprop_joined

    return Model("joined", forward, layers=[model])


def test_tuplify_outputs_tuple():
    a, b = _linear(2, 3, 0), _linear(4, 3, 1)
    model = tuplify(a, b)
    assert model.name == "tuple(linear, linear)"
    X = numpy.ones((2, 3), dtype="f")
    Ys = model.predict(X)
    assert isinstance(Ys, tuple) and len(Ys) == 2
    numpy.testing.assert_allclose(Ys[0], a.predict(X))
    numpy.testing.assert_allclose(Ys[1], b.predict(X))
    assert len(tuplify(a, b, _linear(1, 3, 2)).layers) == 3


def test_tuplify_gradients():
    model = tuplify(_linear(2, 3, 0), _linear(4, 3, 1))
    X = numpy.random.default_rng(0).uniform(-1, 1, (2, 3)).astype("f")
    check_gradients(_joined(model), X)


def test_tuplify_infers_dims():
    model = tuplify(Linear(3), Linear(2))
    model.initialize(X=numpy.ones((3, 2), dtype="f"))
    assert model.get_dim("nI") == 2
    assert [(layer.get_dim("nI"), layer.get_dim("nO")) for layer in model.layers] == [
        (2, 3),
        (2, 2),
    ]
    model = tuplify(Linear(), Linear())
    X = numpy.ones((3, 2), dtype="f")
    model.initialize(X=X, Y=(numpy.ones((3, 4), dtype="f"), numpy.ones((3, 5), dtype="f")))
    assert [layer.get_dim("nO") for layer in model.layers] == [4, 5]
    # A shorter Y sizes only the first layers (as in thinc 8.3.14).
    model = tuplify(Linear(), Linear(3))
    model.initialize(X=X, Y=(numpy.ones((3, 4), dtype="f"),))
    assert [layer.get_dim("nO") for layer in model.layers] == [4, 3]
    model = tuplify(Linear(4, 2), Linear(5, 2))
    model.initialize()
    assert model.get_dim("nI") == 2


def test_tuplify_serialization_round_trip():
    model = tuplify(Linear(2, 3), Linear(4, 3)).initialize()
    other = tuplify(Linear(2, 3), Linear(4, 3)).initialize().from_bytes(model.to_bytes())
    X = numpy.ones((1, 3), dtype="f")
    for got, want in zip(other.predict(X), model.predict(X)):
        numpy.testing.assert_allclose(got, want)


def test_tuplify_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "tuplify.v1"

        [model.layer1]
        @layers = "Linear.v1"
        nO = 2
        nI = 3

        [model.layer2]
        @layers = "Linear.v1"
        nO = 4
        nI = 3

        # Like thinc 8.3.14, the *layers argument needs a (here empty) section.
        [model.*]
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "tuple(linear, linear)"


def test_tuplify_bad_input():
    with pytest.raises(TypeError, match="tuplify"):
        tuplify(Linear(2, 2), "x")  # type: ignore[arg-type]
    model = tuplify(_linear(2, 3, 0), _linear(4, 3, 1))
    _, backprop = model.begin_update(numpy.ones((1, 3), dtype="f"))
    with pytest.raises(ValueError, match="tuplify"):
        backprop((numpy.ones((1, 2), dtype="f"),))
    with pytest.raises(ValueError, match="tuplify"):
        model.initialize(X=numpy.ones((1, 3), dtype="f"), Y=(None, None, None))


@pytest.mark.ref
def test_tuplify_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "tuplify(Linear(3, 2), Linear(1, 2))", "numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2)"
    )
