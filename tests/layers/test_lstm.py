"""Tests for LSTM ("LSTM.v1"): the flat parameter layout, initial states, a
hand-computed one-step cell, gradients, bytes, config and thinc 8.3.14 parity."""

import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.lstm import LSTM
from thinc.types import Padded

from ..util import numeric_grad
from ._oracle import run_reference


def make_padded(nI: int = 3, seed: int = 0) -> Padded:
    # Two sequences, of lengths 3 and 2, sorted longest first as Padded requires.
    data = numpy.random.default_rng(seed).uniform(-1, 1, (3, 2, nI)).astype("f")
    data[2, 1] = 0
    return Padded(
        data, numpy.array([2, 2, 1], "i"), numpy.array([3, 2], "i"), numpy.array([0, 1], "i")
    )


def sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def test_names_dims_attrs():
    model = LSTM(nO=4, nI=3, bi=True, depth=2, dropout=0.1)
    assert model.name == "lstm"
    assert {name: model.get_dim(name) for name in model.dim_names} == {
        "nO": 4,
        "nI": 3,
        "depth": 2,
        "dirs": 2,
    }
    assert model.attrs == {"registry_name": "LSTM.v1", "dropout_rate": 0.1}
    assert list(model.param_names) == ["LSTM", "HC0"]


@pytest.mark.parametrize(
    "kwargs,size,hc0",
    [
        (dict(nO=4, nI=3), 144, (2, 1, 1, 4)),
        (dict(nO=4, nI=3, bi=True), 112, (2, 1, 2, 2)),
        (dict(nO=4, nI=3, depth=2), 304, (2, 2, 1, 4)),
        (dict(nO=4, nI=3, bi=True, depth=2), 240, (2, 2, 2, 2)),
    ],
)
def test_param_sizes_match_thinc(kwargs, size, hc0):
    model = LSTM(**kwargs)
    model.initialize()
    assert model.get_param("LSTM").shape == (size,)
    assert model.get_param("HC0").shape == hc0 and not model.get_param("HC0").any()


def test_layout_weights_then_bias_per_block():
    model = LSTM(nO=2, nI=3)
    model.initialize()
    params = model.get_param("LSTM")
    # Wx (8 x 3), bx (8), Wh (8 x 2), bh (8); biases start at zero.
    assert params[:24].all() and not params[24:32].any()
    assert params[32:48].all() and not params[48:].any()


def test_dims_inferred_from_data():
    model = LSTM()
    Xp = make_padded(nI=5)
    model.initialize(
        X=Xp, Y=Padded(numpy.zeros((3, 2, 6), "f"), Xp.size_at_t, Xp.lengths, Xp.indices)
    )
    assert model.get_dim("nI") == 5 and model.get_dim("nO") == 6


def test_one_step_against_hand_computed_cell():
    # nI = nH = 1: the params are Wx (4), bx (4), Wh (4), bh (4), gates in the order
    # forget, input, output, candidate (found with thinc 8.3.14).
    model = LSTM(nO=1, nI=1)
    model.initialize()
    params = numpy.zeros((16,), dtype="f")
    params[0:4] = [5.0, 1.0, 1.0, 2.0]
    params[4:8] = [0.0, 0.0, -0.5, 0.0]
    model.set_param("LSTM", params)
    X = Padded(
        numpy.array([[[0.5]]], "f"),
        numpy.array([1], "i"),
        numpy.array([1], "i"),
        numpy.array([0], "i"),
    )
    Y = model.predict(X).data[0, 0, 0]
    # c0 = 0, so the forget gate has no effect on the first step.
    i, o, g = sigmoid(0.5), sigmoid(0.5 - 0.5), numpy.tanh(1.0)
    assert Y == pytest.approx(o * numpy.tanh(i * g), rel=1e-5)


def test_padding_rows_stay_zero_and_shapes():
    model = LSTM(nO=4, nI=3, bi=True)
    model.initialize()
    Yp = model.predict(make_padded())
    assert Yp.data.shape == (3, 2, 4)
    assert not Yp.data[2, 1].any()
    numpy.testing.assert_array_equal(Yp.lengths, [3, 2])


