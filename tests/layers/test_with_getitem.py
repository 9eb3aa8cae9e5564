import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.with_getitem import with_getitem
from thinc.model import Model

from ..util import check_gradients


def _second_only(model: Model) -> Model:
    """Test adapter: feed (constant, X) and expose only element 1 of the output."""
    constant = numpy.full((2, 1), 7.0, dtype="f")

    def forward(outer, X, is_train):
        Ys, backprop = model((constant, X), is_train)
        assert Ys[0] is constant

        def backprop_second(dY):
            return backprop((numpy.zeros_like(constant), dY))[1]

        return Ys[1], backprop_second

    return Model("second", forward, layers=[model])


def test_with_getitem_applies_to_one_element():
    inner = Linear(3, 2).initialize()
    model = with_getitem(1, inner)
    assert model.name == "with_getitem(linear)"
    assert model.attrs == {"idx": 1}
    X0 = numpy.zeros((2, 5), dtype="f")
    X1 = numpy.ones((2, 2), dtype="f")
    Ys, backprop = model.begin_update((X0, X1, "extra"))
    assert Ys[0] is X0 and Ys[2] == "extra"
    numpy.testing.assert_allclose(Ys[1], inner.predict(X1))
    dXs = backprop((X0, numpy.ones((2, 3), dtype="f"), None))
    assert dXs[0] is X0 and dXs[2] is None and dXs[1].shape == (2, 2)


def test_with_getitem_negative_index():
    model = with_getitem(-1, Linear(3, 2).initialize())
    Ys = model.predict(("a", numpy.ones((1, 2), dtype="f")))
    assert len(Ys) == 2 and Ys[0] == "a" and Ys[1].shape == (1, 3)


def test_with_getitem_gradients():
    model = with_getitem(1, Linear(3, 2).initialize())
    check_gradients(
        _second_only(model), numpy.random.default_rng(0).uniform(-1, 1, (2, 2)).astype("f")
    )


def test_with_getitem_infers_dims_and_serializes():
    model = with_getitem(0, Linear())
    model.initialize(X=(numpy.ones((2, 4), dtype="f"),), Y=(numpy.ones((2, 3), dtype="f"),))
    assert model.layers[0].get_param("W").shape == (3, 4)
    other = with_getitem(0, Linear(3, 4)).initialize().from_bytes(model.to_bytes())
    assert other.attrs["idx"] == 0
    X = (numpy.ones((1, 4), dtype="f"),)
    numpy.testing.assert_allclose(other.predict(X)[0], model.predict(X)[0])


def test_with_getitem_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "with_getitem.v1"
        idx = 1

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.attrs["idx"] == 1


def test_with_getitem_bad_input():
    model = with_getitem(3, Linear(2, 2).initialize())
    with pytest.raises(IndexError, match="with_getitem"):
        model.predict((numpy.ones((1, 2), dtype="f"),))
    with pytest.raises(TypeError, match="tuple"):
        model.predict([numpy.ones((1, 2), dtype="f")])


@pytest.mark.ref
def test_with_getitem_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "with_getitem(1, Linear(3, 2))",
        "(numpy.zeros((1, 1), dtype='f'), numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2))",
    )
