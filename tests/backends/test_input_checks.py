"""What NumpyOps and the reference Ops refuse, and what they return for edge
inputs, checked in-process (the crashes these checks prevent are replayed in a
subprocess by tests/fuzz)."""

import math

import numpy
import pytest

from thinc.backends import linalg
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

from ._activations import OPTIONED_ACTIVATIONS, PLAIN_ACTIVATIONS, PLAIN_BACKPROPS_FROM_INPUT

BACKENDS = [NumpyOps(), Ops()]
IDS = ["numpy", "reference"]


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
def test_lengths_are_checked_before_they_are_summed(ops):
    X = numpy.ones((3, 4), dtype="float32")
    wrapping = numpy.array([2**62] * 4 + [3], dtype="int64")
    for method in (
        "reduce_sum",
        "reduce_mean",
        "reduce_max",
        "reduce_first",
        "reduce_last",
        "softmax_sequences",
    ):
        with pytest.raises((IndexError, ValueError)):
            getattr(ops, method)(X, wrapping)
    with pytest.raises((IndexError, ValueError)):
        ops.seq2col(X, 1, lengths=wrapping)


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
@pytest.mark.parametrize("nW", [2**31 - 1, 2**31, 2**40, 2**62])
def test_zero_width_windows_return_at_once_or_are_refused(ops, nW):
    empty = numpy.ones((4, 0), dtype="float32")
    if nW >= 2**31:
        with pytest.raises(ValueError, match="nW"):
            ops.seq2col(empty, nW)
        with pytest.raises(ValueError, match="nW"):
            ops.backprop_seq2col(empty, nW)
        return
    assert ops.seq2col(empty, nW).shape == (4, 0)
    assert ops.backprop_seq2col(empty, nW).shape == (4, 0)


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
def test_counts_must_be_whole_numbers(ops):
    X = numpy.ones((3, 2), dtype="float32")
    with pytest.raises(ValueError, match="nW"):
        ops.seq2col(X, 1.5)
    with pytest.raises(ValueError, match="nW"):
        ops.backprop_seq2col(numpy.ones((3, 6), "float32"), 0.5)
    # A whole float is the integer it spells (thinc 8.3 took it).
    assert ops.seq2col(X, 2.0).shape == (3, 10)
    with pytest.raises(ValueError, match="P"):
        ops.backprop_maxout(numpy.ones((2, 2), "float32"), numpy.zeros((2, 2), "int32"), 3.5)


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
def test_update_averages_refuses_negative_steps(ops):
    ema = numpy.ones(4, dtype="float32")
    for t in (-10, -9, -1):
        with pytest.raises(ValueError, match="t"):
            ops.update_averages(ema, numpy.zeros(4, "float32"), t)
    assert (ema == 1).all()
    ops.update_averages(ema, numpy.zeros(4, "float32"), 0)
    assert numpy.allclose(ema, 0.1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", PLAIN_ACTIVATIONS + OPTIONED_ACTIVATIONS)
def test_zero_dimensional_activations_keep_their_shape(name, dtype):
    ops = NumpyOps()
    X = numpy.array(0.5, dtype=dtype)
    assert getattr(ops, name)(X.copy()).shape == ()
    assert getattr(ops, name)(X.copy(), inplace=True).shape == ()


@pytest.mark.parametrize("name", PLAIN_BACKPROPS_FROM_INPUT + ("backprop_relu", "backprop_sigmoid"))
def test_zero_dimensional_backprops_keep_their_shape(name):
    X = numpy.array(0.5, dtype="float32")
    assert getattr(NumpyOps(), name)(X.copy(), X.copy()).shape == ()


def test_nan_clip_bounds_give_nan_as_numpy_clip_does():
    ops = NumpyOps()
    X = numpy.linspace(-3, 3, 40).astype("float32")
    assert numpy.isnan(ops.relu_k(X, n=float("nan"))).all()
    assert numpy.isnan(ops.clipped_linear(X, min_val=float("nan"))).all()


def test_zero_width_reductions_skip_the_kernels():
    ops = NumpyOps()
    many_rows = numpy.ones((2**40, 0), dtype="float32")
    assert ops.reduce_sum(many_rows, numpy.array([2**40])).shape == (1, 0)
    assert ops.softmax_sequences(many_rows, numpy.array([2**40])).shape == (2**40, 0)
    d_sums = numpy.ones((1, 0), dtype="float32")
    assert ops.backprop_reduce_sum(d_sums, numpy.array([2**40])).shape == (2**40, 0)


def test_linalg_wrappers_refuse_ragged_input():
    with pytest.raises(ValueError, match="row 0"):
        linalg.vecvec_batch_add([1.0] * 100000, [[1.0]] * 50, 1.0)
    with pytest.raises(ValueError, match="row 1"):
        linalg.mat_mean_var_rows([[1.0, 2.0], [3.0]], 0.0)


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
def test_reduce_first_and_last_need_lengths_that_cover_every_row(ops):
    X = numpy.ones((3, 4), dtype="float32")
    for method in ("reduce_first", "reduce_last"):
        with pytest.raises(IndexError, match="sum"):
            getattr(ops, method)(X, numpy.array([1, 1], dtype="int32"))
    # The reductions that return one row per sequence take a prefix, as in thinc 8.3.
    assert ops.reduce_sum(X, numpy.array([1, 1], dtype="int32")).shape == (2, 4)


@pytest.mark.parametrize("ops", BACKENDS, ids=IDS)
def test_clip_gradient_refuses_negative_thresholds(ops):
    for threshold in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            ops.clip_gradient(numpy.zeros(4, dtype="float32"), threshold)
    gradient = numpy.full(4, 2.0, dtype="float32")
    assert numpy.allclose(ops.clip_gradient(gradient, 2.0), 1.0)


def test_linalg_powers_of_negative_bases_are_nan():
    assert math.isnan(linalg.vec_ops([-2.0, 4.0], 0.5)["pow"][0])
    added = linalg.vecvec_ops([1.0, 1.0], [-2.0, 4.0], 0.5)["add_pow"]
    assert math.isnan(added[0]) and added[1] == 3.0


def test_gpu_kernel_lengths_are_bounded_before_their_int32_cast():
    # The CUDA kernels' length check runs on the host array module too.
    from thinc.backends._custom_kernels import _int32_lengths

    for lengths in ([2**62] * 4 + [3], [2**32 + 3], numpy.array([2**64 - 1, 4], dtype="uint64")):
        with pytest.raises(IndexError, match="exceeds"):
            _int32_lengths(numpy.asarray(lengths), 3, "seq2col", numpy, exact=True)
    checked = _int32_lengths(numpy.array([1, 2]), 3, "seq2col", numpy, exact=True)
    assert checked.dtype == numpy.int32 and checked.tolist() == [1, 2]
