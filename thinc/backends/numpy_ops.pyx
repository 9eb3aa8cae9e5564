# cython: boundscheck=False, cdivision=True, infer_types=True
"""NumpyOps: the CPU backend, the reference Ops with its hot ops compiled.

Each override checks its inputs once, here at the Ops boundary, then runs a
nogil C++ kernel. The kernels' Cython halves live in kernels/*.pxi, one file
per op family beside its header in include/ (see ARCHITECTURE.md); they are
compiled into this one extension so that the process has one thread pool and
one instruction-set setting for them."""
import os
import warnings
from typing import Optional, Tuple

import numpy

cimport cython
cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from murmurhash.mrmr cimport hash128_x64

from libc.string cimport memcpy, memset

from .cblas cimport (CBlas, affine_f32, affine_f64, gemm_f32, gemm_f32_rows_overlapping,
                     gemm_f64)

from . import cblas as _cblas_module
from ._checks import (MAX_GRADIENT_ROWS, LengthsMismatchError, _check_clip_threshold,
                      _check_layer_norm_gradient, _check_layer_norm_inputs, _check_maxout_inputs,
                      _whole_number)
from ._checks import _check_window as _ops_check_window
from ._reference.training import _average_decay
from .ops import Ops

cnp.import_array()

ctypedef int64_t index_t


include "kernels/runtime.pxi"
include "kernels/checks.pxi"
include "kernels/gemm.pxi"
include "kernels/elementwise.pxi"
include "kernels/rows.pxi"
include "kernels/sequences.pxi"
include "kernels/tables.pxi"
include "kernels/optimizers.pxi"
include "kernels/recurrent.pxi"
include "kernels/norm.pxi"
include "kernels/accumulate.pxi"


