"""The CUDA backend: Ops over cupy arrays, with custom kernels for the sequence ops.

Importable without cupy (``xp`` is then None); running it needs cupy and a CUDA GPU."""

from typing import Any, Optional, Tuple

import numpy

from .._frameworks import (
    is_cupy_array,
    is_mxnet_gpu_array,
    is_tensorflow_gpu_array,
    is_torch_array,
    is_torch_cuda_array,
    mxnet_to_xp,
    tensorflow_to_xp,
    torch_to_xp,
)
from ..compat import cupy, cupyx
from ..types import DeviceTypes
from . import _custom_kernels
from .ops import Ops

_KERNEL_DTYPES = (numpy.dtype("float32"), numpy.dtype("float64"))


def _has_kernel_dtype(*arrays: Any) -> bool:
    return all(getattr(array, "dtype", None) in _KERNEL_DTYPES for array in arrays)


class CupyOps(Ops):
    """Ops on the GPU. Array code inherited from Ops runs unchanged on cupy; the
    overrides here use CUDA kernels or cupy-specific calls where that matters."""

    name = "cupy"
    xp = cupy
    _xp2 = cupyx

    def __init__(self, device_type: DeviceTypes = "gpu", device_id: int = 0, **kwargs: Any) -> None:
        super().__init__(device_type=device_type, device_id=device_id, **kwargs)

    def to_numpy(self, data: Any, *, byte_order: Optional[str] = None) -> numpy.ndarray:
        """Copy a device array to the host (optionally in the given byte order)."""
        if is_cupy_array(data):
            array = data.get()
        elif is_torch_array(data):
            array = data.detach().cpu().numpy()
        else:
            array = numpy.asarray(data)
        if byte_order:
            array = array.astype(array.dtype.newbyteorder(byte_order))
        return array

    def asarray(self, data: Any, dtype: Optional[Any] = None) -> Any:
        """A device array for ``data``: cupy arrays pass through, GPU tensors from
        other frameworks are shared through DLPack, anything else is copied over."""
        if is_cupy_array(data):
            array = data
        elif is_torch_cuda_array(data):
            array = torch_to_xp(data)
        elif is_torch_array(data):
            array = self.xp.asarray(data.detach().cpu().numpy())
        elif is_tensorflow_gpu_array(data):
            array = tensorflow_to_xp(data)
        elif is_mxnet_gpu_array(data):
            array = mxnet_to_xp(data)
        elif isinstance(data, (list, tuple)) and data and all(is_cupy_array(item) for item in data):
            array = self.xp.stack(data)
        else:
            return self.xp.asarray(data, dtype=dtype)
        if dtype is not None and array.dtype != numpy.dtype(dtype):
            array = array.astype(dtype)
        return array

    def hash(self, ids: Any, seed: int) -> Any:
        if getattr(ids, "ndim", None) == 1 and ids.dtype.kind in "iu":
            # Signed ids hash as their two's-complement bytes, as in the reference.
            return _custom_kernels.hash(ids.astype("uint64", copy=False), seed)
        return super().hash(ids, seed)

    def seq2col(self, seq: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
        if _has_kernel_dtype(seq) and seq.ndim == 2:
            return _custom_kernels.seq2col(seq, nW, lengths=lengths)
        return super().seq2col(seq, nW, lengths=lengths)

    def backprop_seq2col(self, dY: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
        if _has_kernel_dtype(dY) and dY.ndim == 2:
            return _custom_kernels.backprop_seq2col(dY, nW, lengths=lengths)
        return super().backprop_seq2col(dY, nW, lengths=lengths)

    def maxout(self, X: Any) -> Tuple[Any, Any]:
        if _has_kernel_dtype(X) and X.ndim == 3:
            return _custom_kernels.maxout(X)
        return super().maxout(X)

    def reduce_sum(self, X: Any, lengths: Any) -> Any:
        if _has_kernel_dtype(X) and X.ndim == 2:
            return _custom_kernels.reduce_sum(X, lengths)
        return super().reduce_sum(X, lengths)

    def reduce_mean(self, X: Any, lengths: Any) -> Any:
        if _has_kernel_dtype(X) and X.ndim == 2:
            return _custom_kernels.reduce_mean(X, lengths)
        return super().reduce_mean(X, lengths)

    def reduce_max(self, X: Any, lengths: Any) -> Tuple[Any, Any]:
        if _has_kernel_dtype(X) and X.ndim == 2:
            return _custom_kernels.reduce_max(X, lengths)
        return super().reduce_max(X, lengths)

    def _row_sequences(self, lengths: Any, n_seqs: int, what: str) -> Any:
        """For every row of the unreduced array, the sequence it belongs to."""
        lengths = self.xp.asarray(lengths)
        if lengths.ndim != 1 or lengths.shape[0] != n_seqs:
            raise ValueError(
                f"{what}: expected {n_seqs} lengths (one per sequence), got shape {lengths.shape}"
            )
        if n_seqs and bool((lengths < 0).any()):
            raise ValueError(f"{what}: all sequence lengths must be >= 0")
        return _custom_kernels.row_sequence_ids(lengths, self.xp)

    def backprop_reduce_sum(self, d_sums: Any, lengths: Any) -> Any:
        rows = self._row_sequences(lengths, d_sums.shape[0], "backprop_reduce_sum")
        return d_sums[rows]

    def backprop_reduce_mean(self, d_means: Any, lengths: Any) -> Any:
        rows = self._row_sequences(lengths, d_means.shape[0], "backprop_reduce_mean")
        # Only non-empty sequences own rows, so the division is never by zero.
        row_lengths = self.xp.asarray(lengths)[rows].astype(d_means.dtype)
        return d_means[rows] / row_lengths.reshape((-1,) + (1,) * (d_means.ndim - 1))

    def backprop_reduce_max(self, d_maxes: Any, which: Any, lengths: Any) -> Any:
        n_seqs = d_maxes.shape[0]
        if which.shape != d_maxes.shape:
            raise ValueError(
                f"backprop_reduce_max: which shape {which.shape} differs from "
                f"gradient shape {d_maxes.shape}"
            )
        rows = self._row_sequences(lengths, n_seqs, "backprop_reduce_max")
        lengths = self.xp.asarray(lengths)
        if which.size and bool(((which < 0) | (which >= lengths.reshape((-1, 1)))).any()):
            raise IndexError("backprop_reduce_max: which points outside its sequence")
        starts = self.xp.zeros((n_seqs,), dtype="int64")
        if n_seqs > 1:
            starts[1:] = self.xp.cumsum(lengths[:-1])
        dX = self.xp.zeros((rows.shape[0],) + d_maxes.shape[1:], dtype=d_maxes.dtype)
        columns = self.xp.arange(d_maxes.shape[1])
        dX[starts[:, None] + which, columns[None, :]] = d_maxes
        return dX

    def gather_add(self, table: Any, indices: Any) -> Any:
        if _has_kernel_dtype(table) and table.ndim == 2 and getattr(indices, "ndim", 0) == 2:
            return _custom_kernels.gather_add(table, indices)
        return super().gather_add(table, indices)
