"""Linear: dims, init, forward against numpy, gradients, errors, config, bytes."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.linear import Linear

from ..util import check_gradients


def make_input(rows: int = 5, width: int = 3, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).normal(size=(rows, width)).astype("float32")


def test_declares_thinc_dims_and_params():
    model = Linear()
    assert model.name == "linear"
    assert list(model.dim_names) == ["nO", "nI"]
    assert list(model.param_names) == ["W", "b"]
    assert model.has_dim("nO") is None and model.has_dim("nI") is None
    assert Linear(4, 3).get_dim("nO") == 4
    assert Linear(4, 3).get_dim("nI") == 3


def test_initialize_infers_dims_from_sample_data():
    model = Linear()
    model.initialize(X=make_input(5, 3), Y=numpy.zeros((5, 7), dtype="f"))
    assert model.get_dim("nI") == 3
    assert model.get_dim("nO") == 7
    assert model.get_param("W").shape == (7, 3)
    assert model.get_param("b").shape == (7,)


def test_default_init_is_glorot_uniform_weights_and_zero_bias():
    model = Linear(300, 200)
    model.initialize()
    W = model.get_param("W")
    limit = numpy.sqrt(6.0 / (300 + 200))
    assert W.dtype == numpy.float32
    assert numpy.abs(W).max() <= limit
    # A uniform distribution on [-limit, limit] has std limit / sqrt(3).
    assert abs(W.std() - limit / numpy.sqrt(3)) < 0.02 * limit
    assert not model.get_param("b").any()


def test_custom_initializers_are_used():
    def fill(value):
        return lambda ops, shape: ops.alloc(shape) + value

    model = Linear(2, 3, init_W=fill(0.5), init_b=fill(-1.0))
    model.initialize()
    assert (model.get_param("W") == 0.5).all()
    assert (model.get_param("b") == -1.0).all()


def test_initialize_conflicting_width_raises():
    with pytest.raises(ValueError):
        Linear(4, 2).initialize(X=make_input(5, 3))
    with pytest.raises(ValueError):
        Linear(4, 3).initialize(Y=numpy.zeros((5, 6), dtype="f"))


def test_initialize_without_dims_raises():
    with pytest.raises(ValueError):
        Linear().initialize()


def test_forward_matches_numpy():
    model = Linear(4, 3)
    model.initialize()
    rng = numpy.random.default_rng(1)
    model.set_param("b", rng.normal(size=(4,)).astype("f"))
    X = make_input(6, 3)
    expected = X @ model.get_param("W").T + model.get_param("b")
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)


def test_hand_computed_output():
    model = Linear(2, 2)
    model.initialize()
    model.set_param("W", numpy.array([[1.0, 2.0], [0.0, -1.0]], dtype="f"))
    model.set_param("b", numpy.array([0.5, 1.0], dtype="f"))
    Y = model.predict(numpy.array([[1.0, 1.0], [2.0, -3.0]], dtype="f"))
    numpy.testing.assert_allclose(Y, [[3.5, 0.0], [-3.5, 4.0]])


def test_backprop_accumulates_param_gradients():
    model = Linear(2, 3)
    model.initialize()
    X = make_input(4, 3)
    dY = make_input(4, 2, seed=2)
    _, backprop = model.begin_update(X)
    dX = backprop(dY)
    numpy.testing.assert_allclose(dX, dY @ model.get_param("W"), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), dY.T @ X, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("b"), dY.sum(axis=0), rtol=1e-5, atol=1e-6)
    backprop(dY)
    numpy.testing.assert_allclose(model.get_grad("b"), 2 * dY.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_gradients_match_finite_differences():
    model = Linear(4, 3)
    model.initialize()
    model.set_param("b", numpy.random.default_rng(3).normal(size=(4,)).astype("f"))
    check_gradients(model, make_input(5, 3))


def test_input_width_mismatch_names_layer_and_shapes():
    model = Linear(4, 3)
    model.initialize()
    with pytest.raises(ValueError) as error:
        model.predict(make_input(2, 5))
    message = str(error.value)
    assert "linear" in message and "3" in message and "(2, 5)" in message


def test_one_dimensional_input_raises():
    model = Linear(4, 3).initialize()
    with pytest.raises(ValueError, match="linear"):
        model.predict(numpy.zeros((3,), dtype="f"))


def test_non_array_input_raises_type_error():
    model = Linear(4, 3).initialize()
    with pytest.raises(TypeError, match="linear"):
        model.predict([[1.0, 2.0, 3.0]])


def test_integer_input_raises():
    model = Linear(4, 3).initialize()
    with pytest.raises(ValueError, match="int"):
        model.predict(numpy.zeros((2, 3), dtype="int32"))


def test_resolves_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "Linear.v1"
        nO = 5
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "linear"
    assert (model.get_dim("nO"), model.get_dim("nI")) == (5, 2)
    assert registry.layers.get("Linear.v1") is Linear


def test_serialization_round_trip():
    model = Linear(4, 3)
    model.initialize()
    model.set_param("b", numpy.arange(4, dtype="f"))
    X = make_input()
    loaded = Linear(4, 3).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(loaded.get_param("W"), model.get_param("W"))
    numpy.testing.assert_array_equal(loaded.predict(X), model.predict(X))
