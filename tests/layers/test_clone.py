import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.clone import clone
from thinc.layers.linear import Linear

from ..util import check_gradients


def test_clone_chains_independent_copies():
    orig = Linear(2, 2)
    model = clone(orig, 3)
    assert model.name == "linear>>linear>>linear"
    assert model.layers[0] is orig
    assert len({layer.id for layer in model.layers}) == 3
    model.initialize()
    X = numpy.asarray([[1.0, -2.0]], dtype="f")
    expected = X
    for layer in model.layers:
        expected = expected @ layer.get_param("W").T + layer.get_param("b")
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5)
    # Copies own their weights: changing one leaves the others alone.
    model.layers[1].set_param("W", numpy.zeros((2, 2), dtype="f"))
    assert model.layers[2].get_param("W").any()


def test_clone_edge_counts():
    orig = Linear(2, 2)
    assert clone(orig, 1) is orig
    empty = clone(orig, 0)
    assert empty.name == "noop"
    X = numpy.ones((1, 2), dtype="f")
    assert empty.predict(X) is X


def test_clone_gradients():
    model = clone(Linear(2, 2), 2).initialize()
    check_gradients(model, numpy.random.default_rng(0).uniform(-1, 1, (3, 2)).astype("f"))


def test_clone_infers_dims():
    model = clone(Linear(), 2)
    model.initialize(X=numpy.ones((3, 2), dtype="f"), Y=numpy.ones((3, 2), dtype="f"))
    assert [layer.get_dim("nI") for layer in model.layers] == [2, 2]


def test_clone_serialization_round_trip():
    model = clone(Linear(2, 2), 2).initialize()
    other = clone(Linear(2, 2), 2).initialize()
    other.from_bytes(model.to_bytes())
    X = numpy.ones((1, 2), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))


def test_clone_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "clone.v1"
        n = 2

        [model.orig]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "linear>>linear"


def test_clone_bad_input():
    with pytest.raises(ValueError, match="clone"):
        clone(Linear(2, 2), -1)
    with pytest.raises(TypeError, match="clone"):
        clone("nope", 2)  # type: ignore[arg-type]


@pytest.mark.ref
def test_clone_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "clone(Linear(2, 2), 3)", "numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2)"
    )
