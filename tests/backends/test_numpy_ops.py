"""NumpyOps' compiled kernels against hand-written formulas, the reference Ops,
and thinc 8.3.14's outputs; plus input validation and a crash fuzz test."""

import pickle
import subprocess
import sys

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thinc.backends import numpy_ops
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

from ..util import require_ref_thinc

OPS = NumpyOps()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def reference(name: str):
    """The reference Ops' implementation of ``name``; skip while it is missing."""
    if not hasattr(Ops, name):
        pytest.skip(f"reference Ops.{name} not available yet")
    return getattr(Ops(), name)


def tolerance(dtype) -> dict:
    return dict(rtol=2e-5, atol=2e-6) if dtype == numpy.float32 else dict(rtol=1e-9, atol=1e-12)


@st.composite
def float_arrays(draw, min_dims=1, max_dims=3):
    """Random float32/float64 arrays, sometimes empty, sometimes strided views."""
    dtype = draw(st.sampled_from([numpy.float32, numpy.float64]))
    shape = tuple(draw(st.lists(st.integers(0, 9), min_size=min_dims, max_size=max_dims)))
    strided = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = numpy.random.default_rng(seed)
    scale = draw(st.sampled_from([0.5, 3.0, 30.0]))
    if strided and shape:
        wide = shape[:-1] + (shape[-1] * 2,)
        array = (rng.standard_normal(wide) * scale).astype(dtype)[..., ::2]
    else:
        array = (rng.standard_normal(shape) * scale).astype(dtype)
    return array


def _sigmoid(x):
    return 1.0 / (1.0 + numpy.exp(-numpy.clip(x, -20, 20)))


def _normal_cdf(x):
    from math import erf

    return 0.5 * (1.0 + numpy.vectorize(erf, otypes=["f8"])(x / numpy.sqrt(2.0)))


def _gelu_approx_parts(x):
    inner = numpy.sqrt(2.0 / numpy.pi) * (x + 0.044715 * x**3)
    return inner, numpy.tanh(inner)


def _mish_grad(x, threshold=20.0):
    softplus = numpy.logaddexp(0, x)
    t = numpy.tanh(softplus)
    grad = t + x * (1 - t * t) * numpy.exp(-numpy.logaddexp(0, -x))
    return numpy.where(x >= threshold, 1.0, grad)