class NumpyOps(Ops):
    """The CPU backend: numpy arrays, with compiled kernels for the hot ops."""

    name = "numpy"
    xp = numpy
    # What gemm runs on, per dtype (see thinc.backends.dispatch).
    blas_backend = _GemmDescription()

    def __init__(
        self, device_type: str = "cpu", device_id: int = -1, *, use_blis: bool = True
    ) -> None:
        super().__init__(device_type, device_id)
        self.use_blis = use_blis
        _tune_allocator_once()

    @staticmethod
    def paths() -> dict:
        """Which implementation each compiled op family runs here: instruction
        set, gemm per dtype and size, threads (see thinc.backends.dispatch)."""
        return paths_report()

    def cblas(self) -> CBlas:
        """The table of BLAS functions for compiled callers (spaCy's parser)."""
        return CBlas()

    def asarray(self, data, dtype=None):
        """As Ops.asarray; thinc 8.3's NumpyOps also takes ``dtype`` by position
        (its Ops wants a keyword), so this one does too."""
        return Ops.asarray(self, data, dtype=dtype)

    # -- matrix products -------------------------------------------------------

    def gemm(self, x, y, out=None, trans1: bool = False, trans2: bool = False):
        """Matrix product op(x) @ op(y), written into ``out`` when given."""
        M, N, K = _gemm_dims(x, y, trans1, trans2)
        if out is not None:
            if not isinstance(out, numpy.ndarray) or out.shape != (M, N) or out.dtype != x.dtype:
                raise ValueError(
                    f"gemm 'out' must be a {x.dtype} array of shape {(M, N)}, but got "
                    f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
                )
        return _checked_gemm(self.use_blis, x, y, out, trans1, trans2, M, N, K)

    def affine(self, X, W, b):
        """X @ W.T + b, the Linear layer's forward pass. The bias goes in with
        the product (no second pass over the output)."""
        M, N, K = _gemm_dims(X, W, False, True)
        if not (self.use_blis and is_real_array(b) and b.dtype == X.dtype and b.shape == (N,)):
            Y = _checked_gemm(self.use_blis, X, W, None, False, True, M, N, K)
            Y += b
            return Y
        Y = numpy.empty((M, N), dtype=X.dtype)
        _affine(contiguous(X), contiguous(W), contiguous(b), Y, M, N, K)
        return Y

    # -- elementwise activations: one method per row of the kernels' table
    # (kernels/elementwise.pxi installs them below the class), except:

    def backprop_swish(self, dY, X, Y, inplace: bool = False):
        if not (binary_ok(dY, X) and same_layout(dY, Y)):
            return super().backprop_swish(dY, X, Y, inplace=inplace)
        gradient = contiguous(dY)
        target = gradient if inplace and gradient is dY and dY.flags.writeable else numpy.empty_like(gradient)
        _swish_backward(gradient, contiguous(X), contiguous(Y), target)
        if inplace and target is not dY:
            dY[...] = target
            return dY
        return target

    # -- softmax -----------------------------------------------------------------

    def softmax(self, x, *, inplace: bool = False, axis: int = -1, temperature: float = 1.0):
        if not (is_real_array(x) and x.ndim >= 1 and axis in (-1, x.ndim - 1)
                and x.shape[-1] > 0 and temperature != 0):
            return super().softmax(x, inplace=inplace, axis=axis, temperature=temperature)
        source = contiguous(x)
        target = source if inplace and source is x and x.flags.writeable else numpy.empty_like(source)
        _softmax_rows(source, target, x.shape[-1], 1.0 / temperature)
        if inplace and target is not x:
            x[...] = target
            return x
        return target

    def backprop_softmax(self, Y, dY, *, axis: int = -1, temperature: float = 1.0):
        if not (binary_ok(dY, Y) and Y.ndim >= 1 and axis in (-1, Y.ndim - 1)
                and Y.shape[-1] > 0 and temperature != 0):
            return super().backprop_softmax(Y, dY, axis=axis, temperature=temperature)
        target = numpy.empty_like(contiguous(Y))
        _backprop_softmax_rows(contiguous(Y), contiguous(dY), target, Y.shape[-1], 1.0 / temperature)
        return target

    def softmax_sequences(self, Xs, lengths, *, inplace: bool = False, axis: int = -1):
        if not (is_real_array(Xs) and Xs.ndim == 2 and axis in (-1, 1)):
            return super().softmax_sequences(Xs, lengths, inplace=inplace, axis=axis)
        lengths64 = checked_lengths(lengths, Xs.shape[0], "softmax_sequences", False, False, NULL)
        source = contiguous(Xs)
        target = source if inplace and source is Xs and Xs.flags.writeable else numpy.empty_like(source)
        # Zero-width rows need no pass (the kernel would still walk every row).
        if target.size:
            _softmax_sequences(source, target, lengths64)
        if inplace and target is not Xs:
            Xs[...] = target
            return Xs
        return target

    def backprop_softmax_sequences(self, dY, Y, lengths):
        if not (binary_ok(dY, Y) and Y.ndim == 2):
            return super().backprop_softmax_sequences(dY, Y, lengths)
        lengths64 = checked_lengths(lengths, Y.shape[0], "backprop_softmax_sequences", False, False,
                                    NULL)
        target = numpy.empty_like(contiguous(Y))
        if target.size:
            _backprop_softmax_sequences(contiguous(dY), contiguous(Y), target, lengths64)
        return target

    # -- sequence reductions -----------------------------------------------------

    def reduce_sum(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_sum(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_sum", True, False, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        if X.size:
            _reduce_sum(contiguous(X), out, lengths64, False)
        else:
            out.fill(0)
        return out

    def reduce_mean(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_mean(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_mean", True, False, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        if X.size:
            _reduce_sum(contiguous(X), out, lengths64, True)
        else:
            out.fill(0)
        return out

    def backprop_reduce_sum(self, d_sums, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_sums) and d_sums.ndim == 2):
            return super().backprop_reduce_sum(d_sums, lengths)
        lengths64 = checked_reduction_gradient(d_sums, lengths, "backprop_reduce_sum", &total)
        out = numpy.empty((total, d_sums.shape[1]), dtype=d_sums.dtype)
        if out.size:
            _backprop_reduce_sum(contiguous(d_sums), out, lengths64, False)
        return out

    def backprop_reduce_mean(self, d_means, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_means) and d_means.ndim == 2):
            return super().backprop_reduce_mean(d_means, lengths)
        lengths64 = checked_reduction_gradient(d_means, lengths, "backprop_reduce_mean", &total)
        out = numpy.empty((total, d_means.shape[1]), dtype=d_means.dtype)
        if out.size:
            _backprop_reduce_sum(contiguous(d_means), out, lengths64, True)
        return out

    def reduce_max(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_max(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_max", True, True, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        which = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=numpy.int32)
        if out.size:
            _reduce_max(contiguous(X), out, which, lengths64)
        return out, which

    def backprop_reduce_max(self, d_maxes, which, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_maxes) and d_maxes.ndim == 2):
            return super().backprop_reduce_max(d_maxes, which, lengths)
        lengths64 = checked_reduction_gradient(d_maxes, lengths, "backprop_reduce_max", &total)
        which32 = _int32_like(which, d_maxes.shape, "backprop_reduce_max", "which")
        out = numpy.empty((total, d_maxes.shape[1]), dtype=d_maxes.dtype)
        # Zero-width gradients need no pass (the kernel would walk every length).
        bad = _backprop_reduce_max(contiguous(d_maxes), which32, out, lengths64) if d_maxes.shape[1] else -1
        if bad >= 0:
            row, col = divmod(bad, d_maxes.shape[1])
            raise IndexError(
                f"backprop_reduce_max: which[{row}, {col}] = {which32[row, col]} is outside "
                f"its sequence of length {lengths64[row]}"
            )
        return out

    def reduce_first(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_first(X, lengths)
        cdef index_t total = 0
        # Exact, as in the reference Ops: the boundaries it returns end at the last row.
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_first", False, True, &total)
        # int32 as in thinc 8.3, unless the boundaries would not fit it.
        starts_ends = numpy.zeros(lengths64.shape[0] + 1,
                                  dtype=numpy.int32 if total < 2 ** 31 else numpy.int64)
        numpy.cumsum(lengths64, out=starts_ends[1:])
        return X[starts_ends[:-1]], starts_ends

    def reduce_last(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_last(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_last", False, True, NULL)
        lasts = numpy.cumsum(lengths64) - 1
        return X[lasts], lasts

    # -- window and piece ops ----------------------------------------------------

    @cython.annotation_typing(False)  # the int hint must not truncate nW=1.5 to 1
    def seq2col(self, seq, nW: int, *, lengths=None):
        if not (is_real_array(seq) and seq.ndim == 2):
            return super().seq2col(seq, nW, lengths=lengths)
        nW = _check_window(nW, "seq2col")
        lengths64 = _sequence_lengths(lengths, seq.shape[0], "seq2col")
        out = numpy.empty((seq.shape[0], (2 * nW + 1) * seq.shape[1]), dtype=seq.dtype)
        # An empty output needs no pass; the kernel would still step through every window.
        if out.size:
            _seq2col(contiguous(seq), out, lengths64, nW)
        return out

    @cython.annotation_typing(False)
    def backprop_seq2col(self, dY, nW: int, *, lengths=None):
        if not (is_real_array(dY) and dY.ndim == 2):
            return super().backprop_seq2col(dY, nW, lengths=lengths)
        nW = _check_window(nW, "backprop_seq2col")
        if dY.shape[1] % (2 * nW + 1) != 0:
            raise ValueError(
                f"backprop_seq2col: dY has {dY.shape[1]} columns, not a multiple of "
                f"2 * nW + 1 = {2 * nW + 1}"
            )
        lengths64 = _sequence_lengths(lengths, dY.shape[0], "backprop_seq2col")
        out = numpy.empty((dY.shape[0], dY.shape[1] // (2 * nW + 1)), dtype=dY.dtype)
        if out.size:
            _backprop_seq2col(contiguous(dY), out, lengths64, nW)
        return out

    def maxout(self, X):
        if not (is_real_array(X) and X.ndim == 3):
            return super().maxout(X)
        if X.shape[2] == 0:
            raise ValueError(f"maxout needs at least one piece, got X.shape={X.shape}")
        out = numpy.empty(X.shape[:2], dtype=X.dtype)
        which = numpy.empty(X.shape[:2], dtype=numpy.int32)
        _maxout(contiguous(X), out, which)
        return out, which

    @cython.annotation_typing(False)
    def backprop_maxout(self, dY, which, P: int):
        if not (is_real_array(dY) and dY.ndim == 2):
            return super().backprop_maxout(dY, which, P)
        P = _whole_number(P, "backprop_maxout: P")
        if P <= 0:
            raise ValueError(f"backprop_maxout: P must be positive, got {P}")
        which32 = _int32_like(which, dY.shape, "backprop_maxout", "which")
        out = numpy.empty(dY.shape + (P,), dtype=dY.dtype)
        bad = _backprop_maxout(contiguous(dY), which32, out, P)
        if bad >= 0:
            raise IndexError(
                f"backprop_maxout: which.flat[{bad}] = {which32.flat[bad]} is out of bounds "
                f"for {P} pieces"
            )
        return out

    # -- table access --------------------------------------------------------------

    def gather_add(self, table, indices):
        if not (is_real_array(table) and table.ndim == 2 and isinstance(indices, numpy.ndarray)
                and indices.ndim == 2 and indices.dtype.kind in "iu"):
            return super().gather_add(table, indices)
        index_array = _index_array(indices)
        out = numpy.empty((indices.shape[0], table.shape[1]), dtype=table.dtype)
        bad = _gather_add(contiguous(table), index_array, out)
        if bad >= 0:
            raise IndexError(
                f"gather_add: index {index_array.flat[bad]} is out of bounds for a table "
                f"of {table.shape[0]} rows"
            )
        return out

    def scatter_add(self, table, indices, values):
        if not (is_real_array(table) and table.ndim in (1, 2) and is_writeable_contiguous(table)
                and isinstance(indices, numpy.ndarray) and indices.ndim >= 1
                and indices.dtype.kind in "iu" and isinstance(values, numpy.ndarray)
                and values.dtype == table.dtype
                and values.shape == indices.shape + table.shape[1:]):
            return super().scatter_add(table, indices, values)
        # Indices of any shape (HashEmbed's (N, 4) keys) are one flat list of
        # rows, each with its own row of values: the same kernel, no add.at.
        index_array = _index_array(indices.reshape(-1))
        flat_values = contiguous(values).reshape((index_array.shape[0],) + table.shape[1:])
        bad = _scatter_add(table, index_array, flat_values)
        if bad >= 0:
            raise IndexError(
                f"scatter_add: index {index_array[bad]} is out of bounds for a table "
                f"of {table.shape[0]} rows (rows before it were already added)"
            )
        return table

    def hash(self, ids, seed: int):
        """MurmurHash3 (x64, 128-bit) of each id's 8 bytes: four uint32 keys a row."""
        ids_array = numpy.asarray(ids)
        if ids_array.dtype.kind not in "iu":
            raise ValueError(f"hash expects integer ids, got dtype {ids_array.dtype}")
        if ids_array.ndim != 1:
            raise ValueError(f"hash expects 1-dimensional ids, got shape {ids_array.shape}")
        if not 0 <= int(seed) < 2 ** 32:
            raise ValueError(f"hash seed must fit in 32 unsigned bits, got {seed}")
        keys = aligned_c(ids_array, numpy.uint64)
        out = numpy.empty((keys.shape[0], 4), dtype=numpy.uint32)
        _hash(keys, out, int(seed))
        return out

    def _hash_embed_forward(self, ids, seed: int, table):
        if not (is_real_array(table) and table.ndim == 2 and 0 < table.shape[0] < 2 ** 31
                and isinstance(ids, numpy.ndarray) and ids.ndim == 1 and ids.dtype.kind in "iu"
                and isinstance(seed, int) and 0 <= seed < 2 ** 32):
            return super()._hash_embed_forward(ids, seed, table)
        keys = aligned_c(ids, numpy.uint64)
        rows = numpy.empty((keys.shape[0], 4), dtype=numpy.uint32)
        out = numpy.empty((keys.shape[0], table.shape[1]), dtype=table.dtype)
        _hash_embed(keys, seed, contiguous(table), rows, out)
        return out, rows

    # -- LSTM ----------------------------------------------------------------------

    def lstm_forward_training(self, params, H0, C0, X, size_at_t):
        """Time-major packed LSTM (any depth, one or two directions); returns Y and
        the state backprop_lstm reads: (Ys, gates, cells, X, H0, C0)."""
        if not _lstm_compiled(params, H0, C0, X):
            return super().lstm_forward_training(params, H0, C0, X, size_at_t)
        return _lstm_forward(params, H0, C0, X, size_at_t)

    def lstm_forward_inference(self, params, H0, C0, X, size_at_t):
        if not _lstm_compiled(params, H0, C0, X):
            return super().lstm_forward_inference(params, H0, C0, X, size_at_t)
        return _lstm_forward(params, H0, C0, X, size_at_t)[0]

    def backprop_lstm(self, dY, lengths, params, fwd_state):
        if not (isinstance(fwd_state, tuple) and len(fwd_state) == 6
                and _lstm_compiled(params, fwd_state[4], fwd_state[5], fwd_state[3])
                and isinstance(dY, numpy.ndarray) and dY.dtype == numpy.float32):
            return super().backprop_lstm(dY, lengths, params, fwd_state)
        return _lstm_backward(dY, lengths, params, fwd_state)

    # -- optimizer steps -----------------------------------------------------------

    def adam(self, weights, gradient, mom1, mom2, beta1: float, beta2: float, eps: float,
             learn_rate: float, mod_rate: float = 1.0):
        arrays = (weights, gradient, mom1, mom2)
        result = None
        if not (is_real_array(weights)
                and all(same_layout(weights, a) for a in arrays[1:])
                and is_writeable_contiguous(weights) and is_writeable_contiguous(mom1)
                and is_writeable_contiguous(mom2)):
            result = super().adam(weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate,
                                  mod_rate)
        # thinc 8.3's NumpyOps hands the gradient back consumed (zeroed), unlike Ops.
        consumable = adam_consumes(gradient)
        if consumable and result is None and is_writeable_contiguous(gradient):
            # The kernel zeroes it as it reads it: one pass over it fewer.
            _adam(weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate, mod_rate, True)
            return (weights, gradient, mom1, mom2)
        if result is None:
            _adam(weights, contiguous(gradient), mom1, mom2, beta1, beta2, eps, learn_rate,
                  mod_rate)
            result = (weights, gradient, mom1, mom2)
        if consumable:
            gradient.fill(0)
        return result

    def clip_gradient(self, gradient, threshold: float):
        _check_clip_threshold(threshold)
        if not (is_real_array(gradient) and is_writeable_contiguous(gradient)):
            return super().clip_gradient(gradient, threshold)
        _clip_gradient(gradient, threshold)
        return gradient

    @cython.annotation_typing(False)
    def update_averages(self, ema, weights, t: int, max_decay: float = 0.9999) -> None:
        if not (is_real_array(ema) and same_layout(ema, weights) and is_writeable_contiguous(ema)):
            return super().update_averages(ema, weights, t, max_decay=max_decay)
        decay = _average_decay(t, max_decay)
        _update_averages(ema, contiguous(weights), decay)

    # -- fused layer steps: LayerNorm and Maxout call these so that a backend
    # can run each in one compiled sweep without full-size temporaries
    # (kernels/norm.pxi); Ops has their reference semantics.

    def _layer_norm_forward(self, X, G, b, epsilon: float = 1e-08):
        _check_layer_norm_inputs(X, G, b)
        if not _all_real_like(X, G, b):
            return super()._layer_norm_forward(X, G, b, epsilon)
        Y = numpy.empty(X.shape, dtype=X.dtype)
        mean = numpy.empty(X.shape[0], dtype=X.dtype)
        inverse_std = numpy.empty(X.shape[0], dtype=X.dtype)
        _layer_norm_forward_rows(contiguous(X), contiguous(G), contiguous(b), Y, mean,
                                 inverse_std, epsilon)
        return Y, (mean, inverse_std)

    def _layer_norm_backward(self, dY, X, G, mean, inverse_std):
        _check_layer_norm_gradient(dY, X, G, mean, inverse_std)
        if not _all_real_like(X, dY, G, mean, inverse_std):
            return super()._layer_norm_backward(dY, X, G, mean, inverse_std)
        dX = numpy.empty(X.shape, dtype=X.dtype)
        dG = numpy.zeros(X.shape[1], dtype=X.dtype)
        db = numpy.zeros(X.shape[1], dtype=X.dtype)
        _layer_norm_backward_rows(contiguous(dY), contiguous(X), contiguous(G), contiguous(mean),
                                  contiguous(inverse_std), dX, dG, db)
        return dX, dG, db

    def _maxout_forward(self, X, W, b, *, keep_which: bool = True):
        _check_maxout_inputs(X, W, b)
        # Empty operands would hand the BLAS zero leading dimensions.
        if not (self.use_blis and _all_real_like(X, W, b) and X.size and W.size):
            return super()._maxout_forward(X, W, b, keep_which=keep_which)
        best = numpy.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        which = numpy.empty(best.shape, dtype=numpy.int32) if keep_which else None
        _maxout_forward_blocks(contiguous(X), 0, contiguous(W), contiguous(b), best, which)
        return best, which

    @cython.annotation_typing(False)
    def _maxout_window_forward(self, X, nW: int, W, b, *, keep_which: bool = True):
        nW = _check_window(nW, "seq2col")
        if not (self.use_blis and _all_real_like(X, W, b) and X.ndim == 2 and X.size
                and W.ndim == 3 and W.size and b.shape == W.shape[:2]
                and W.shape[2] == (2 * nW + 1) * X.shape[1]):
            return super()._maxout_window_forward(X, nW, W, b, keep_which=keep_which)
        best = numpy.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        which = numpy.empty(best.shape, dtype=numpy.int32) if keep_which else None
        _maxout_forward_blocks(contiguous(X), nW, contiguous(W), contiguous(b), best, which)
        return best, which

    def _maxout_piece_gradients(self, d_best, which, nP: int):
        if not (is_real_array(d_best) and d_best.ndim == 2 and isinstance(which, numpy.ndarray)
                and which.dtype == numpy.int32 and which.shape == d_best.shape):
            return super()._maxout_piece_gradients(d_best, which, nP)
        rows, nO = d_best.shape
        d_pieces = numpy.empty((rows, nO * nP), dtype=d_best.dtype)
        db = numpy.zeros((nO, nP), dtype=d_best.dtype)
        bad = _maxout_backward_pieces(contiguous(d_best), contiguous(which), d_pieces, db)
        if bad >= 0:
            raise IndexError(
                f"maxout backward: which.flat[{bad}] = {which.flat[bad]} is out of bounds "
                f"for {nP} pieces"
            )
        return d_pieces, db


def adam_consumes(gradient) -> bool:
    """Whether NumpyOps.adam hands `gradient` back zeroed (the Optimizer then
    skips its own zeroing pass): any writable float32/float64 numpy array."""
    return is_real_array(gradient) and gradient.flags.writeable


_install_elementwise_methods(NumpyOps)
