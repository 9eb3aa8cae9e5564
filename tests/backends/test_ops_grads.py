"""Every backprop_* of the reference Ops against central finite differences of its
forward op, in float64, including the LSTM through time and across directions."""

from typing import Callable

import numpy
import pytest

from thinc.backends.ops import Ops

OPS = Ops()


def numeric_gradient(
    func: Callable[[numpy.ndarray], numpy.ndarray],
    X: numpy.ndarray,
    dY: numpy.ndarray,
    eps: float = 1e-6,
) -> numpy.ndarray:
    """d(sum(func(X) * dY))/dX by central differences, element by element."""
    grad = numpy.zeros_like(X)
    flat_x, flat_grad = X.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + eps
        plus = float((func(X) * dY).sum())
        flat_x[i] = original - eps
        minus = float((func(X) * dY).sum())
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def smooth_input(seed: int = 0, shape=(4, 5), scale: float = 2.0) -> numpy.ndarray:
    X = numpy.random.default_rng(seed).normal(size=shape) * scale
    # Keep clear of the kinks of piecewise activations, where the derivative jumps.
    for kink in (-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0, 6.0):
        near = numpy.abs(X - kink) < 1e-3
        X[near] += 1e-2
    return X


# (forward, backprop taking (dY, X)) for the activations whose backprop reads X.
ACTIVATIONS_FROM_X = {
    "relu_k": (lambda X: OPS.relu_k(X, n=2.0), lambda dY, X: OPS.backprop_relu_k(dY, X, n=2.0)),
    "clipped_linear": (
        lambda X: OPS.clipped_linear(X, slope=1.5, offset=0.3, min_val=-1.0, max_val=2.0),
        lambda dY, X: OPS.backprop_clipped_linear(
            dY, X, slope=1.5, offset=0.3, min_val=-1.0, max_val=2.0
        ),
    ),
    "hard_sigmoid": (OPS.hard_sigmoid, OPS.backprop_hard_sigmoid),
    "hard_tanh": (OPS.hard_tanh, OPS.backprop_hard_tanh),
    "hard_swish": (OPS.hard_swish, OPS.backprop_hard_swish),
    "hard_swish_mobilenet": (OPS.hard_swish_mobilenet, OPS.backprop_hard_swish_mobilenet),
    "dish": (OPS.dish, OPS.backprop_dish),
    "gelu": (OPS.gelu, OPS.backprop_gelu),
    "gelu_approx": (OPS.gelu_approx, OPS.backprop_gelu_approx),
    "mish": (OPS.mish, OPS.backprop_mish),
    "swish": (OPS.swish, lambda dY, X: OPS.backprop_swish(dY, X, OPS.swish(X))),
    "relu": (OPS.relu, lambda dY, X: OPS.backprop_relu(dY, OPS.relu(X))),
    "sigmoid": (OPS.sigmoid, lambda dY, X: OPS.backprop_sigmoid(dY, OPS.sigmoid(X))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS_FROM_X))
def test_activation_gradients(name: str) -> None:
    forward, backward = ACTIVATIONS_FROM_X[name]
    X = smooth_input(seed=1)
    dY = numpy.random.default_rng(2).normal(size=X.shape)
    expected = numeric_gradient(forward, X, dY)
    # erf is a 1e-7 approximation, so gelu's derivative is only that close.
    tolerance = 1e-5 if name == "gelu" else 1e-7
    numpy.testing.assert_allclose(
        backward(dY.copy(), X.copy()), expected, atol=tolerance, rtol=1e-5
    )


@pytest.mark.parametrize("name", sorted(ACTIVATIONS_FROM_X))
def test_activation_gradients_inplace(name: str) -> None:
    forward, backward = ACTIVATIONS_FROM_X[name]
    X = smooth_input(seed=3)
    dY = numpy.random.default_rng(4).normal(size=X.shape)
    expected = backward(dY.copy(), X.copy())
    if name in ("swish", "relu", "sigmoid"):
        return  # their inplace flag is exercised in test_ops.py
    method = getattr(OPS, "backprop_" + name)
    kwargs = {"n": 2.0} if name == "relu_k" else {}
    if name == "clipped_linear":
        kwargs = dict(slope=1.5, offset=0.3, min_val=-1.0, max_val=2.0)
    target = dY.copy()
    result = method(target, X.copy(), inplace=True, **kwargs)
    assert result is target
    numpy.testing.assert_allclose(target, expected)


