"""Dropout: identity at prediction, scaled random masks in training, for arrays,
lists, Ragged and Padded, and its dropout_rate attr."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.chain import chain
from thinc.layers.dropout import Dropout
from thinc.layers.linear import Linear
from thinc.model import set_dropout_rate
from thinc.types import Padded, Ragged


def ones(*shape) -> numpy.ndarray:
    return numpy.ones(shape, dtype="float32")


def test_declares_thinc_attrs():
    model = Dropout()
    assert model.name == "dropout"
    assert dict(model.attrs) == {"dropout_rate": 0.0, "is_enabled": True}
    assert Dropout(0.3).attrs["dropout_rate"] == 0.3
    assert list(model.dim_names) == [] and list(model.param_names) == []


def test_prediction_is_identity():
    X = numpy.random.default_rng(0).normal(size=(4, 5)).astype("f")
    numpy.testing.assert_array_equal(Dropout(0.9).predict(X), X)


@pytest.mark.parametrize("rate", [0.0, None])
def test_zero_rate_is_identity_in_training(rate):
    model = Dropout(0.5)
    model.attrs["dropout_rate"] = rate
    X = ones(3, 4)
    Y, backprop = model.begin_update(X)
    numpy.testing.assert_array_equal(Y, X)
    numpy.testing.assert_array_equal(backprop(X * 2), X * 2)


def test_disabled_dropout_is_identity_in_training():
    model = Dropout(0.5)
    model.attrs["is_enabled"] = False
    Y, _ = model.begin_update(ones(3, 4))
    numpy.testing.assert_array_equal(Y, ones(3, 4))


def test_training_zeroes_entries_and_rescales_the_rest():
    rate = 0.25
    Y, backprop = Dropout(rate).begin_update(ones(200, 50))
    kept = Y != 0
    numpy.testing.assert_allclose(Y[kept], 1 / (1 - rate), rtol=1e-6)
    assert abs(1 - kept.mean() - rate) < 0.02
    # The gradient passes through exactly the entries that were kept.
    dX = backprop(ones(200, 50) * 3)
    numpy.testing.assert_array_equal(dX != 0, kept)
    numpy.testing.assert_allclose(dX[kept], 3 / (1 - rate), rtol=1e-6)


def test_list_of_arrays():
    Xs = [ones(2, 3), ones(4, 3)]
    Ys, backprop = Dropout(0.5).begin_update(Xs)
    assert isinstance(Ys, list) and [Y.shape for Y in Ys] == [(2, 3), (4, 3)]
    dXs = backprop([ones(2, 3), ones(4, 3)])
    for Y, dX in zip(Ys, dXs):
        assert set(numpy.unique(Y)) <= {0.0, 2.0}
        numpy.testing.assert_array_equal(dX, Y)


def test_ragged():
    X = Ragged(ones(5, 3), numpy.array([2, 3], dtype="int32"))
    Y, backprop = Dropout(0.5).begin_update(X)
    assert isinstance(Y, Ragged)
    numpy.testing.assert_array_equal(Y.lengths, [2, 3])
    assert set(numpy.unique(Y.dataXd)) <= {0.0, 2.0}
    dX = backprop(Ragged(ones(5, 3), X.lengths))
    assert isinstance(dX, Ragged)
    numpy.testing.assert_array_equal(dX.dataXd, Y.dataXd)


def test_padded():
    X = Padded(
        ones(3, 2, 4),
        numpy.array([2, 2, 1], dtype="int32"),
        numpy.array([3, 2], dtype="int32"),
        numpy.array([0, 1], dtype="int32"),
    )
    Y, backprop = Dropout(0.5).begin_update(X)
    assert isinstance(Y, Padded)
    numpy.testing.assert_array_equal(Y.lengths, X.lengths)
    assert set(numpy.unique(Y.data)) <= {0.0, 2.0}
    dX = backprop(Padded(ones(3, 2, 4), X.size_at_t, X.lengths, X.indices))
    numpy.testing.assert_array_equal(dX.data, Y.data)


@pytest.mark.parametrize("bad", [42, "text", (1, 2), [1, 2]])
def test_unsupported_input_raises_type_error(bad):
    with pytest.raises(TypeError, match="Dropout"):
        Dropout(0.5).begin_update(bad)


def test_set_dropout_rate_reaches_every_dropout_node():
    model = chain(Linear(2, 3), Dropout(0.2), chain(Linear(2, 2), Dropout(0.1)))
    set_dropout_rate(model, 0.7)
    rates = [node.attrs["dropout_rate"] for node in model.walk() if node.name == "dropout"]
    assert rates == [0.7, 0.7]


def test_resolves_from_config():
    config = Config().from_str('[model]\n@layers = "Dropout.v1"\nrate = 0.4\n')
    assert registry.resolve(config)["model"].attrs["dropout_rate"] == 0.4


def test_serialization_round_trip_keeps_rate():
    loaded = Dropout().from_bytes(Dropout(0.35).to_bytes())
    assert loaded.attrs["dropout_rate"] == 0.35
