import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.expand_window import expand_window
from thinc.types import Ragged

from ..util import check_gradients


def test_expand_window_array_matches_reference():
    # Values from thinc 8.3.14.
    X = numpy.arange(6, dtype="f").reshape(3, 2)
    model = expand_window(1)
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_allclose(Y, [[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5], [2, 3, 4, 5, 0, 0]])
    numpy.testing.assert_allclose(backprop(Y), [[0, 2], [6, 9], [8, 10]])
    assert model.attrs["window_size"] == 1


def test_expand_window_ragged_respects_boundaries():
    X = Ragged(numpy.arange(6, dtype="f").reshape(3, 2), numpy.asarray([2, 1], dtype="i"))
    Y, backprop = expand_window(1).begin_update(X)
    assert isinstance(Y, Ragged)
    numpy.testing.assert_allclose(
        Y.dataXd, [[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 0, 0], [0, 0, 4, 5, 0, 0]]
    )
    numpy.testing.assert_allclose(backprop(Y).dataXd, [[0, 2], [4, 6], [4, 5]])


def test_expand_window_empty_batch():
    Y, backprop = expand_window(2).begin_update(numpy.zeros((0, 3), dtype="f"))
    assert Y.shape == (0, 15)
    assert backprop(Y).shape == (0, 3)


def test_expand_window_gradients():
    X = numpy.random.default_rng(0).uniform(-1, 1, (5, 3)).astype("f")
    check_gradients(expand_window(2), X)
    Xr = Ragged(X, numpy.asarray([3, 2], dtype="i"))
    check_gradients(
        expand_window(1), Xr, to_array=lambda Y: Y.dataXd, input_arrays=lambda X: [X.dataXd]
    )


def test_expand_window_serialization_round_trip():
    model = expand_window(3)
    other = expand_window(3).from_bytes(model.to_bytes())
    assert other.attrs["window_size"] == 3


def test_expand_window_from_config():
    config = Config().from_str('[model]\n@layers = "expand_window.v1"\nwindow_size = 2\n')
    model = registry.resolve(config)["model"]
    assert model.name == "expand_window" and model.attrs["window_size"] == 2
    assert registry.resolve(Config().from_str('[m]\n@layers = "expand_window.v1"\n'))[
        "m"
    ].attrs == {"window_size": 1}


def test_expand_window_bad_input():
    with pytest.raises(TypeError, match="expand_window"):
        expand_window(1).predict(numpy.ones((3,), dtype="f"))
    with pytest.raises(ValueError, match="window_size"):
        expand_window(-1)


@pytest.mark.ref
def test_expand_window_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "chain(expand_window(2), Linear(1, 10))",
        "numpy.linspace(-1, 1, 8, dtype='f').reshape(4, 2)",
    )
