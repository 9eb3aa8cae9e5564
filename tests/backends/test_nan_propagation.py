"""NaN and infinity through NumpyOps' activations, their backprops and softmax:
NaN in an element's inputs gives NaN in that element's output; finite inputs
never give NaN; where thinc 8.3.14 (numpy's formulas) gives a number we give
the same number, and where it gives NaN on an infinite input we do too; results
that underflow are exactly 0. Every case runs both on a short array (the
scalar or masked tail) and a long one (the vector body)."""

import tempfile
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy
import pytest

from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

from ..util import require_ref_thinc
from ._activations import PLAIN_ACTIVATIONS, PLAIN_BACKPROPS_FROM_INPUT
from .test_ops_oracle import _run_oracle

OPS = NumpyOps()
REFERENCE = Ops()
NAN, INF = float("nan"), float("inf")

FORWARD = PLAIN_ACTIVATIONS + ("relu_k", "clipped_linear", "dsigmoid", "dtanh")
# backprop(dY, S): S is the activation's input, except for these two (its output).
BACKWARD = PLAIN_BACKPROPS_FROM_INPUT + (
    "backprop_relu_k",
    "backprop_clipped_linear",
    "backprop_relu",
    "backprop_sigmoid",
    "backprop_swish",
)
DTYPES = ("float32", "float64")
SIZES = (5, 70)

# Large and small finite values, kinks and clip points; no NaN, no inf.
EXTREMES = [
    3.4e38,
    -3.4e38,
    3e38,
    -3e38,
    1e30,
    -1e30,
    1e19,
    -1e19,
    1e10,
    -1e10,
    100.0,
    -100.0,
    88.0,
    -88.0,
    87.5,
    -87.5,
    20.5,
    -20.5,
    1e-40,
    -1e-40,
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.5,
    -2.5,
    3.0,
    -3.0,
    6.0,
    7.0,
]
SPECIALS = [NAN, INF, -INF] + EXTREMES


def _tiled(values, size: int, dtype: str) -> numpy.ndarray:
    with numpy.errstate(over="ignore"):
        return numpy.resize(numpy.asarray(values, dtype="float64"), size).astype(dtype)


def _backprop(name: str, dY: numpy.ndarray, S: numpy.ndarray, ops: Ops = OPS) -> numpy.ndarray:
    with numpy.errstate(all="ignore"):
        if name == "backprop_swish":
            return ops.backprop_swish(dY, S, ops.swish(S))
        return getattr(ops, name)(dY, S)


