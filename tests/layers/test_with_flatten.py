import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.chain import chain
from thinc.layers.linear import Linear
from thinc.layers.with_flatten import with_flatten
from thinc.model import Model

from ..util import check_gradients


def _stack() -> Model:
    """Toy layer: a flat list of 1d vectors -> a 2d array, one row per item."""

    def forward(model, Xs, is_train):
        return numpy.stack(Xs), lambda dY: list(dY)

    return Model("stack", forward)


def _nested(seed=0):
    rng = numpy.random.default_rng(seed)
    return [[rng.uniform(-1, 1, (2,)).astype("f") for _ in range(n)] for n in (2, 1, 3)]


def test_with_flatten_splits_output_per_sequence():
    linear = Linear(3, 2).initialize()
    model = with_flatten(chain(_stack(), linear))
    assert model.name == "with_flatten(stack>>linear)"
    X = _nested()
    Ys, backprop = model.begin_update(X)
    assert [Y.shape for Y in Ys] == [(2, 3), (1, 3), (3, 3)]
    flat = numpy.stack([item for seq in X for item in seq])
    numpy.testing.assert_allclose(numpy.vstack(Ys), linear.predict(flat), rtol=1e-6)
    dXs = backprop([numpy.ones_like(Y) for Y in Ys])
    assert [len(dX) for dX in dXs] == [2, 1, 3]


def test_with_flatten_gradients():
    model = with_flatten(chain(_stack(), Linear(3, 2).initialize()))
    check_gradients(
        model,
        _nested(1),
        to_array=lambda Y: numpy.concatenate(Y),
        input_arrays=lambda X: [item for seq in X for item in seq],
    )


def test_with_flatten_init_and_empty():
    model = with_flatten(chain(_stack(), Linear()))
    X = _nested()
    Y = [numpy.ones((len(seq), 4), dtype="f") for seq in X]
    model.initialize(X=X, Y=Y)
    assert model.layers[0].layers[1].get_param("W").shape == (4, 2)
    assert model.predict([]) == []


def test_with_flatten_serialization_and_config():
    model = with_flatten(Linear(2, 2)).initialize()
    other = with_flatten(Linear(2, 2)).initialize().from_bytes(model.to_bytes())
    numpy.testing.assert_allclose(other.layers[0].get_param("W"), model.layers[0].get_param("W"))
    config = Config().from_str(
        """
        [model]
        @layers = "with_flatten.v1"

        [model.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    assert registry.resolve(config)["model"].name == "with_flatten(linear)"


def test_with_flatten_bad_input():
    model = with_flatten(_stack())
    with pytest.raises(TypeError, match="with_flatten"):
        model.predict("abc")
    with pytest.raises(TypeError, match="with_flatten"):
        model.predict([1, 2])
