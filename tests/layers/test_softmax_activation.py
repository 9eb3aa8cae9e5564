import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.softmax_activation import softmax_activation

from ..util import check_gradients


def test_softmax_activation_values():
    # Values from thinc 8.3.14.
    X = numpy.asarray([[0.0, 1.0]], dtype="f")
    Y, backprop = softmax_activation().begin_update(X)
    numpy.testing.assert_allclose(Y, [[0.26894143, 0.7310586]], rtol=1e-6)
    numpy.testing.assert_allclose(
        backprop(numpy.asarray([[1.0, 0.0]], dtype="f")), [[0.19661194, -0.19661194]], rtol=1e-5
    )
    assert X.tolist() == [[0.0, 1.0]]


def test_softmax_activation_rows_sum_to_one():
    X = numpy.random.default_rng(0).normal(size=(5, 4)).astype("f")
    Y = softmax_activation().predict(X)
    numpy.testing.assert_allclose(Y.sum(axis=1), numpy.ones(5), rtol=1e-5)


def test_softmax_activation_gradients():
    X = numpy.random.default_rng(1).uniform(-2, 2, (4, 3)).astype("f")
    check_gradients(softmax_activation(), X)


def test_softmax_activation_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "softmax_activation.v1"\n'))["m"]
    assert model.name == "softmax_activation"
    assert softmax_activation().from_bytes(model.to_bytes()).name == "softmax_activation"


def test_softmax_activation_bad_input():
    with pytest.raises(TypeError, match="softmax_activation"):
        softmax_activation().predict(numpy.ones((2, 2), dtype="i"))
    Y, backprop = softmax_activation().begin_update(numpy.ones((2, 2), dtype="f"))
    with pytest.raises(ValueError, match="softmax_activation"):
        backprop(numpy.ones((3, 2), dtype="f"))