@pytest.mark.parametrize("ops", [OPS, REFERENCE], ids=["numpy", "reference"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FORWARD)
def test_forward_nan_in_is_nan_out(name, dtype, size, ops):
    X = numpy.linspace(-8, 8, size).astype(dtype)
    nan_at = [0, size // 2, size - 1]
    X[nan_at] = NAN
    with numpy.errstate(invalid="ignore"):
        Y = getattr(ops, name)(X.copy())
    assert numpy.array_equal(numpy.isnan(Y), numpy.isnan(X)), (X, Y)


@pytest.mark.parametrize("ops", [OPS, REFERENCE], ids=["numpy", "reference"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", BACKWARD)
def test_backward_nan_in_is_nan_out(name, dtype, size, ops):
    S = numpy.linspace(-8, 8, size).astype(dtype)
    dY = numpy.linspace(-2, 2, size).astype(dtype)
    # NaN in the gradient at some elements and in the saved array at others.
    dY[[0, size - 2]] = NAN
    S[[1, size // 2, size - 1]] = NAN
    dX = _backprop(name, dY, S, ops)
    assert numpy.array_equal(numpy.isnan(dX), numpy.isnan(dY) | numpy.isnan(S)), (S, dY, dX)


@pytest.mark.parametrize("size", [len(EXTREMES), 70])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FORWARD + BACKWARD)
def test_finite_inputs_give_no_nan(name, dtype, size):
    S = _tiled(EXTREMES, size, dtype)
    with numpy.errstate(all="ignore"):
        if name in FORWARD:
            out = getattr(OPS, name)(S.copy())
        else:
            out = _backprop(name, numpy.ones_like(S), S)
    assert not numpy.isnan(out).any(), S[numpy.isnan(out)]


def test_issue_examples():
    nan32 = numpy.float32(NAN)
    for size in SIZES:
        for dtype in DTYPES:
            X = numpy.full(size, NAN, dtype=dtype)
            assert numpy.isnan(OPS.relu(X)).all()
            assert numpy.isnan(OPS.sigmoid(X)).all()
            assert numpy.isnan(OPS.relu_k(numpy.ones(size, dtype), n=NAN)).all()
    assert numpy.isnan(OPS.sigmoid(numpy.array([nan32] * 9))).all()
    # Softmax: an inf or NaN anywhere in a row makes the whole row NaN, as in numpy.
    rows = numpy.array([[INF, 0, 1], [NAN, 0, 1]], dtype="float32")
    assert numpy.isnan(OPS.softmax(rows)).all()
    mish = OPS.mish(numpy.array([-3e38, -1e30, -100.0], dtype="float32"))
    assert numpy.array_equal(mish, numpy.zeros(3, "float32"))
    d_mish = OPS.backprop_mish(
        numpy.ones(3, "float32"), numpy.array([-3e38, -1e30, -100.0], "float32")
    )
    assert numpy.array_equal(d_mish, numpy.zeros(3, "float32"))


@pytest.mark.parametrize("width", [3, 45])
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_special_rows_match_numpy(dtype, width):
    rows = numpy.array(
        [
            [INF, 0, 1],
            [NAN, 0, 1],
            [-INF, 0, 1],
            [-INF] * 3,
            [1e30, -1e30, 0],
            [200, 0, 100],
            [-200, 0, -1],
        ],
        dtype=dtype,
    )
    X = numpy.tile(rows, (1, width // 3))
    dY = _gradient_like(X)
    with numpy.errstate(all="ignore"):
        ours = OPS.softmax(X)
        expected = REFERENCE.softmax(X)
        d_ours = OPS.backprop_softmax(ours, dY)
        d_expected = REFERENCE.backprop_softmax(expected, dY)
    _assert_same_specials(ours, expected)
    _assert_same_specials(d_ours, d_expected, gradient=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_sequences_special_columns_match_numpy(dtype):
    X = numpy.array(
        [
            [INF, 0, 1],
            [NAN, 0, 1],
            [-INF, 0, 1],
            [-INF, -INF, -INF],
            [1e30, -1e30, 0],
            [200, 0, 100],
        ],
        dtype=dtype,
    )
    lengths = numpy.array([2, 1, 3], dtype="int32")
    dY = _gradient_like(X)
    with numpy.errstate(all="ignore"):
        ours = OPS.softmax_sequences(X, lengths)
        expected = REFERENCE.softmax_sequences(X, lengths)
        d_ours = OPS.backprop_softmax_sequences(dY, ours, lengths)
        d_expected = REFERENCE.backprop_softmax_sequences(dY, expected, lengths)
    _assert_same_specials(ours, expected)
    _assert_same_specials(d_ours, d_expected, gradient=True)


def _gradient_like(X: numpy.ndarray) -> numpy.ndarray:
    """A moderate gradient with one NaN (its row or column of the result turns NaN)."""
    dY = numpy.linspace(-1, 1, X.size).reshape(X.shape).astype(X.dtype)
    dY[-1, 1] = NAN
    return dY


def _assert_same_specials(
    ours: numpy.ndarray, expected: numpy.ndarray, gradient: bool = False
) -> None:
    """Same NaN positions and close values; the forward results are exactly 0
    where the reference's are (a gradient's zeros come from cancellation instead)."""
    assert numpy.array_equal(numpy.isnan(ours), numpy.isnan(expected)), (ours, expected)
    if not gradient:
        zeros = expected == 0
        assert (ours[zeros] == 0).all(), (ours, expected)
    numpy.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-7 if gradient else 1e-30)


# --- against thinc 8.3.14 -------------------------------------------------------------

# Where 8.3.14 gives NaN but the limit is a number (its float32 sqrt(1 + x^2)
# overflows, and inf / inf is NaN): dish(+inf) is +inf.
FORWARD_NAN_DEVIATIONS = {("dish", INF)}
# 8.3.14's float32 dish halves its result once 1 + x^2 overflows (|x| > 1.8e19).
VALUE_DEVIATIONS = {("dish", "float32")}


def _oracle_cases() -> Dict[str, Tuple[str, str, tuple, dict]]:
    cases = {}
    for dtype in DTYPES:
        for size in (len(SPECIALS), 70):
            X = _tiled(SPECIALS, size, dtype)
            for name in FORWARD:
                cases[f"{name}|{dtype}|{size}"] = ("numpy", name, (X,), {})
            for name in BACKWARD:
                if name == "backprop_swish":
                    continue
                cases[f"{name}|{dtype}|{size}"] = ("numpy", name, (numpy.ones_like(X), X), {})
    return cases


@pytest.fixture(scope="module")
def thinc_8_3_14() -> Dict[str, Any]:
    python = require_ref_thinc()
    with tempfile.TemporaryDirectory(prefix="nan_oracle_") as folder:
        yield _run_oracle(python, Path(folder), _oracle_cases())


@pytest.mark.parametrize("case", sorted(_oracle_cases()))
def test_specials_against_thinc_8_3_14(thinc_8_3_14, case):
    name, dtype, _ = case.split("|")
    _, _, args, _ = thinc_8_3_14["cases"][case]
    status, theirs = thinc_8_3_14["results"][case]
    if status != "ok" and f"has no attribute '{name}'" in str(theirs):
        pytest.skip(f"thinc 8.3.14 has no {name} (an op added since)")
    assert status == "ok", theirs
    with numpy.errstate(all="ignore"):
        if name in FORWARD:
            X = args[0]
            ours = getattr(OPS, name)(X.copy())
        else:
            X = args[1]
            ours = _backprop(name, args[0].copy(), X.copy())
    nan_in = numpy.isnan(X)
    # We never give NaN where 8.3.14 gives a number, except for NaN inputs.
    introduced = numpy.isnan(ours) & ~numpy.isnan(theirs) & ~nan_in
    assert not introduced.any(), X[introduced]
    if name not in FORWARD:
        return
    # A NaN that 8.3.14 gives for an infinite input is kept (hard_swish(-inf) = -inf * 0).
    dropped = numpy.isnan(theirs) & ~numpy.isnan(ours)
    dropped &= ~numpy.array([(name, float(x)) in FORWARD_NAN_DEVIATIONS for x in X])
    assert not dropped.any(), X[dropped]
    if (name, dtype) in VALUE_DEVIATIONS:
        return
    both = ~numpy.isnan(ours) & ~numpy.isnan(theirs)
    numpy.testing.assert_allclose(
        ours[both],
        theirs[both],
        rtol=2e-5 if dtype == "float32" else 1e-7,
        atol=1e-6,
        err_msg=str(X[both]),
    )
