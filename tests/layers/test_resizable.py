import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear
from thinc.layers.resizable import resizable, resize_linear_weighted, resize_model
from thinc.layers.softmax import Softmax_v2

from ..util import check_gradients


def test_resizable_wraps_layer():
    model = resizable(Linear(2, 3), resize_linear_weighted)
    assert model.name == "resizable(linear)"
    assert model.get_dim("nO") == 2 and model.get_dim("nI") == 3
    assert model.attrs["resize_layer"] is resize_linear_weighted
    model.initialize()
    X = numpy.ones((2, 3), dtype="f")
    numpy.testing.assert_allclose(model.predict(X), model.layers[0].predict(X))
    check_gradients(model, numpy.random.default_rng(0).uniform(-1, 1, (2, 3)).astype("f"))


def test_resize_model_keeps_old_rows():
    model = resizable(Linear(2, 3), resize_linear_weighted).initialize()
    old = model.layers[0]
    W = old.get_param("W").copy()
    old.set_param("b", old.get_param("b") + 1)
    assert resize_model(model, 4) is model
    new = model.layers[0]
    assert new is not old
    assert new.get_dim("nO") == 4 and new.get_dim("nI") == 3
    numpy.testing.assert_allclose(new.get_param("W")[:2], W)
    assert not new.get_param("W")[2:].any()
    assert new.get_param("b").tolist() == [1, 1, 0, 0]
    # The wrapper's own dims are left as they were (as in thinc 8.3.14).
    assert model.get_dim("nO") == 2
    assert model.predict(numpy.ones((1, 3), dtype="f")).shape == (1, 4)


def test_resize_linear_weighted_fill_defaults_and_attrs():
    layer = Softmax_v2(2, 3, normalize_outputs=False).initialize()
    grown = resize_linear_weighted(layer, 4, fill_defaults={"b": -3.0, "W": 7.0})
    assert grown.name == layer.name
    assert grown.attrs == layer.attrs
    assert grown.get_param("b").tolist()[2:] == [-3.0, -3.0]
    assert grown.get_param("W")[3].tolist() == [7.0, 7.0, 7.0]


def test_resize_linear_weighted_unallocated():
    layer = Linear()
    assert resize_linear_weighted(layer, 6) is layer
    assert layer.get_dim("nO") == 6
    sized = Linear(2, 3)
    grown = resize_linear_weighted(sized, 6)
    assert grown.get_param("W").shape == (6, 3)
    same = Linear(2, 3).initialize()
    assert resize_linear_weighted(same, 2) is same


def test_resizable_serialization_round_trip():
    model = resizable(Linear(2, 3), resize_linear_weighted).initialize()
    other = resizable(Linear(2, 3), resize_linear_weighted).initialize()
    other.from_bytes(model.to_bytes())
    X = numpy.ones((1, 3), dtype="f")
    numpy.testing.assert_allclose(other.predict(X), model.predict(X))
    assert other.attrs["resize_layer"] is resize_linear_weighted


def test_resizable_from_config():
    registry.layers.register("test_resize_linear.v1", func=lambda: resize_linear_weighted)
    config = Config().from_str(
        """
        [model]
        @layers = "resizable.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 3

        [model.resize_layer]
        @layers = "test_resize_linear.v1"
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "resizable(linear)"
    assert model.attrs["resize_layer"] is resize_linear_weighted


def test_resize_bad_input():
    model = resizable(Linear(3, 2), resize_linear_weighted).initialize()
    with pytest.raises(ValueError, match="grow"):
        resize_model(model, 2)
    with pytest.raises(ValueError, match="not resizable"):
        resize_model(Linear(2, 2), 3)
    with pytest.raises(TypeError, match="resize_layer"):
        resizable(Linear(2, 2), 3)  # type: ignore[arg-type]


@pytest.mark.ref
def test_resizable_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "resizable(Linear(2, 3), resize_linear_weighted)",
        "numpy.linspace(-1, 1, 12, dtype='f').reshape(4, 3)",
    )