def test_dsigmoid_dtanh_sechsq_are_derivatives() -> None:
    X = smooth_input(seed=5)
    ones = numpy.ones_like(X)
    numpy.testing.assert_allclose(
        OPS.dsigmoid(OPS.sigmoid(X)), numeric_gradient(OPS.sigmoid, X, ones), atol=1e-7
    )
    numpy.testing.assert_allclose(
        OPS.dtanh(numpy.tanh(X)), numeric_gradient(numpy.tanh, X, ones), atol=1e-7
    )
    numpy.testing.assert_allclose(OPS.sechsq(X), numeric_gradient(numpy.tanh, X, ones), atol=1e-7)


@pytest.mark.parametrize("axis,temperature", [(-1, 1.0), (0, 1.0), (-1, 0.7), (1, 2.0)])
def test_softmax_gradient(axis: int, temperature: float) -> None:
    X = smooth_input(seed=6, shape=(3, 4))
    dY = numpy.random.default_rng(7).normal(size=X.shape)
    forward = lambda A: OPS.softmax(A, axis=axis, temperature=temperature)  # noqa: E731
    Y = forward(X)
    got = OPS.backprop_softmax(Y, dY, axis=axis, temperature=temperature)
    numpy.testing.assert_allclose(got, numeric_gradient(forward, X, dY), atol=1e-7)


def test_softmax_sequences_gradient() -> None:
    X = smooth_input(seed=8, shape=(7, 3))
    lengths = numpy.asarray([2, 0, 4, 1], "i")
    dY = numpy.random.default_rng(9).normal(size=X.shape)
    forward = lambda A: OPS.softmax_sequences(A, lengths)  # noqa: E731
    got = OPS.backprop_softmax_sequences(dY, forward(X), lengths)
    numpy.testing.assert_allclose(got, numeric_gradient(forward, X, dY), atol=1e-7)


@pytest.mark.parametrize("nW", [0, 1, 2, 3])
@pytest.mark.parametrize("lengths", [None, [3, 0, 1, 4], [8]])
def test_seq2col_gradient(nW: int, lengths) -> None:
    X = smooth_input(seed=10, shape=(8, 2))
    lengths_array = None if lengths is None else numpy.asarray(lengths, "i")
    forward = lambda A: OPS.seq2col(A, nW, lengths=lengths_array)  # noqa: E731
    dY = numpy.random.default_rng(11).normal(size=forward(X).shape)
    got = OPS.backprop_seq2col(dY, nW, lengths=lengths_array)
    numpy.testing.assert_allclose(got, numeric_gradient(forward, X, dY), atol=1e-7)


