import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.sigmoid_activation import sigmoid_activation

from ..util import check_gradients


def test_sigmoid_activation_values():
    X = numpy.asarray([[0.0, 1.0], [-2.0, 30.0]], dtype="f")
    Y, backprop = sigmoid_activation().begin_update(X)
    numpy.testing.assert_allclose(Y, 1 / (1 + numpy.exp(-X)), rtol=1e-6)
    dX = backprop(numpy.ones_like(Y))
    numpy.testing.assert_allclose(dX, Y * (1 - Y), rtol=1e-5, atol=1e-7)
    # The input is not modified in place.
    assert X[0, 1] == 1.0


def test_sigmoid_activation_gradients():
    X = numpy.random.default_rng(0).uniform(-3, 3, (4, 3)).astype("f")
    check_gradients(sigmoid_activation(), X)


def test_sigmoid_activation_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "sigmoid_activation.v1"\n'))["m"]
    assert model.name == "sigmoid_activation"
    assert sigmoid_activation().from_bytes(model.to_bytes()).name == "sigmoid_activation"


def test_sigmoid_activation_bad_input():
    with pytest.raises(TypeError, match="sigmoid_activation"):
        sigmoid_activation().predict(numpy.ones((2, 2), dtype="i"))
    with pytest.raises(TypeError, match="sigmoid_activation"):
        sigmoid_activation().predict([1.0, 2.0])