# name -> (forward(x), gradient factor(x) such that dX = dY * factor).
FORMULAS = {
    "relu": (lambda x: numpy.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "relu_k": (lambda x: numpy.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0),
    "hard_sigmoid": (
        lambda x: numpy.clip(0.2 * x + 0.5, 0, 1),
        lambda x: numpy.where((0.2 * x + 0.5 > 0) & (0.2 * x + 0.5 < 1), 0.2, 0.0),
    ),
    "hard_tanh": (lambda x: numpy.clip(x, -1, 1), lambda x: ((x > -1) & (x < 1)) * 1.0),
    "hard_swish": (
        lambda x: x * numpy.clip(0.2 * x + 0.5, 0, 1),
        lambda x: numpy.where(x > 2.5, 1.0, numpy.where(x < -2.5, 0.0, 0.4 * x + 0.5)),
    ),
    "hard_swish_mobilenet": (
        lambda x: x * numpy.clip(x + 3, 0, 6) / 6,
        lambda x: numpy.where(x > 3, 1.0, numpy.where(x < -3, 0.0, (2 * x + 3) / 6)),
    ),
    "swish": (
        lambda x: x * _sigmoid(x),
        lambda x: x * _sigmoid(x) + _sigmoid(x) * (1 - x * _sigmoid(x)),
    ),
    "gelu": (
        lambda x: x * _normal_cdf(x),
        lambda x: _normal_cdf(x) + x * numpy.exp(-0.5 * x * x) / numpy.sqrt(2 * numpy.pi),
    ),
    "gelu_approx": (
        lambda x: 0.5 * x * (1 + _gelu_approx_parts(x)[1]),
        lambda x: (
            0.5 * (1 + _gelu_approx_parts(x)[1])
            + 0.5
            * x
            * (1 - _gelu_approx_parts(x)[1] ** 2)
            * numpy.sqrt(2 / numpy.pi)
            * (1 + 3 * 0.044715 * x * x)
        ),
    ),
    "dish": (
        lambda x: x * (0.5 + 0.5 * x / numpy.sqrt(1 + x * x)),
        lambda x: 0.5 + x / numpy.sqrt(1 + x * x) - 0.5 * x**3 / (1 + x * x) ** 1.5,
    ),
    "mish": (
        lambda x: numpy.where(x >= 20, x, x * numpy.tanh(numpy.logaddexp(0, x))),
        _mish_grad,
    ),
    "sigmoid": (_sigmoid, None),
    "clipped_linear": (lambda x: numpy.clip(x, 0, 1), lambda x: ((x > 0) & (x < 1)) * 1.0),
}

# The approximations of exp/erf used for float32 are checked more loosely.
LOOSE = {
    "gelu": dict(rtol=2e-4, atol=2e-6),
    "gelu_approx": dict(rtol=1e-4, atol=2e-6),
    "mish": dict(rtol=1e-4, atol=2e-6),
    "swish": dict(rtol=1e-4, atol=2e-6),
    "sigmoid": dict(rtol=1e-5, atol=1e-6),
    "dish": dict(rtol=1e-5, atol=2e-5),
}


def _backprop(ops, name, dY, X, Y, **kwargs):
    method = getattr(ops, "backprop_" + name)
    if name == "swish":
        return method(dY, X, Y, **kwargs)
    if name in ("relu", "sigmoid"):
        return method(dY, Y, **kwargs)
    return method(dY, X, **kwargs)


def _check_close(got, expected, dtype, name, against_reference=False):
    tol = tolerance(dtype)
    if against_reference and dtype == numpy.float64:
        # The reference approximates erf and does not clip sigmoid's input as
        # thinc does (|x| > 20), so float64 agreement is to about 1e-6.
        tol = dict(rtol=1e-6, atol=1e-6)
    if dtype == numpy.float32 and name in LOOSE:
        tol = LOOSE[name]
    if name in ("gelu",) and dtype == numpy.float64 and not against_reference:
        tol = dict(rtol=1e-7, atol=1e-10)
    numpy.testing.assert_allclose(numpy.asarray(got, "f8"), expected, err_msg=name, **tol)


@pytest.mark.parametrize("name", sorted(FORMULAS))
@SETTINGS
@given(X=float_arrays())
def test_activation_matches_formula(name, X):
    forward, factor = FORMULAS[name]
    x64 = X.astype("f8")
    Y = getattr(OPS, name)(X)
    assert Y.dtype == X.dtype and Y.shape == X.shape
    _check_close(Y, forward(x64), X.dtype, name)
    dY = numpy.ones_like(X) * numpy.asarray(1.5, X.dtype)
    dX = _backprop(OPS, name, dY, X, Y)
    assert dX.dtype == X.dtype and dX.shape == X.shape
    if factor is None:  # sigmoid's backprop works from its output
        expected = 1.5 * Y.astype("f8") * (1 - Y.astype("f8"))
    else:
        expected = 1.5 * factor(x64)
    # Exactly at a kink the two sides may disagree; skip such elements.
    mask = numpy.ones(X.shape, bool)
    for kink in (-3, -2.5, -1, 0, 1, 2.5, 3, 6, 20):
        mask &= numpy.abs(x64 - kink) > 1e-6
    _check_close(numpy.asarray(dX)[mask], expected[mask], X.dtype, name)


@pytest.mark.parametrize("name", sorted(FORMULAS))
@SETTINGS
@given(X=float_arrays())
def test_activation_matches_reference_ops(name, X):
    ref = reference(name)
    Y = getattr(OPS, name)(X)
    _check_close(Y, numpy.asarray(ref(X.copy()), "f8"), X.dtype, name, True)
    dY = numpy.full(X.shape, 0.75, dtype=X.dtype)
    got = _backprop(OPS, name, dY.copy(), X, Y)
    expected = _backprop(Ops(), name, dY.copy(), X.copy(), Y.copy())
    _check_close(got, numpy.asarray(expected, "f8"), X.dtype, name, True)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_inplace(name):
    rng = numpy.random.default_rng(1)
    X = (rng.standard_normal((13, 7)) * 3).astype("f")
    expected = getattr(OPS, name)(X.copy())
    work = X.copy()
    result = getattr(OPS, name)(work, inplace=True)
    assert result is work
    numpy.testing.assert_array_equal(work, expected)
    # A strided array is written through as well.
    wide = numpy.zeros((13, 14), "f")
    wide[:, ::2] = X
    result = getattr(OPS, name)(wide[:, ::2], inplace=True)
    numpy.testing.assert_array_equal(wide[:, ::2], expected)
    assert numpy.all(wide[:, 1::2] == 0)
    dY = rng.standard_normal(X.shape).astype("f")
    expected_dX = _backprop(OPS, name, dY.copy(), X, expected)
    work_dY = dY.copy()
    got = _backprop(OPS, name, work_dY, X, expected, inplace=True)
    assert got is work_dY
    numpy.testing.assert_array_equal(got, expected_dX)


def test_dsigmoid_dtanh():
    Y = numpy.linspace(-1, 1, 11, dtype="f")
    numpy.testing.assert_allclose(OPS.dsigmoid(Y), Y * (1 - Y), rtol=1e-6)
    numpy.testing.assert_allclose(OPS.dtanh(Y), 1 - Y * Y, rtol=1e-6)


def test_clipped_linear_parameters():
    X = numpy.linspace(-5, 5, 41, dtype="f")
    Y = OPS.clipped_linear(X, slope=0.5, offset=1.0, min_val=-0.5, max_val=2.0)
    numpy.testing.assert_allclose(Y, numpy.clip(0.5 * X + 1, -0.5, 2.0), rtol=1e-6)
    dX = OPS.backprop_clipped_linear(
        numpy.ones_like(X), X, slope=0.5, offset=1.0, min_val=-0.5, max_val=2.0
    )
    inner = 0.5 * X + 1
    numpy.testing.assert_allclose(dX, numpy.where((inner > -0.5) & (inner < 2.0), 0.5, 0.0))
    numpy.testing.assert_allclose(OPS.relu_k(X, n=2.0), numpy.clip(X, 0, 2.0))
    numpy.testing.assert_allclose(OPS.mish(X, threshold=1.0)[X >= 1.0], X[X >= 1.0])


def test_non_float_input_uses_reference():
    X = numpy.arange(-3, 4, dtype="i")
    ref = reference("relu")
    numpy.testing.assert_array_equal(OPS.relu(X), ref(X.copy()))


# ---------------------------------------------------------------------------
# gemm and affine


@SETTINGS
@given(
    M=st.integers(0, 17),
    N=st.integers(0, 17),
    K=st.integers(0, 17),
    trans1=st.booleans(),
    trans2=st.booleans(),
    dtype=st.sampled_from(["f", "d"]),
    strided=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_gemm(M, N, K, trans1, trans2, dtype, strided, seed):
    rng = numpy.random.default_rng(seed)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    x = a.T.copy() if trans1 else a
    y = b.T.copy() if trans2 else b
    if strided:
        x = numpy.repeat(x, 2, axis=1)[:, ::2]
        y = numpy.repeat(y, 2, axis=1)[:, ::2]
    expected = a.astype("f8") @ b.astype("f8")
    got = OPS.gemm(x, y, trans1=trans1, trans2=trans2)
    assert got.shape == (M, N) and got.dtype == numpy.dtype(dtype)
    numpy.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    out = numpy.full((M, N), 7, dtype=dtype)
    assert OPS.gemm(x, y, out=out, trans1=trans1, trans2=trans2) is out
    numpy.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_gemm_large_and_strided_out():
    rng = numpy.random.default_rng(0)
    a = rng.standard_normal((300, 200)).astype("f")
    b = rng.standard_normal((200, 150)).astype("f")
    numpy.testing.assert_allclose(OPS.gemm(a, b), a @ b, rtol=1e-4, atol=1e-3)
    out = numpy.zeros((150, 300), "f").T
    OPS.gemm(a, b, out=out)
    numpy.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-3)
    numpy.testing.assert_allclose(NumpyOps(use_blis=False).gemm(a, b), a @ b, rtol=1e-4, atol=1e-3)


def test_gemm_errors():
    a = numpy.ones((2, 3), "f")
    with pytest.raises(ValueError, match="shape mismatch"):
        OPS.gemm(a, a)
    with pytest.raises(ValueError, match="float32 or two float64"):
        OPS.gemm(a, a.T.astype("f8"))
    with pytest.raises(ValueError, match="float32 or two float64"):
        OPS.gemm(a.astype("i"), a.T.astype("i"))
    with pytest.raises(ValueError, match="2-dimensional"):
        OPS.gemm(a.ravel(), a)
    with pytest.raises(ValueError, match="out"):
        OPS.gemm(a, a.T, out=numpy.zeros((3, 3), "f"))
    with pytest.raises(TypeError):
        OPS.gemm([[1.0]], a)


def test_affine():
    rng = numpy.random.default_rng(2)
    X = rng.standard_normal((9, 4)).astype("f")
    W = rng.standard_normal((5, 4)).astype("f")
    b = rng.standard_normal((5,)).astype("f")
    numpy.testing.assert_allclose(OPS.affine(X, W, b), X @ W.T + b, rtol=1e-5, atol=1e-5)


def test_blas_backend_is_named():
    assert NumpyOps.blas_backend.startswith("float32: ")
    assert set(OPS.paths()) >= {"isa", "gemm", "threads"}
    assert OPS.name == "numpy" and OPS.xp is numpy and OPS.use_blis is True
    assert NumpyOps(use_blis=False).use_blis is False


# ---------------------------------------------------------------------------
# Sequence ops


@st.composite
def sequences(draw, allow_empty_sequences=True):
    dtype = draw(st.sampled_from([numpy.float32, numpy.float64]))
    low = 0 if allow_empty_sequences else 1
    lengths = draw(st.lists(st.integers(low, 7), min_size=0, max_size=6))
    n_col = draw(st.integers(0 if allow_empty_sequences else 1, 6))
    rng = numpy.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.standard_normal((sum(lengths), n_col)).astype(dtype)
    if draw(st.booleans()) and n_col:
        X = numpy.asfortranarray(X)
    return X, numpy.asarray(lengths, dtype=draw(st.sampled_from(["i", "int64"])))


def _split(X, lengths):
    return numpy.split(X, numpy.cumsum(lengths)[:-1]) if len(lengths) else []


@SETTINGS
@given(data=sequences())
def test_reduce_sum_mean(data):
    X, lengths = data
    parts = _split(X, lengths)
    sums = numpy.asarray([p.sum(axis=0) for p in parts]).reshape(len(lengths), X.shape[1])
    means = numpy.asarray([p.mean(axis=0) if len(p) else numpy.zeros(X.shape[1]) for p in parts])
    means = means.reshape(len(lengths), X.shape[1])
    got = OPS.reduce_sum(X, lengths)
    assert got.dtype == X.dtype
    numpy.testing.assert_allclose(got, sums, **tolerance(X.dtype))
    numpy.testing.assert_allclose(OPS.reduce_mean(X, lengths), means, **tolerance(X.dtype))
    d = numpy.arange(sums.size, dtype=X.dtype).reshape(sums.shape)
    expected = numpy.repeat(d, lengths, axis=0)
    numpy.testing.assert_allclose(OPS.backprop_reduce_sum(d, lengths), expected)
    scale = numpy.repeat(1.0 / numpy.maximum(lengths, 1), lengths)[:, None]
    numpy.testing.assert_allclose(
        OPS.backprop_reduce_mean(d, lengths), expected * scale, **tolerance(X.dtype)
    )


@SETTINGS
@given(data=sequences(allow_empty_sequences=False))
def test_reduce_max_first_last(data):
    X, lengths = data
    parts = _split(X, lengths)
    maxes, which = OPS.reduce_max(X, lengths)
    assert which.dtype == numpy.int32
    for i, part in enumerate(parts):
        numpy.testing.assert_array_equal(maxes[i], part.max(axis=0))
        numpy.testing.assert_array_equal(which[i], part.argmax(axis=0))
    d = numpy.ones_like(maxes)
    dX = OPS.backprop_reduce_max(d, which, lengths)
    for i, part in enumerate(_split(dX, lengths)):
        assert numpy.all(part.sum(axis=0) == 1)
        numpy.testing.assert_array_equal(part.argmax(axis=0), which[i])
    firsts, starts_ends = OPS.reduce_first(X, lengths)
    lasts, last_index = OPS.reduce_last(X, lengths)
    for i, part in enumerate(parts):
        numpy.testing.assert_array_equal(firsts[i], part[0])
        numpy.testing.assert_array_equal(lasts[i], part[-1])
    numpy.testing.assert_array_equal(starts_ends, numpy.concatenate([[0], numpy.cumsum(lengths)]))


def test_reduction_errors():
    X = numpy.ones((6, 2), "f")
    with pytest.raises(ValueError, match="> 0"):
        OPS.reduce_max(X, numpy.array([2, 0, 4], "i"))
    with pytest.raises(ValueError, match="> 0"):
        OPS.reduce_first(X, numpy.array([2, 0, 4], "i"))
    with pytest.raises(IndexError, match="sum up"):
        OPS.reduce_sum(X, numpy.array([4, 4], "i"))
    with pytest.raises(ValueError, match="non-negative"):
        OPS.reduce_sum(X, numpy.array([8, -2], "i"))
    with pytest.raises(ValueError, match="integers"):
        OPS.reduce_mean(X, numpy.array([2.0, 4.0]))
    with pytest.raises(IndexError, match="outside"):
        OPS.backprop_reduce_max(
            numpy.ones((1, 2), "f"), numpy.array([[0, 3]], "i"), numpy.array([3], "i")
        )
    with pytest.raises(ValueError, match="lengths"):
        OPS.backprop_reduce_sum(numpy.ones((2, 2), "f"), numpy.array([3], "i"))
    # A shorter total is allowed, as in thinc: trailing rows are ignored.
    numpy.testing.assert_array_equal(OPS.reduce_sum(X, numpy.array([2, 2], "i")), [[2, 2], [2, 2]])


@SETTINGS
@given(data=sequences(), nW=st.integers(0, 3))
def test_seq2col(data, nW):
    X, lengths = data
    got = OPS.seq2col(X, nW, lengths=lengths)
    width = X.shape[1]
    assert got.shape == (X.shape[0], (2 * nW + 1) * width)
    start = 0
    for length in lengths:
        for row in range(length):
            for offset in range(-nW, nW + 1):
                block = got[start + row, (offset + nW) * width : (offset + nW + 1) * width]
                source = row + offset
                expected = X[start + source] if 0 <= source < length else numpy.zeros(width)
                numpy.testing.assert_array_equal(block, expected)
        start += length
    # backprop is the transpose of the forward map: <seq2col(X), G> == <X, backprop(G)>.
    G = numpy.random.default_rng(0).standard_normal(got.shape).astype(X.dtype)
    dX = OPS.backprop_seq2col(G, nW, lengths=lengths)
    assert dX.shape == X.shape
    numpy.testing.assert_allclose((got * G).sum(), (X * dX).sum(), rtol=1e-4, atol=1e-4)
    if len(lengths) == 1:
        numpy.testing.assert_array_equal(OPS.seq2col(X, nW), got)


def test_seq2col_errors():
    X = numpy.ones((5, 2), "f")
    with pytest.raises(ValueError, match="nW"):
        OPS.seq2col(X, -1)
    with pytest.raises((ValueError, IndexError), match="sum up"):
        OPS.seq2col(X, 1, lengths=numpy.array([2, 2], "i"))
    with pytest.raises(ValueError, match="multiple"):
        OPS.backprop_seq2col(numpy.ones((5, 5), "f"), 1)


@SETTINGS
@given(X=float_arrays(min_dims=3, max_dims=3))
def test_maxout(X):
    if X.shape[2] == 0:
        with pytest.raises(ValueError):
            OPS.maxout(X)
        return
    best, which = OPS.maxout(X)
    numpy.testing.assert_array_equal(best, X.max(axis=2))
    numpy.testing.assert_array_equal(which, X.argmax(axis=2))
    dY = numpy.ones_like(best)
    dX = OPS.backprop_maxout(dY, which, X.shape[2])
    assert dX.shape == X.shape
    numpy.testing.assert_array_equal(dX.argmax(axis=2) if X.size else which, which)
    numpy.testing.assert_array_equal(dX.sum(axis=2), dY)
    with pytest.raises(IndexError):
        if which.size:
            which = which.copy()
            which.flat[0] = X.shape[2]
        else:
            raise IndexError("nothing to corrupt")
        OPS.backprop_maxout(dY, which, X.shape[2])


@SETTINGS
@given(data=sequences())
def test_softmax_sequences(data):
    X, lengths = data
    Y = OPS.softmax_sequences(X, lengths)
    for part_x, part_y in zip(_split(X, lengths), _split(Y, lengths)):
        if len(part_x):
            e = numpy.exp(part_x.astype("f8") - part_x.max(axis=0))
            numpy.testing.assert_allclose(part_y, e / e.sum(axis=0), **tolerance(X.dtype))
    dY = numpy.random.default_rng(3).standard_normal(X.shape).astype(X.dtype)
    dX = OPS.backprop_softmax_sequences(dY, Y, lengths)
    expected = []
    for part_y, part_d in zip(_split(Y.astype("f8"), lengths), _split(dY.astype("f8"), lengths)):
        expected.append(part_y * (part_d - (part_y * part_d).sum(axis=0)))
    if expected:
        numpy.testing.assert_allclose(dX, numpy.concatenate(expected), **tolerance(X.dtype))


@SETTINGS
@given(X=float_arrays(min_dims=1, max_dims=3), temperature=st.sampled_from([1.0, 0.5, 2.0]))
def test_softmax(X, temperature):
    if X.shape[-1] == 0:
        return
    Y = OPS.softmax(X, temperature=temperature)
    z = X.astype("f8") / temperature
    e = numpy.exp(z - z.max(axis=-1, keepdims=True))
    numpy.testing.assert_allclose(Y, e / e.sum(axis=-1, keepdims=True), **tolerance(X.dtype))
    dY = numpy.ones_like(X)
    dY.flat[::3] = 2
    y = Y.astype("f8")
    expected = y * (dY - (dY * y).sum(axis=-1, keepdims=True)) / temperature
    numpy.testing.assert_allclose(
        OPS.backprop_softmax(Y, dY, temperature=temperature), expected, **tolerance(X.dtype)
    )


# ---------------------------------------------------------------------------
# Tables, hashing, optimizer steps


@SETTINGS
@given(
    n_row=st.integers(1, 9),
    n_col=st.integers(0, 5),
    n_out=st.integers(0, 6),
    n_per=st.integers(0, 4),
    index_dtype=st.sampled_from(["i", "int64", "uint32"]),
    seed=st.integers(0, 1000),
)
def test_gather_scatter(n_row, n_col, n_out, n_per, index_dtype, seed):
    rng = numpy.random.default_rng(seed)
    table = rng.standard_normal((n_row, n_col)).astype("f")
    indices = rng.integers(0, n_row, (n_out, n_per)).astype(index_dtype)
    got = OPS.gather_add(table, indices)
    numpy.testing.assert_allclose(got, table[indices].sum(axis=1), rtol=1e-5, atol=1e-6)
    flat = indices.ravel()
    values = rng.standard_normal((flat.size, n_col)).astype("f")
    expected = table.copy()
    numpy.add.at(expected, flat, values)
    result = OPS.scatter_add(table, flat, values)
    assert result is table
    numpy.testing.assert_allclose(table, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_col", [8, 31, 32, 64, 96, 100])
@pytest.mark.parametrize("index_dtype", ["i", "int64"])
def test_gather_add_common_widths(n_col, index_dtype):
    # Widths 32, 64 and 96 have their own register-resident kernels.
    rng = numpy.random.default_rng(n_col)
    table = rng.standard_normal((300, n_col)).astype("f")
    indices = rng.integers(0, 300, (2000, 4)).astype(index_dtype)
    numpy.testing.assert_allclose(
        OPS.gather_add(table, indices), table[indices].sum(axis=1), rtol=1e-5, atol=1e-5
    )
    bad = indices.copy()
    bad[1500, 2] = 300
    with pytest.raises(IndexError, match="300 is out of bounds"):
        OPS.gather_add(table, bad)


def test_table_errors():
    table = numpy.ones((3, 2), "f")
    with pytest.raises(IndexError, match="out of bounds"):
        OPS.gather_add(table, numpy.array([[0, 3]], "i"))
    with pytest.raises(IndexError, match="out of bounds"):
        OPS.gather_add(table, numpy.array([[-1, 0]], "int64"))
    with pytest.raises(IndexError, match="out of bounds"):
        OPS.scatter_add(table, numpy.array([0, 5], "i"), numpy.ones((2, 2), "f"))


def test_hash_split_over_threads_matches_one_id_at_a_time():
    # Large id arrays are hashed in chunks on several threads; every row must
    # equal the id hashed alone (the serial path).
    ids = numpy.random.default_rng(3).integers(0, 2**63, 20_011, dtype="uint64")
    together = OPS.hash(ids, 99)
    for i in list(range(0, ids.size, 97)) + [ids.size - 1]:
        numpy.testing.assert_array_equal(together[i], OPS.hash(ids[i : i + 1], 99)[0])


def test_hash_known_values():
    # Values from thinc 8.3.14's NumpyOps.hash.
    got = OPS.hash(numpy.array([0, 1, 2**40], "uint64"), 7)
    assert got.dtype == numpy.uint32
    numpy.testing.assert_array_equal(
        got,
        [
            [363161713, 1826689969, 588221874, 425284546],
            [3089165797, 1536154270, 2023308811, 4074317197],
            [4143356536, 3261083952, 76788054, 3065047052],
        ],
    )
    assert OPS.hash(numpy.zeros((0,), "uint64"), 1).shape == (0, 4)
    with pytest.raises(ValueError):
        OPS.hash(numpy.array([1.5]), 0)
    with pytest.raises(ValueError):
        OPS.hash(numpy.array([1], "uint64"), -1)


@pytest.mark.parametrize("dtype", ["f", "d"])
def test_adam_clip_update_averages(dtype):
    rng = numpy.random.default_rng(4)
    w, g, m1, m2 = (rng.uniform(0.1, 1, 50).astype(dtype) for _ in range(4))
    expected_m1 = 0.9 * m1 + 0.1 * g
    expected_m2 = 0.999 * m2 + 0.001 * g * g
    expected_w = w - 0.01 * expected_m1 / (0.5 * numpy.sqrt(expected_m2) + 1e-8)
    g_before = g.copy()
    result = OPS.adam(w, g, m1, m2, 0.9, 0.999, 1e-8, 0.01, 0.5)
    assert result[0] is w and result[2] is m1 and result[3] is m2
    numpy.testing.assert_allclose(w, expected_w, rtol=1e-5)
    numpy.testing.assert_allclose(m1, expected_m1, rtol=1e-5)
    numpy.testing.assert_allclose(m2, expected_m2, rtol=1e-5)
    # As in thinc 8.3.14, NumpyOps hands the gradient back zeroed.
    assert result[1] is g and not g.any() and g_before.any()
    big = numpy.array([3.0, 4.0], dtype)
    assert OPS.clip_gradient(big, 1.0) is big
    numpy.testing.assert_allclose(big, [0.6, 0.8], rtol=1e-6)
    small = numpy.array([0.3, 0.4], dtype)
    numpy.testing.assert_array_equal(OPS.clip_gradient(small, 1.0), numpy.array([0.3, 0.4], dtype))
    ema = numpy.array([1, 2, 3], dtype)
    assert OPS.update_averages(ema, numpy.array([0.5, -1, 2], dtype), 3) is None
    numpy.testing.assert_allclose(ema, [0.65384614, -0.07692313, 2.3076923], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [numpy.nan, numpy.inf, -numpy.inf])
def test_clip_gradient_with_non_finite_entries_is_the_reference(dtype, bad):
    # A NaN norm is not above the threshold: the gradient stays as it is, one
    # NaN entry and not every entry NaN; an infinite norm scales by 0.
    gradient = numpy.array([3.0, bad, 4.0, 0.5], dtype)
    ours = OPS.clip_gradient(gradient.copy(), 1.0)
    reference = Ops().clip_gradient(gradient.copy(), 1.0)
    numpy.testing.assert_array_equal(ours, reference)
    if numpy.isnan(bad):
        numpy.testing.assert_array_equal(ours, gradient)


@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("layout", ["contiguous", "strided", "read-only", "aliases mom1"])
def test_adam_consumes_the_gradient_as_the_reference_steps(dtype, layout):
    # The kernel zeroes a contiguous writable gradient as it reads it; every
    # other gradient is stepped from and zeroed afterwards (when writable).
    # The numbers are those of Ops.adam followed by zeroing, split over threads.
    rng = numpy.random.default_rng(9)
    n = 100_003
    w, m1, m2 = (rng.uniform(0.1, 1, n).astype(dtype) for _ in range(3))
    if layout == "strided":
        g = rng.uniform(-1, 1, 2 * n).astype(dtype)[::2]
    else:
        g = rng.uniform(-1, 1, n).astype(dtype)
    if layout == "aliases mom1":
        g = m1
    if layout == "read-only":
        g.flags.writeable = False
    want = [a.copy() for a in (w, g, m1, m2)]
    Ops().adam(*want, 0.9, 0.999, 1e-8, 0.01, 0.5)
    result = OPS.adam(w, g, m1, m2, 0.9, 0.999, 1e-8, 0.01, 0.5)
    assert result[0] is w and result[1] is g
    if layout == "read-only":
        numpy.testing.assert_array_equal(g, want[1])
    else:
        assert not g.any()
    # m1 = 0.9 m1 + 0.1 g cancels near zero: an absolute tolerance there.
    rtol, atol = (1e-5, 1e-7) if dtype == "f" else (1e-12, 1e-15)
    numpy.testing.assert_allclose(w, want[0], rtol=rtol, atol=atol)
    numpy.testing.assert_allclose(m2, want[3], rtol=rtol, atol=atol)
    if layout != "aliases mom1":
        numpy.testing.assert_allclose(m1, want[2], rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# thinc 8.3.14 as an oracle, in one subprocess for all cases.

ORACLE_SCRIPT = r"""
import pickle, sys
import numpy
from thinc.api import NumpyOps, Ops
cases = pickle.load(sys.stdin.buffer)
ops = NumpyOps()
reference = Ops()
results = {}
for key, (owner, method, args, kwargs) in cases.items():
    target = ops if owner == "numpy" else reference
    results[key] = getattr(target, method)(*args, **kwargs)
pickle.dump(results, sys.stdout.buffer)
"""


def _oracle_cases():
    rng = numpy.random.default_rng(5)
    X = (rng.standard_normal((40, 6)) * 3).astype("f")
    dY = rng.standard_normal((40, 6)).astype("f")
    lengths = numpy.array([5, 1, 20, 14], "i")
    cases = {}
    for name in FORMULAS:
        cases[name] = ("numpy", name, (X.copy(),), {})
    for name in FORMULAS:
        Y = getattr(OPS, name)(X.copy())
        if name == "swish":
            args = (dY.copy(), X.copy(), Y)
        elif name in ("relu", "sigmoid"):
            args = (dY.copy(), Y)
        else:
            args = (dY.copy(), X.copy())
        cases["backprop_" + name] = ("numpy", "backprop_" + name, args, {})
    cases["reduce_sum"] = ("numpy", "reduce_sum", (X, lengths), {})
    cases["reduce_mean"] = ("numpy", "reduce_mean", (X, lengths), {})
    cases["reduce_max"] = ("numpy", "reduce_max", (X, lengths), {})
    cases["seq2col"] = ("numpy", "seq2col", (X, 2), {"lengths": lengths})
    cases["backprop_seq2col"] = (
        "numpy",
        "backprop_seq2col",
        (numpy.tile(X, (1, 3)), 1),
        {"lengths": lengths},
    )
    cases["maxout"] = ("numpy", "maxout", (X.reshape(40, 2, 3),), {})
    cases["softmax"] = ("numpy", "softmax", (X,), {"temperature": 0.7})
    cases["softmax_sequences"] = ("numpy", "softmax_sequences", (X, lengths), {})
    cases["gather_add"] = ("numpy", "gather_add", (X, rng.integers(0, 40, (7, 3)).astype("i")), {})
    cases["hash"] = ("numpy", "hash", (rng.integers(0, 2**63, 50, dtype="uint64"), 1234), {})
    weights, gradient, mom1, mom2 = (rng.uniform(0.1, 1, 30).astype("f") for _ in range(4))
    cases["adam"] = (
        "reference",
        "adam",
        (weights, gradient, mom1, mom2, 0.9, 0.999, 1e-8, 0.001, 0.8),
        {},
    )
    for depth, dirs in ((1, 1), (2, 2)):
        lstm_args = _lstm_inputs(depth, dirs, 5, 3, [5, 3, 3, 1], seed=depth)
        cases[f"lstm_forward_inference {depth}x{dirs}"] = (
            "numpy",
            "lstm_forward_inference",
            lstm_args,
            {},
        )
    return cases


@pytest.fixture(scope="module")
def oracle():
    ref_python = require_ref_thinc()
    cases = _oracle_cases()
    completed = subprocess.run(
        [str(ref_python), "-c", ORACLE_SCRIPT],
        input=pickle.dumps(cases),
        capture_output=True,
        cwd="/",
        check=True,
    )
    return cases, pickle.loads(completed.stdout)


def test_matches_thinc_8_3_14(oracle):
    cases, expected = oracle
    for key, (owner, method, args, kwargs) in cases.items():
        copies = [a.copy() if isinstance(a, numpy.ndarray) else a for a in args]
        got = getattr(OPS, method)(*copies, **kwargs)
        want = expected[key]
        if key == "hash":
            numpy.testing.assert_array_equal(got, want, err_msg=key)
            continue
        got_list = got if isinstance(got, tuple) else (got,)
        want_list = want if isinstance(want, tuple) else (want,)
        if key == "adam":
            # The math is 8.3.14's reference Ops'; the consumed gradient comes
            # back zeroed, as from 8.3.14's NumpyOps.
            assert not got_list[1].any()
            got_list, want_list = got_list[::2] + got_list[3:], want_list[::2] + want_list[3:]
        for g, w in zip(got_list, want_list):
            loose = key.replace("backprop_", "") in ("gelu", "gelu_approx", "mish", "swish")
            numpy.testing.assert_allclose(
                numpy.asarray(g, "f8"),
                numpy.asarray(w, "f8"),
                rtol=1e-3 if loose else 1e-5,
                atol=2e-6,
                err_msg=key,
            )


# ---------------------------------------------------------------------------
# Fuzz: random shapes, dtypes and lengths never crash the interpreter.

FUZZ_SCRIPT = r"""
import numpy, sys
from thinc.backends.numpy_ops import NumpyOps
ops = NumpyOps()
rng = numpy.random.default_rng(int(sys.argv[1]))
dtypes = ["f", "d", "i", "int64", "uint64", "f2", ">f4"]
def array(ndim=None):
    ndim = rng.integers(0, 4) if ndim is None else ndim
    shape = tuple(int(s) for s in rng.integers(0, 6, ndim))
    a = (rng.standard_normal(shape) * 10).astype(rng.choice(dtypes))
    return a[..., ::2] if ndim and rng.random() < 0.3 else a
def ints(n=None):
    n = rng.integers(0, 6) if n is None else n
    return rng.integers(-3, 8, n).astype(rng.choice(["i", "int64", "uint8"]))
calls = [
    lambda: ops.relu(array()), lambda: ops.backprop_relu(array(), array()),
    lambda: ops.gelu(array()), lambda: ops.backprop_swish(array(), array(), array()),
    lambda: ops.softmax(array()), lambda: ops.backprop_softmax(array(), array()),
    lambda: ops.reduce_sum(array(2), ints()), lambda: ops.reduce_mean(array(2), ints()),
    lambda: ops.reduce_max(array(2), ints()), lambda: ops.reduce_first(array(2), ints()),
    lambda: ops.backprop_reduce_max(array(2), array(2).astype("i"), ints()),
    lambda: ops.backprop_reduce_mean(array(2), ints()),
    lambda: ops.seq2col(array(2), int(rng.integers(-1, 3)), lengths=ints()),
    lambda: ops.backprop_seq2col(array(2), int(rng.integers(-1, 3)), lengths=ints()),
    lambda: ops.maxout(array(3)), lambda: ops.backprop_maxout(array(2), ints(4).reshape(2, 2), 2),
    lambda: ops.gather_add(array(2), ints(4).reshape(2, 2)),
    lambda: ops.scatter_add(array(2), ints(), array(2)),
    lambda: ops.softmax_sequences(array(2), ints()),
    lambda: ops.hash(ints(), int(rng.integers(0, 10))),
    lambda: ops.gemm(array(2), array(2), trans1=bool(rng.integers(2))),
    lambda: ops.adam(array(1), array(1), array(1), array(1), 0.9, 0.999, 1e-8, 0.1),
    lambda: ops.clip_gradient(array(), 1.0),
    lambda: ops.update_averages(array(1), array(1), 3),
]
for trial in range(3000):
    call = calls[trial % len(calls)]
    try:
        call()
    except (ValueError, IndexError, TypeError, NotImplementedError, AttributeError):
        pass
print("survived")
"""


def test_fuzz_never_crashes():
    completed = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, "11"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=str(numpy_ops.__file__).rsplit("/thinc/", 1)[0],
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "survived" in completed.stdout


# ---------------------------------------------------------------------------
# LSTM against the reference Ops' implementation (same params and state layout).


def _lstm_inputs(depth, dirs, nO, nI, lengths, seed=0):
    rng = numpy.random.default_rng(seed)
    n_params, layer_input = 0, nI
    for _ in range(depth):
        n_params += dirs * (4 * nO * layer_input + 8 * nO + 4 * nO * nO)
        layer_input = nO * dirs
    params = (rng.standard_normal(n_params) * 0.3).astype("f")
    H0 = (rng.standard_normal((depth, dirs, nO)) * 0.5).astype("f")
    C0 = (rng.standard_normal((depth, dirs, nO)) * 0.5).astype("f")
    lengths = numpy.sort(numpy.asarray(lengths))[::-1]
    size_at_t = numpy.asarray(
        [(lengths > t).sum() for t in range(lengths[0] if len(lengths) else 0)], dtype="i"
    )
    X = rng.standard_normal((int(size_at_t.sum()), nI)).astype("f")
    return params, H0, C0, X, size_at_t


@pytest.mark.parametrize("depth,dirs", [(1, 1), (1, 2), (2, 1), (2, 2)])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [1], [4]])
def test_lstm_matches_reference(depth, dirs, lengths):
    reference("lstm_forward_training")
    params, H0, C0, X, size_at_t = _lstm_inputs(depth, dirs, 5, 3, lengths)
    Y, state = OPS.lstm_forward_training(params, H0, C0, X, size_at_t)
    Y_ref, state_ref = Ops.lstm_forward_training(OPS, params, H0, C0, X, size_at_t)
    numpy.testing.assert_allclose(Y, Y_ref, rtol=1e-4, atol=1e-5)
    for got, want in zip(state[:3], state_ref[:3]):
        numpy.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    numpy.testing.assert_allclose(
        OPS.lstm_forward_inference(params, H0, C0, X, size_at_t), Y, rtol=1e-6, atol=1e-7
    )
    dY = numpy.random.default_rng(1).standard_normal(Y.shape).astype("f")
    dX, d_params = OPS.backprop_lstm(dY, size_at_t, params, state)
    dX_ref, d_params_ref = Ops.backprop_lstm(OPS, dY, size_at_t, params, state_ref)
    numpy.testing.assert_allclose(dX, dX_ref, rtol=1e-3, atol=1e-4)
    numpy.testing.assert_allclose(d_params, d_params_ref, rtol=1e-3, atol=1e-4)


def test_lstm_gradient_by_finite_differences():
    params, H0, C0, X, size_at_t = _lstm_inputs(1, 2, 3, 2, [3, 2], seed=4)
    params, H0, C0, X = (a.astype("f") for a in (params, H0, C0, X))
    R = numpy.random.default_rng(2).standard_normal((X.shape[0], 6))
    Y, state = OPS.lstm_forward_training(params, H0, C0, X, size_at_t)
    dX, d_params = OPS.backprop_lstm(R.astype("f"), size_at_t, params, state)

    def loss():
        return float((OPS.lstm_forward_inference(params, H0, C0, X, size_at_t) * R).sum())

    for array, grad in ((X, dX), (params, d_params)):
        for index in range(0, array.size, max(1, array.size // 15)):
            original = array.flat[index]
            array.flat[index] = original + 1e-2
            plus = loss()
            array.flat[index] = original - 1e-2
            minus = loss()
            array.flat[index] = original
            assert abs((plus - minus) / 2e-2 - grad.flat[index]) < 2e-2 + 2e-2 * abs(
                grad.flat[index]
            )


def test_lstm_errors():
    params, H0, C0, X, size_at_t = _lstm_inputs(1, 1, 4, 3, [3, 2])
    with pytest.raises(ValueError, match="params"):
        OPS.lstm_forward_training(params[:-1], H0, C0, X, size_at_t)
    with pytest.raises((ValueError, IndexError)):
        OPS.lstm_forward_training(params, H0, C0, X, numpy.array([2, 2], "i"))
    with pytest.raises(ValueError, match="increase"):
        OPS.lstm_forward_training(params, H0, C0, X[:5], numpy.array([2, 3], "i"))
    with pytest.raises(ValueError):
        OPS.lstm_forward_training(params, H0, C0[:, :, :2], X, size_at_t)


@pytest.mark.parametrize("name", ["relu", "gelu", "swish", "sigmoid", "mish", "hard_swish"])
def test_large_input(name):
    # Long enough to run every vector-width path and its remainder loop.
    X = (numpy.random.default_rng(9).standard_normal(1_000_003) * 5).astype("f")
    forward, _ = FORMULAS[name]
    _check_close(getattr(OPS, name)(X), forward(X.astype("f8")), X.dtype, name)


def _misaligned(array):
    """A C-ordered copy of ``array`` at an odd byte offset (numpy allows those)."""
    buffer = numpy.zeros(array.nbytes + 1, numpy.uint8)
    view = buffer[1:].view(array.dtype).reshape(array.shape)
    view[...] = array
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


def test_misaligned_arrays_give_the_aligned_results_and_in_place_writes_land(kernel_isa):
    # Kernels get an aligned copy (a float load from an odd address is undefined
    # behaviour); what the op returns, and what it writes in place, stay the same.
    rng = numpy.random.default_rng(0)
    X = rng.uniform(-3, 3, (7, 12)).astype("f")
    for name in ("relu", "sigmoid", "gelu", "swish", "dish", "mish", "hard_tanh"):
        want = getattr(OPS, name)(X.copy())
        numpy.testing.assert_array_equal(getattr(OPS, name)(_misaligned(X)), want)
        in_place = _misaligned(X)
        assert getattr(OPS, name)(in_place, inplace=True) is in_place
        numpy.testing.assert_array_equal(in_place, want)
    G = rng.uniform(0.5, 1.5, 12).astype("f")
    b = rng.uniform(-1, 1, 12).astype("f")
    want_norm = OPS._layer_norm_forward(X, G, b)[0]
    got_norm = OPS._layer_norm_forward(_misaligned(X), _misaligned(G), _misaligned(b))[0]
    numpy.testing.assert_array_equal(got_norm, want_norm)
    W = rng.uniform(-1, 1, (5, 12)).astype("f")
    numpy.testing.assert_array_equal(
        OPS.gemm(_misaligned(X), _misaligned(W), trans2=True), OPS.gemm(X, W, trans2=True)
    )
    ids = numpy.arange(9, dtype="uint64") * 7919
    numpy.testing.assert_array_equal(OPS.hash(_misaligned(ids), 3), OPS.hash(ids, 3))
    lengths = numpy.asarray([3, 0, 4], dtype="int32")
    numpy.testing.assert_array_equal(
        OPS.reduce_sum(_misaligned(X), _misaligned(lengths)), OPS.reduce_sum(X, lengths)
    )