REDUCTIONS = ["sum", "mean", "max", "first", "last"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduction_gradients(reduction: str) -> None:
    X = smooth_input(seed=12, shape=(9, 3))
    lengths = numpy.asarray([2, 1, 4, 2], "i")
    if reduction in ("sum", "mean"):
        lengths = numpy.asarray([2, 0, 1, 4, 2], "i")
    forward = getattr(OPS, "reduce_" + reduction)

    def first(A: numpy.ndarray) -> numpy.ndarray:
        output = forward(A, lengths)
        return output[0] if isinstance(output, tuple) else output

    dY = numpy.random.default_rng(13).normal(size=first(X).shape)
    output = forward(X, lengths)
    backward = getattr(OPS, "backprop_reduce_" + reduction)
    if reduction == "max":
        got = backward(dY, output[1], lengths)
    elif reduction in ("first", "last"):
        got = backward(dY, output[1])
    else:
        got = backward(dY, lengths)
    numpy.testing.assert_allclose(got, numeric_gradient(first, X, dY), atol=1e-7)


def test_maxout_gradient() -> None:
    X = smooth_input(seed=14, shape=(3, 4, 5))
    dY = numpy.random.default_rng(15).normal(size=(3, 4))
    _, which = OPS.maxout(X)
    got = OPS.backprop_maxout(dY, which, 5)
    numpy.testing.assert_allclose(
        got, numeric_gradient(lambda A: OPS.maxout(A)[0], X, dY), atol=1e-7
    )


def test_gather_add_scatter_add_are_adjoint() -> None:
    table = smooth_input(seed=16, shape=(6, 3))
    indices = numpy.asarray([[0, 5], [2, 2], [1, 0], [5, 4]], "i")
    dY = numpy.random.default_rng(17).normal(size=(4, 3))
    d_table = numpy.zeros_like(table)
    for k in range(indices.shape[1]):
        OPS.scatter_add(d_table, indices[:, k], dY)
    expected = numeric_gradient(lambda T: OPS.gather_add(T, indices), table, dY)
    numpy.testing.assert_allclose(d_table, expected, atol=1e-7)


def lstm_inputs(depth: int, dirs: int, nO: int, nI: int, size_at_t, seed: int):
    rng = numpy.random.default_rng(seed)
    size, width = 0, nI
    for _ in range(depth):
        size += dirs * (4 * nO * width + 4 * nO + 4 * nO * nO + 4 * nO)
        width = nO * dirs
    params = rng.normal(size=size) * 0.5
    H0 = rng.normal(size=(depth, dirs, nO))
    C0 = rng.normal(size=(depth, dirs, nO))
    size_at_t = numpy.asarray(size_at_t, "i")
    X = rng.normal(size=(int(size_at_t.sum()), nI))
    return params, H0, C0, X, size_at_t


@pytest.mark.parametrize(
    "depth,dirs,size_at_t",
    [(1, 1, [1]), (1, 1, [3, 2, 2, 1]), (2, 1, [2, 2, 1]), (1, 2, [3, 2, 1]), (2, 2, [3, 3, 1])],
)
def test_lstm_gradients(depth: int, dirs: int, size_at_t) -> None:
    nO, nI = 2, 3
    params, H0, C0, X, sizes = lstm_inputs(depth, dirs, nO, nI, size_at_t, seed=depth * 10 + dirs)
    Y, state = OPS.lstm_forward_training(params, H0, C0, X, sizes)
    dY = numpy.random.default_rng(18).normal(size=Y.shape)
    dX, d_params = OPS.backprop_lstm(dY, sizes, params, state)
    forward_x = lambda A: OPS.lstm_forward_inference(params, H0, C0, A, sizes)  # noqa: E731
    forward_params = lambda P: OPS.lstm_forward_inference(P, H0, C0, X, sizes)  # noqa: E731
    numpy.testing.assert_allclose(dX, numeric_gradient(forward_x, X, dY), atol=1e-6)
    numpy.testing.assert_allclose(d_params, numeric_gradient(forward_params, params, dY), atol=1e-6)


def test_backprop_lstm_accepts_thinc_state_tuple() -> None:
    # thinc 8.3's state is (Y, gates, cells, X): its initial states count as zeros.
    params, H0, C0, X, sizes = lstm_inputs(1, 2, 2, 3, [3, 2, 1], seed=5)
    H0[...] = 0.0
    C0[...] = 0.0
    Y, state = OPS.lstm_forward_training(params, H0, C0, X, sizes)
    dY = numpy.random.default_rng(19).normal(size=Y.shape)
    full = OPS.backprop_lstm(dY, sizes, params, state)
    short = OPS.backprop_lstm(dY, sizes, params, tuple(state[:4]))
    numpy.testing.assert_allclose(full[0], short[0])
    numpy.testing.assert_allclose(full[1], short[1])
    with pytest.raises(ValueError, match="fwd_state"):
        OPS.backprop_lstm(dY, sizes, params, tuple(state[:3]))
    with pytest.raises(ValueError, match="dY"):
        OPS.backprop_lstm(dY[:, :2], sizes, params, state)
