"""Tests for Logistic ("Logistic.v1"): elementwise sigmoid with no weights."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.logistic import Logistic

from ..util import check_gradients


def test_hand_checked_values_and_gradient():
    model = Logistic()
    assert model.name == "logistic" and not list(model.param_names)
    X = numpy.array([[0.0, 2.0], [-1.0, 100.0]], dtype="f")
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_allclose(Y, [[0.5, 0.8807971], [0.2689414, 1.0]], atol=1e-6)
    # d sigmoid = y * (1 - y)
    dX = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(dX, [[0.25, 0.1049936], [0.1966119, 0.0]], atol=1e-6)


def test_gradients():
    X = numpy.random.default_rng(0).uniform(-3, 3, (4, 3)).astype("f")
    check_gradients(Logistic(), X)


def test_config_bytes_and_bad_input():
    model = registry.resolve(Config().from_str('[model]\n@layers = "Logistic.v1"\n'))["model"]
    assert model.name == "logistic"
    assert Logistic().from_bytes(model.to_bytes()).name == "logistic"
    with pytest.raises(TypeError):
        model.predict(numpy.array([[1, 2]], dtype="i"))
