"""Softmax and Softmax_v2: probabilities, the logits-gradient convention,
temperature, unnormalized prediction, config and bytes."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.softmax import Softmax, Softmax_v2


def make_input(rows: int = 6, width: int = 3, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).normal(size=(rows, width)).astype("float32")


def numpy_softmax(Z: numpy.ndarray) -> numpy.ndarray:
    shifted = numpy.exp(Z - Z.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def with_random_params(model, seed: int = 1):
    model.initialize()
    rng = numpy.random.default_rng(seed)
    nO, nI = model.get_dim("nO"), model.get_dim("nI")
    model.set_param("W", rng.normal(size=(nO, nI)).astype("f"))
    model.set_param("b", rng.normal(size=(nO,)).astype("f"))
    return model


def logits(model, X):
    return X @ model.get_param("W").T + model.get_param("b")


def test_declares_thinc_dims_params_and_attrs():
    model = Softmax(3)
    assert model.name == "softmax"
    assert list(model.dim_names) == ["nO", "nI"]
    assert list(model.param_names) == ["W", "b"]
    assert model.attrs["softmax_normalize"] is True
    assert model.attrs["softmax_temperature"] == 1.0
    v2 = Softmax_v2(3, temperature=2.0, normalize_outputs=False)
    assert v2.attrs["softmax_normalize"] is False
    assert v2.attrs["softmax_temperature"] == 2.0


def test_weights_start_at_zero_so_guesses_are_uniform():
    model = Softmax()
    model.initialize(X=make_input(), Y=numpy.zeros((6, 4), dtype="f"))
    assert model.get_param("W").shape == (4, 3)
    assert not model.get_param("W").any() and not model.get_param("b").any()
    numpy.testing.assert_allclose(model.predict(make_input()), numpy.full((6, 4), 0.25))


def test_forward_is_softmax_of_affine():
    model = with_random_params(Softmax(4, 3))
    X = make_input()
    Y = model.predict(X)
    numpy.testing.assert_allclose(Y, numpy_softmax(logits(model, X)), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(Y.sum(axis=1), numpy.ones(6), rtol=1e-5)


def test_backprop_treats_dY_as_the_gradient_of_the_logits():
    model = with_random_params(Softmax(4, 3))
    X = make_input()
    dY = make_input(6, 4, seed=3)
    _, backprop = model.begin_update(X)
    dX = backprop(dY)
    numpy.testing.assert_allclose(dX, dY @ model.get_param("W"), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), dY.T @ X, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("b"), dY.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_crossentropy_gradient_matches_finite_differences():
    # With dY = probabilities - truth, backprop gives d(crossentropy)/d(input).
    model = with_random_params(Softmax(4, 3))
    X32 = make_input(1, 3)
    truth = numpy.array([[0.0, 1.0, 0.0, 0.0]], dtype="f")
    Y, backprop = model.begin_update(X32)
    dX = backprop(Y - truth)
    X = X32.astype("float64")

    def crossentropy(X_):
        return -numpy.log(numpy_softmax(logits(model, X_))[0, 1])

    eps = 1e-6
    for i in range(3):
        plus, minus = X.copy(), X.copy()
        plus[0, i] += eps
        minus[0, i] -= eps
        numeric = (crossentropy(plus) - crossentropy(minus)) / (2 * eps)
        assert abs(dX[0, i] - numeric) < 1e-4


def test_temperature_scales_logits_and_gradients():
    model = with_random_params(Softmax_v2(4, 3, temperature=2.0))
    X = make_input()
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_allclose(Y, numpy_softmax(logits(model, X) / 2.0), rtol=1e-5, atol=1e-6)
    dY = make_input(6, 4, seed=3)
    dX = backprop(dY)
    numpy.testing.assert_allclose(dX, (dY / 2.0) @ model.get_param("W"), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(model.get_grad("W"), (dY / 2.0).T @ X, rtol=1e-5, atol=1e-6)


def test_unnormalized_outputs_at_prediction_only():
    model = with_random_params(Softmax_v2(4, 3, normalize_outputs=False, temperature=0.5))
    X = make_input()
    # Prediction gives the raw logits, not divided by the temperature.
    numpy.testing.assert_allclose(model.predict(X), logits(model, X), rtol=1e-5, atol=1e-6)
    Y, _ = model.begin_update(X)
    numpy.testing.assert_allclose(Y, numpy_softmax(logits(model, X) / 0.5), rtol=1e-5, atol=1e-6)
    _, backprop = model(X, is_train=False)
    with pytest.raises(ValueError):
        backprop(numpy.zeros((6, 4), dtype="f"))


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_non_positive_temperature_raises(temperature):
    with pytest.raises(ValueError, match="temperature"):
        Softmax_v2(temperature=temperature)


def test_input_width_mismatch_raises():
    model = Softmax(4, 3).initialize()
    with pytest.raises(ValueError, match="softmax"):
        model.predict(make_input(2, 2))


def test_resolves_both_versions_from_config():
    config = Config().from_str(
        """
        [v1]
        @layers = "Softmax.v1"
        nO = 4

        [v2]
        @layers = "Softmax.v2"
        nO = 4
        temperature = 3.0
        normalize_outputs = false
        """
    )
    resolved = registry.resolve(config)
    assert resolved["v1"].attrs["softmax_temperature"] == 1.0
    assert resolved["v2"].attrs["softmax_temperature"] == 3.0
    assert resolved["v2"].attrs["softmax_normalize"] is False
    assert registry.layers.get("Softmax.v1") is Softmax
    assert registry.layers.get("Softmax.v2") is Softmax_v2


def test_serialization_round_trip_keeps_attrs():
    model = with_random_params(Softmax_v2(4, 3, temperature=2.0))
    loaded = Softmax_v2(4, 3).from_bytes(model.to_bytes())
    assert loaded.attrs["softmax_temperature"] == 2.0
    X = make_input()
    numpy.testing.assert_array_equal(loaded.predict(X), model.predict(X))
