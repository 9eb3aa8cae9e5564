"""The reference ops that work along sequences packed row-wise into one array:
windows (seq2col), softmax per sequence and the reductions."""

from typing import Any, List, Optional, Tuple, cast

import numpy

from ...types import Floats2d, Ints1d, Ints2d, Xp
from .._checks import (
    MAX_GRADIENT_ROWS,
    LengthsMismatchError,
    _check_lengths_total,
    _check_same_shape,
    _check_window,
    _lengths_to_list,
)
from .arrays import ArrayOps


class SequenceOps(ArrayOps):
    """Ops over concatenated sequences delimited by lengths."""

    # ---------------------------------------------------------------- windows

    def seq2col(self, seq: Floats2d, nW: int, *, lengths: Optional[Ints1d] = None) -> Floats2d:
        """Concatenate each row with its ``nW`` neighbours on either side, as
        ``(N, (2*nW+1)*nI)``. Neighbours outside a row's sequence are zeros."""
        xp = self.xp
        if seq.ndim != 2:
            raise ValueError(f"seq2col needs a 2d array, got shape {seq.shape}")
        nW = _check_window(nW)
        n_rows, nI = seq.shape
        position, seq_length = self._positions_in_sequences(n_rows, lengths)
        output = xp.empty((n_rows, (2 * nW + 1) * nI), dtype=seq.dtype)
        if output.size == 0:
            return output
        for block, offset in enumerate(range(-nW, nW + 1)):
            valid = (position + offset >= 0) & (position + offset < seq_length)
            # where(), not a multiply: an inf or nan must not leak into a neighbour.
            output[:, block * nI : (block + 1) * nI] = xp.where(
                valid[:, None], _shift_rows(xp, seq, offset), 0
            )
        return output

    def backprop_seq2col(
        self, dY: Floats2d, nW: int, *, lengths: Optional[Ints1d] = None
    ) -> Floats2d:
        """Gradient of seq2col: each row gathers the gradient of every window
        it appeared in."""
        xp = self.xp
        nW = _check_window(nW)
        width = 2 * nW + 1
        if dY.ndim != 2 or dY.shape[1] % width:
            raise ValueError(
                f"backprop_seq2col needs a 2d gradient whose width is a multiple of "
                f"{width} (nW={nW}), got shape {dY.shape}"
            )
        n_rows = dY.shape[0]
        nI = dY.shape[1] // width
        position, seq_length = self._positions_in_sequences(n_rows, lengths)
        dX = xp.zeros((n_rows, nI), dtype=dY.dtype)
        if dX.size == 0:
            return dX
        for block, offset in enumerate(range(-nW, nW + 1)):
            valid = (position + offset >= 0) & (position + offset < seq_length)
            # Row i's window block fed row i + offset, so the gradient moves back.
            contribution = xp.where(valid[:, None], dY[:, block * nI : (block + 1) * nI], 0)
            dX += _shift_rows(xp, contribution, -offset)
        return dX

    def _positions_in_sequences(self, n_rows: int, lengths: Optional[Ints1d]) -> Tuple[Any, Any]:
        """For every row: its position within its sequence and that sequence's length."""
        xp = self.xp
        if lengths is None:
            return xp.arange(n_rows), xp.full((n_rows,), n_rows)
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_lengths_total(lengths_list, n_rows, exact=True)
        host_lengths = numpy.asarray(lengths_list, dtype="int64")
        starts = numpy.cumsum(host_lengths) - host_lengths
        seq_length = numpy.repeat(host_lengths, host_lengths)
        position = numpy.arange(n_rows) - numpy.repeat(starts, host_lengths)
        return xp.asarray(position), xp.asarray(seq_length)

    # ------------------------------------------------------ softmax per sequence

    def softmax_sequences(
        self, Xs: Floats2d, lengths: Ints1d, *, inplace: bool = False, axis: int = -1
    ) -> Floats2d:
        """Softmax over the rows of each sequence, separately for every column."""
        if Xs.ndim != 2:
            raise ValueError(f"softmax_sequences needs a 2d array, got shape {Xs.shape}")
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_lengths_total(lengths_list, Xs.shape[0], exact=True)
        output = Xs if inplace else self.xp.empty_like(Xs)
        start = 0
        for length in lengths_list:
            if length:
                rows = Xs[start : start + length]
                exps = self.xp.exp(rows - rows.max(axis=0, keepdims=True))
                output[start : start + length] = exps / exps.sum(axis=0, keepdims=True)
            start += length
        return output

    def backprop_softmax_sequences(self, dY: Floats2d, Y: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_same_shape(dY, Y, "backprop_softmax_sequences")
        _check_lengths_total(lengths_list, Y.shape[0], exact=True)
        dX = Y * dY
        start = 0
        for length in lengths_list:
            if length:
                rows = slice(start, start + length)
                dX[rows] -= Y[rows] * dX[rows].sum(axis=0, keepdims=True)
            start += length
        return dX

    # ---------------------------------------------------------------- reductions

    def reduce_sum(self, X: Floats2d, lengths: Ints1d) -> Floats2d:
        """Sum of each sequence's rows; zero-length sequences give zeros."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_sum")
        output = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        start = 0
        for i, length in enumerate(lengths_list):
            if length:
                output[i] = X[start : start + length].sum(axis=0)
            start += length
        return output

    def reduce_mean(self, X: Floats2d, lengths: Ints1d) -> Floats2d:
        """Mean of each sequence's rows; zero-length sequences give zeros."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_mean")
        output = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        start = 0
        for i, length in enumerate(lengths_list):
            if length:
                output[i] = X[start : start + length].mean(axis=0)
            start += length
        return output

    def reduce_max(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints2d]:
        """Maximum of each sequence's rows, and the row (within the sequence)
        where each maximum was found: the first on ties, the first NaN where a
        column has one (as numpy's argmax). Every sequence needs a row."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_max", positive=True)
        maxes = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        which = self.xp.zeros((len(lengths_list), X.shape[1]), dtype="int32")
        start = 0
        for i, length in enumerate(lengths_list):
            rows = X[start : start + length]
            which[i] = rows.argmax(axis=0)
            maxes[i] = rows.max(axis=0)
            start += length
        return maxes, which

    def reduce_first(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints1d]:
        """First row of each sequence, and the sequence boundaries
        [0, l0, l0+l1, ..., n_rows] (empty for an empty batch)."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_first", positive=True, exact=True)
        if not lengths_list:
            return self.xp.zeros((0,) + X.shape[1:], dtype=X.dtype), self.alloc1i(0)
        starts_ends = self.asarray1i(cast(Any, numpy.cumsum([0] + lengths_list)))
        return X[starts_ends[:-1]], starts_ends

    def reduce_last(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints1d]:
        """Last row of each sequence, and the index of that row."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_last", positive=True, exact=True)
        if not lengths_list:
            return self.xp.zeros((0,) + X.shape[1:], dtype=X.dtype), self.alloc1i(0)
        lasts = self.xp.asarray(numpy.cumsum(lengths_list) - 1)
        return X[lasts], lasts

    def backprop_reduce_sum(self, d_sums: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(d_sums, lengths, "backprop_reduce_sum")
        return _repeat_rows(self.xp, d_sums, lengths_list)

    def backprop_reduce_mean(self, d_means: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(d_means, lengths, "backprop_reduce_mean")
        # Zero-length sequences own no rows, so dividing by max(length, 1) is safe.
        divisors = self.xp.asarray([max(length, 1) for length in lengths_list], dtype=d_means.dtype)
        scaled = d_means / divisors.reshape((-1,) + (1,) * (d_means.ndim - 1))
        return _repeat_rows(self.xp, scaled, lengths_list)

    def backprop_reduce_max(self, d_maxes: Floats2d, which: Ints2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(
            d_maxes, lengths, "backprop_reduce_max", positive=True
        )
        if which.shape != d_maxes.shape:
            raise ValueError(
                f"backprop_reduce_max needs which and d_maxes of one shape, "
                f"got {which.shape} and {d_maxes.shape}"
            )
        xp = self.xp
        host_lengths = numpy.asarray(lengths_list, dtype="int64")
        if which.size:
            lengths_xp = xp.asarray(host_lengths)[:, None]
            if bool(((which < 0) | (which >= lengths_xp)).any()):
                raise IndexError("backprop_reduce_max: a 'which' index is outside its sequence")
        dX = xp.zeros((int(host_lengths.sum()), d_maxes.shape[1]), dtype=d_maxes.dtype)
        starts = xp.asarray(numpy.cumsum(host_lengths) - host_lengths)
        rows = starts[:, None] + which
        columns = xp.arange(d_maxes.shape[1])[None, :]
        dX[rows, columns] = d_maxes
        return dX

    def backprop_reduce_first(self, d_firsts: Floats2d, starts_ends: Ints1d) -> Floats2d:
        boundaries = _lengths_to_list(starts_ends, "starts_ends")
        if not boundaries:
            return self.xp.zeros((0,) + d_firsts.shape[1:], dtype=d_firsts.dtype)
        if len(boundaries) != d_firsts.shape[0] + 1:
            raise ValueError(
                f"backprop_reduce_first needs {d_firsts.shape[0] + 1} boundaries for "
                f"{d_firsts.shape[0]} sequences, got {len(boundaries)}"
            )
        dX = self.xp.zeros((boundaries[-1],) + d_firsts.shape[1:], dtype=d_firsts.dtype)
        dX[self.xp.asarray(boundaries[:-1], dtype="int64")] = d_firsts
        return dX

    def backprop_reduce_last(self, d_lasts: Floats2d, lasts: Ints1d) -> Floats2d:
        positions = _lengths_to_list(lasts, "lasts")
        if len(positions) != d_lasts.shape[0]:
            raise ValueError(
                f"backprop_reduce_last got {len(positions)} positions for "
                f"{d_lasts.shape[0]} sequences"
            )
        n_rows = positions[-1] + 1 if positions else 0
        dX = self.xp.zeros((n_rows,) + d_lasts.shape[1:], dtype=d_lasts.dtype)
        dX[self.xp.asarray(positions, dtype="int64")] = d_lasts
        return dX

    def _reduce_lengths(
        self, X: Any, lengths: Any, op: str, *, positive: bool = False, exact: bool = False
    ) -> List[int]:
        if X.ndim != 2:
            raise ValueError(f"{op} needs a 2d array, got shape {X.shape}")
        lengths_list = _lengths_to_list(lengths, "lengths", positive=positive)
        _check_lengths_total(lengths_list, X.shape[0], exact=exact)
        return lengths_list

    def _backprop_reduce_lengths(
        self, d_reduced: Any, lengths: Any, op: str, *, positive: bool = False
    ) -> List[int]:
        lengths_list = _lengths_to_list(lengths, "lengths", positive=positive)
        if d_reduced.ndim != 2 or d_reduced.shape[0] != len(lengths_list):
            raise ValueError(
                f"{op} needs a 2d gradient with one row per sequence: got shape "
                f"{d_reduced.shape} for {len(lengths_list)} lengths"
            )
        # Bounded as NumpyOps bounds it: numpy.repeat sums the lengths in int64
        # unchecked, and a wrapped total writes past the array it allocated.
        if sum(lengths_list) > MAX_GRADIENT_ROWS:
            raise LengthsMismatchError(
                f"{op}: lengths sum to {sum(lengths_list)}, more than {MAX_GRADIENT_ROWS} rows"
            )
        return lengths_list


def _shift_rows(xp: Xp, array: Any, offset: int) -> Any:
    """Rows moved so that result[i] = array[i + offset], zeros past either end."""
    result = xp.zeros_like(array)
    n_rows = array.shape[0]
    if offset >= 0:
        result[: max(n_rows - offset, 0)] = array[offset:]
    else:
        result[-offset:] = array[: max(n_rows + offset, 0)]
    return result


def _repeat_rows(xp: Xp, rows: Any, lengths: List[int]) -> Any:
    """Row i of ``rows`` repeated lengths[i] times (repeats as a host list:
    cupy.repeat does not take an array of them)."""
    if rows.size == 0:
        # numpy.repeat would still step through every repeat of an empty row.
        return xp.zeros((sum(lengths),) + rows.shape[1:], dtype=rows.dtype)
    return xp.repeat(rows, lengths, axis=0)
