"""The BLAS table's saxpy and daxpy (what spaCy's parser calls once per state
feature) against exact arithmetic rounded once, at every instruction-set level
(conftest's kernel_isa runs the module at each)."""

import itertools
from fractions import Fraction

import numpy
import pytest

from thinc.backends import _testing, dispatch

SIZES = [0, 1, 2, 7, 8, 15, 16, 17, 31, 33, 64, 96, 128, 129, 288, 1000]


def rounded(value: Fraction, dtype):
    """The dtype number nearest to an exact rational, ties to even."""
    kind = numpy.dtype(dtype).type
    guess = kind(float(value))
    candidates = numpy.array(
        [numpy.nextafter(guess, kind(-numpy.inf)), guess, numpy.nextafter(guess, kind(numpy.inf))],
        dtype=dtype,
    )
    bits = candidates.view("u4" if candidates.itemsize == 4 else "u8")
    best = min(
        range(3), key=lambda i: (abs(Fraction(float(candidates[i])) - value), int(bits[i]) % 2)
    )
    return candidates[best]


def fused(alpha, x, y, dtype):
    """alpha * x + y computed exactly and rounded once, with alpha as the kernel
    sees it (in dtype)."""
    alpha = Fraction(float(numpy.dtype(dtype).type(alpha)))
    exact = [alpha * Fraction(float(a)) + Fraction(float(b)) for a, b in zip(x, y)]
    return numpy.array([rounded(value, dtype) for value in exact], dtype=dtype)


@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("alpha", [1.0, -0.37, 3.0])
def test_axpy_contiguous(kernel_isa, dtype, n, alpha):
    rng = numpy.random.default_rng(n)
    # Values of many magnitudes: a separate multiply and add would round twice.
    X = (rng.standard_normal(n + 3) * 10.0 ** rng.integers(-3, 4, n + 3)).astype(dtype)
    Y = (rng.standard_normal(n + 3) * 10.0 ** rng.integers(-3, 4, n + 3)).astype(dtype)
    expected = Y.copy()
    expected[1 : 1 + n] = fused(alpha, X[2 : 2 + n], Y[1 : 1 + n], dtype)
    _testing.table_axpy(alpha, X, Y, n, x_start=2, y_start=1)
    numpy.testing.assert_array_equal(Y, expected)
    # Past the n elements nothing moved.
    assert Y[0] == expected[0] and (Y[1 + n :] == expected[1 + n :]).all()


@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("inc_x,inc_y", list(itertools.product([1, 2, 3, -1, -2], [1, 2, -1, -3])))
def test_axpy_strided(kernel_isa, dtype, inc_x, inc_y):
    n = 37
    rng = numpy.random.default_rng(abs(inc_x) * 10 + abs(inc_y))
    X = rng.standard_normal(n * 3 + 1).astype(dtype)
    Y = rng.standard_normal(n * 3 + 1).astype(dtype)
    # Negative strides walk backwards from the element given, as in blis.
    x_start = (n - 1) * -inc_x if inc_x < 0 else 0
    y_start = (n - 1) * -inc_y if inc_y < 0 else 0
    x_index = x_start + inc_x * numpy.arange(n)
    y_index = y_start + inc_y * numpy.arange(n)
    expected = Y.copy()
    expected[y_index] = fused(0.5, X[x_index], Y[y_index], dtype)
    _testing.table_axpy(0.5, X, Y, n, inc_x, inc_y, x_start, y_start)
    numpy.testing.assert_array_equal(Y, expected)


@pytest.mark.parametrize("dtype", ["f", "d"])
def test_axpy_same_bits_at_every_level(kernel_isa, dtype):
    # One fused multiply-add per element everywhere: the vector bodies, their
    # tails and the scalar level agree to the bit (so a parse does not depend
    # on the CPU), where a multiply then an add would differ.
    rng = numpy.random.default_rng(7)
    n = 301
    X = (rng.standard_normal(n) * 10.0 ** rng.integers(-4, 5, n)).astype(dtype)
    Y0 = (rng.standard_normal(n) * 10.0 ** rng.integers(-4, 5, n)).astype(dtype)
    alpha = numpy.dtype(dtype).type(-1.37)
    results = {}
    try:
        for level in dispatch.available_isas():
            dispatch.configure(isa=level)
            Y = Y0.copy()
            _testing.table_axpy(alpha, X, Y, n)
            results[level] = Y
    finally:
        dispatch.configure(isa=kernel_isa)  # the level the module runs at
    unfused = Y0 + alpha * X
    for level, Y in results.items():
        numpy.testing.assert_array_equal(Y, results["scalar"], err_msg=level)
    # The data are such that rounding twice shows somewhere.
    assert (results["scalar"] != unfused).any()


@pytest.mark.parametrize("dtype", ["f", "d"])
def test_axpy_alpha_zero_leaves_y(kernel_isa, dtype):
    # As BLAS: nothing is read from X, so NaN and inf there do not reach Y.
    X = numpy.array([numpy.nan, numpy.inf, 1.0] * 11, dtype=dtype)
    Y = numpy.arange(33, dtype=dtype)
    _testing.table_axpy(0.0, X, Y, 33)
    numpy.testing.assert_array_equal(Y, numpy.arange(33, dtype=dtype))


@pytest.mark.parametrize("dtype", ["f", "d"])
def test_axpy_nan_propagates(kernel_isa, dtype):
    X = numpy.ones(40, dtype=dtype)
    X[17] = numpy.nan
    Y = numpy.zeros(40, dtype=dtype)
    _testing.table_axpy(2.0, X, Y, 40)
    assert numpy.isnan(Y[17]) and numpy.isfinite(numpy.delete(Y, 17)).all()
    assert (numpy.delete(Y, 17) == 2.0).all()


def test_axpy_helper_rejects_out_of_range():
    X = numpy.zeros(10, dtype="f")
    Y = numpy.zeros(10, dtype="f")
    with pytest.raises(ValueError, match="leave its 10"):
        _testing.table_axpy(1.0, X, Y, 6, inc_x=2)
    with pytest.raises(ValueError, match="float32 or float64"):
        _testing.table_axpy(1.0, X, Y.astype("i"), 3)