@pytest.mark.parametrize("kwargs", [dict(nO=2, nI=3, depth=2), dict(nO=4, nI=3, bi=True)])
def test_gradients_match_finite_differences(kwargs):
    model = LSTM(**kwargs)
    model.initialize()
    rng = numpy.random.default_rng(1)
    model.set_param("LSTM", rng.uniform(-0.5, 0.5, model.get_param("LSTM").shape).astype("f"))
    Xp = make_padded()
    Yp, backprop = model.begin_update(Xp)
    R = rng.uniform(-1, 1, Yp.data.shape).astype("f")
    R[2, 1] = 0

    def loss() -> float:
        return float((model.predict(Xp).data.astype("f8") * R).sum())

    dXp = backprop(Padded(R, Xp.size_at_t, Xp.lengths, Xp.indices))
    idx, expected = numeric_grad(loss, Xp.data, 1e-3, 30, rng)
    numpy.testing.assert_allclose(dXp.data.reshape(-1)[idx], expected, atol=1e-2, rtol=5e-2)
    params = model.get_param("LSTM")
    idx, expected = numeric_grad(
        lambda: (model.set_param("LSTM", params), loss())[1], params, 1e-3, 30, rng
    )
    numpy.testing.assert_allclose(model.get_grad("LSTM")[idx], expected, atol=1e-2, rtol=5e-2)


def test_bytes_config_and_bad_input():
    model = LSTM(nO=4, nI=3, bi=True)
    model.initialize()
    copy = LSTM(nO=4, nI=3, bi=True).from_bytes(model.to_bytes())
    numpy.testing.assert_array_equal(
        copy.predict(make_padded()).data, model.predict(make_padded()).data
    )
    config = Config().from_str(
        '[model]\n@layers = "LSTM.v1"\nnO = 6\nnI = 2\nbi = true\ndepth = 2\n'
    )
    resolved = registry.resolve(config)["model"]
    assert resolved.get_dim("dirs") == 2 and resolved.get_dim("depth") == 2
    with pytest.raises(ValueError, match="shape"):
        model.predict(make_padded(nI=5))
    with pytest.raises(TypeError, match="Padded"):
        model.predict(make_padded().data)
    with pytest.raises(ValueError, match="even"):
        LSTM(nO=3, nI=2, bi=True).initialize()


def test_matches_thinc_8_3_on_its_weights():
    reference = run_reference(
        """
import numpy
from thinc.api import LSTM
from thinc.types import Padded
rng = numpy.random.default_rng(10)
model = LSTM(nO=4, nI=3, bi=True, depth=2)
model.initialize()
model.set_param("HC0", rng.uniform(-0.5, 0.5, model.get_param("HC0").shape).astype("f"))
data = rng.uniform(-1, 1, (4, 3, 3)).astype("f")
Xp = Padded(data, numpy.array([3, 2, 2, 1], "i"), numpy.array([4, 3, 1], "i"), numpy.array([2, 0, 1], "i"))
Y, backprop = model.begin_update(Xp)
result = dict(bytes=model.to_bytes(), data=data, Y=Y.data, predicted=model.predict(Xp).data)
"""
    )
    model = LSTM(nO=4, nI=3, bi=True, depth=2).from_bytes(reference["bytes"])
    # Our bytes for the same weights are thinc's, byte for byte.
    assert model.to_bytes() == reference["bytes"]
    size_at_t, lengths, indices = (
        numpy.array([3, 2, 2, 1], "i"),
        numpy.array([4, 3, 1], "i"),
        numpy.array([2, 0, 1], "i"),
    )
    Xp = Padded(reference["data"], size_at_t, lengths, indices)
    Yp, _ = model.begin_update(Xp)
    numpy.testing.assert_allclose(Yp.data, reference["Y"], rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(
        model.predict(Xp).data, reference["predicted"], rtol=1e-5, atol=1e-6
    )
    # Only outputs are compared: thinc 8.3.14's LSTM gradients (dX and dW) disagree
    # with finite differences, so test_gradients_match_finite_differences checks ours.


def test_pytorch_lstm_of_depth_zero_is_noop():
    pytest.importorskip("torch")
    from thinc.api import PyTorchLSTM

    assert PyTorchLSTM(3, 3, depth=0).name == "noop"
