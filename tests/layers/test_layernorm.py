"""LayerNorm: per-row normalization with gain and bias, and its gradients."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.layernorm import LayerNorm

from ..util import check_gradients


def make_input(rows: int = 6, width: int = 4, seed: int = 0) -> numpy.ndarray:
    return numpy.random.default_rng(seed).normal(size=(rows, width)).astype("float32")


def test_declares_thinc_dims_and_params():
    model = LayerNorm()
    assert model.name == "layernorm"
    assert list(model.dim_names) == ["nI", "nO"]
    assert list(model.param_names) == ["G", "b"]
    assert LayerNorm(5).get_dim("nO") == 5


def test_initialize_infers_width_and_starts_as_plain_normalization():
    model = LayerNorm()
    model.initialize(X=make_input())
    assert (model.get_dim("nI"), model.get_dim("nO")) == (4, 4)
    assert (model.get_param("G") == 1).all() and not model.get_param("b").any()
    sized_by_output = LayerNorm().initialize(Y=make_input(width=3))
    assert sized_by_output.get_dim("nI") == 3


def test_initialize_with_conflicting_width_raises():
    with pytest.raises(ValueError):
        LayerNorm(5).initialize(X=make_input(width=4))


def test_forward_matches_numpy():
    model = LayerNorm(4).initialize()
    rng = numpy.random.default_rng(1)
    G = rng.normal(size=(4,)).astype("f")
    b = rng.normal(size=(4,)).astype("f")
    model.set_param("G", G)
    model.set_param("b", b)
    X = make_input()
    X64 = X.astype("f8")
    mean = X64.mean(axis=1, keepdims=True)
    expected = (X64 - mean) / numpy.sqrt(X64.var(axis=1, keepdims=True) + 1e-8) * G + b
    numpy.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-5)


def test_rows_get_zero_mean_and_unit_variance():
    Y = LayerNorm(4).initialize().predict(make_input() * 10 + 3)
    numpy.testing.assert_allclose(Y.mean(axis=1), 0, atol=1e-5)
    numpy.testing.assert_allclose(Y.var(axis=1), 1, atol=1e-4)


def test_constant_rows_do_not_produce_nan():
    Y = LayerNorm(3).initialize().predict(numpy.ones((2, 3), dtype="f"))
    assert numpy.isfinite(Y).all()
    numpy.testing.assert_array_equal(Y, 0)


def test_tiny_variance_matches_thinc_epsilon():
    # thinc 8.3.14 gives these values for this input (its epsilon is 1e-8).
    X = numpy.array([[1.0, 1.0001, 1.0002]], dtype="f")
    Y = LayerNorm(3).initialize().predict(X)
    numpy.testing.assert_allclose(Y, [[-0.7746738, 0.0, 0.7746738]], atol=2e-3)


def test_gradients_match_finite_differences():
    model = LayerNorm(4).initialize()
    rng = numpy.random.default_rng(2)
    model.set_param("G", rng.normal(size=(4,)).astype("f"))
    model.set_param("b", rng.normal(size=(4,)).astype("f"))
    check_gradients(model, make_input(seed=3))


def test_input_width_mismatch_raises():
    with pytest.raises(ValueError, match="layernorm"):
        LayerNorm(4).initialize().predict(make_input(width=3))


def test_resolves_from_config():
    config = Config().from_str('[model]\n@layers = "LayerNorm.v1"\nnI = 6\n')
    model = registry.resolve(config)["model"]
    assert (model.name, model.get_dim("nI"), model.get_dim("nO")) == ("layernorm", 6, 6)


def test_serialization_round_trip():
    model = LayerNorm(4).initialize()
    model.set_param("G", numpy.arange(4, dtype="f"))
    X = make_input()
    loaded = LayerNorm(4).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(loaded.get_param("G"), numpy.arange(4, dtype="f"))
    numpy.testing.assert_array_equal(loaded.predict(X), model.predict(X))
