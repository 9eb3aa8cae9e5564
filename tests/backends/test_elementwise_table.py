"""The elementwise table (include/thinc_elementwise.hh) against the reference
Ops: every row becomes a NumpyOps method with the reference's signature and
its results, at every instruction-set level; and the tests' own lists of
activations cover every row, so a new row cannot go untested."""

import inspect

import numpy
import pytest

from thinc.backends import numpy_ops
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

from ._activations import OPTIONED_ACTIVATIONS, PLAIN_ACTIVATIONS, PLAIN_BACKPROPS_FROM_INPUT

ROWS = numpy_ops.elementwise_rows()
OPS = NumpyOps()
REFERENCE = Ops()
# Ops whose saved array is the output (dsigmoid, dtanh: Y) rather than the input.
FROM_OUTPUT = ("dsigmoid", "dtanh", "backprop_relu", "backprop_sigmoid")
TESTED = (
    PLAIN_ACTIVATIONS
    + OPTIONED_ACTIVATIONS
    + PLAIN_BACKPROPS_FROM_INPUT
    + FROM_OUTPUT
    + (
        "backprop_relu_k",
        "backprop_clipped_linear",
    )
)
# Rows whose kernels approximate a transcendental function (documented bounds).
APPROXIMATE = {
    "sigmoid",
    "swish",
    "gelu",
    "gelu_approx",
    "mish",
    "dish",
    "backprop_gelu",
    "backprop_gelu_approx",
    "backprop_mish",
    "backprop_dish",
}
# Non-default options, so the kernels' parameters are exercised.
OPTIONS = {
    "relu_k": (2.5,),
    "backprop_relu_k": (2.5,),
    "clipped_linear": (0.7, -0.2, -1.5, 2.0),
    "backprop_clipped_linear": (0.7, -0.2, -1.5, 2.0),
    "mish": (3.0,),
    "backprop_mish": (3.0,),
}


def test_every_row_is_covered_by_the_tests_lists():
    assert sorted(ROWS) == sorted(set(TESTED))


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_methods_have_the_reference_signature(name):
    assert inspect.signature(getattr(NumpyOps, name)) == inspect.signature(getattr(Ops, name))
    assert getattr(NumpyOps, name).__qualname__ == f"NumpyOps.{name}"


def grid(dtype):
    values = numpy.concatenate([numpy.linspace(-12, 12, 241), [0.0, -0.0, 2.5, -2.5, 3.0, -3.0]])
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_rows_match_the_reference_at_every_level(kernel_isa, name, dtype):
    X = grid(dtype)
    direction, _ = ROWS[name]
    saved = 1 / (1 + numpy.exp(-X)) if name in FROM_OUTPUT else X
    arrays = (
        (saved,) if direction == "forward" else (numpy.cos(X).astype(dtype), saved.astype(dtype))
    )
    options = OPTIONS.get(name, ())
    got = getattr(OPS, name)(*[a.copy() for a in arrays], *options)
    expected = getattr(REFERENCE, name)(*[a.copy() for a in arrays], *options)
    assert got.dtype == expected.dtype == numpy.dtype(dtype)
    if name in APPROXIMATE:
        # The reference's own erf is good to 1.5e-7 (A&S 7.1.26), so float64 is
        # held to that; float32 to the kernels' documented float32 bounds.
        tolerance = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-6, atol=1e-6)
    else:
        # Exact up to rounding (a fused multiply-add rounds once where the
        # reference rounds twice: 1 - x*x near |x| = 1 differs in the last bits).
        tolerance = (
            dict(rtol=1e-6, atol=1e-7) if dtype == "float32" else dict(rtol=1e-12, atol=1e-15)
        )
    numpy.testing.assert_allclose(got, expected, **tolerance)
    # Keywords by the reference's parameter names, and inplace, reach the kernel.
    names = [p for p in inspect.signature(getattr(Ops, name)).parameters][1 + len(arrays) :]
    keywords = dict(zip(names, options))
    target = arrays[0].copy()
    result = getattr(OPS, name)(target, *[a.copy() for a in arrays[1:]], inplace=True, **keywords)
    assert result is target
    numpy.testing.assert_allclose(result, got, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_crossed_clip_bounds_follow_numpy(kernel_isa, dtype):
    # numpy.clip is minimum(maximum(x, low), high): the upper bound wins.
    X = grid(dtype)
    got = OPS.clipped_linear(X, 1.0, 0.0, 2.0, -1.0)
    numpy.testing.assert_array_equal(got, numpy.clip(X, 2.0, -1.0))
    numpy.testing.assert_array_equal(got, REFERENCE.clipped_linear(X, 1.0, 0.0, 2.0, -1.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dish_keeps_its_digits_for_negative_inputs(kernel_isa, dtype):
    # 1 + x / sqrt(1 + x^2) cancels for x < 0; written naively, float32 kept
    # three digits at x = -100 and none past -1e4. Both the kernel and the
    # reference must agree with the exact values to the dtype's precision.
    x = -numpy.logspace(-3, 12, 61)
    exact_value = 0.5 * x / (numpy.hypot(1, x) * (numpy.hypot(1, x) - x))
    ratio = x / numpy.hypot(1, x)
    one_plus = 1 / (numpy.hypot(1, x) * (numpy.hypot(1, x) - x))
    exact_grad = 0.5 * one_plus * (one_plus - ratio * ratio)
    rtol = 3e-6 if dtype == "float32" else 1e-12
    X = x.astype(dtype)
    for ops in (OPS, REFERENCE):
        numpy.testing.assert_allclose(ops.dish(X.copy()), exact_value, rtol=rtol)
        gradient = ops.backprop_dish(numpy.ones_like(X), X.copy())
        numpy.testing.assert_allclose(gradient, exact_grad, rtol=rtol)
