"""Checked Python entry points for the CUDA kernels in _custom_kernels.cu.

The kernels compile on first use; each wrapper validates shapes, dtypes and lengths
on the host (raising clear errors) and allocates outputs before launching."""

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy

from ..compat import cupy, has_cupy_gpu
from ._checks import LengthsMismatchError, _check_window

KERNELS_SOURCE_PATH = Path(__file__).with_name("_custom_kernels.cu")
FLOAT_KERNELS = (
    "seq2col",
    "backprop_seq2col",
    "maxout",
    "reduce_sum",
    "reduce_max",
    "gather_add",
)
KERNEL_NAMES = tuple(
    f"{name}_{suffix}" for name in FLOAT_KERNELS for suffix in ("float", "double")
) + ("hash_data",)

# Kernels index with 32-bit ints.
_MAX_ITEMS = 2**31 - 1

_module_cache: Dict[str, Any] = {}


def _compiled_module() -> Any:
    """The RawModule for the whole .cu file, compiled once per process."""
    if "module" not in _module_cache:
        if cupy is None:
            raise ValueError("CUDA kernels need cupy, which is not installed")
        source = KERNELS_SOURCE_PATH.read_text(encoding="utf8")
        _module_cache["module"] = cupy.RawModule(code=source, options=("--std=c++11",))
    return _module_cache["module"]


class LazyKernel:
    """A kernel looked up (compiling the module if needed) on its first launch.
    Called like cupy.RawKernel: ``kernel(grid, block, args)``."""

    def __init__(self, name: str, *, compile_callback: Optional[Callable[[], Any]] = None) -> None:
        self.name = name
        self._compile_callback = compile_callback
        self._kernel: Any = None

    def _get(self) -> Any:
        if self._kernel is None:
            if self._compile_callback is not None:
                self._kernel = self._compile_callback()
            else:
                self._kernel = _compiled_module().get_function(self.name)
        return self._kernel

    def __call__(
        self, grid: Tuple[int, ...], block: Tuple[int, ...], args: Tuple, **kwargs: Any
    ) -> Any:
        return self._get()(grid, block, args, **kwargs)


# Tests swap entries here for CPU emulations of the same kernels.
KERNELS: Dict[str, Any] = {name: LazyKernel(name) for name in KERNEL_NAMES}

# thinc 8.3's names, which other packages import: the kernel source, the list of
# kernel names it defines, and one lazily compiled kernel object per name
# (``seq2col_kernel_float``, ..., ``hash_data_kernel``).
PWD = KERNELS_SOURCE_PATH.parent
KERNELS_SRC = KERNELS_SOURCE_PATH.read_text(encoding="utf8")
KERNELS_LIST = list(KERNEL_NAMES)
for _name, _kernel in KERNELS.items():
    _base, _, _suffix_name = _name.rpartition("_")
    globals()["hash_data_kernel" if _name == "hash_data" else f"{_base}_kernel_{_suffix_name}"] = (
        _kernel
    )
del _name, _kernel, _base, _suffix_name


def compile_mmh() -> Any:
    """The MurmurHash kernel (``hash_data``) compiled for the GPU, or None where
    no CUDA GPU is usable (thinc 8.3's meaning)."""
    if not has_cupy_gpu:
        return None
    return cupy.RawKernel(KERNELS_SRC, "hash_data", options=("--std=c++11",))


THREADS_PER_BLOCK = 128
MAX_BLOCKS = 65535


def _launch(name: str, n_items: int, args: Tuple) -> None:
    if n_items == 0:
        return
    largest = max([n_items] + [int(arg.size) for arg in args if hasattr(arg, "shape")])
    if largest > _MAX_ITEMS:
        raise ValueError(f"{name}: {largest} elements exceed the kernels' 32-bit index range")
    blocks = min(MAX_BLOCKS, (n_items + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)
    KERNELS[name]((blocks,), (THREADS_PER_BLOCK,), args)


def _xp(array: Any) -> Any:
    if isinstance(array, numpy.ndarray):
        return numpy
    if cupy is None or not isinstance(array, cupy.ndarray):
        raise TypeError(f"expected a numpy or cupy array, got {type(array).__name__}")
    return cupy


def _suffix(array: Any, what: str) -> str:
    if array.dtype == numpy.float32:
        return "float"
    if array.dtype == numpy.float64:
        return "double"
    raise TypeError(f"{what} must be float32 or float64, got {array.dtype}")


def _require_ndim(array: Any, ndim: int, what: str) -> None:
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {array.shape}")


def _int32_lengths(lengths: Any, n_rows: int, what: str, xp: Any, *, exact: bool) -> Any:
    """Lengths as contiguous int32 on the device, checked to be >= 0 and to sum to
    n_rows (or at most n_rows when not ``exact``: the reductions ignore extra rows)."""
    lengths = xp.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(
            f"{what}: lengths must be a 1d integer array, got shape {lengths.shape} "
            f"and dtype {lengths.dtype}"
        )
    total = 0
    if lengths.shape[0]:
        if bool((lengths < 0).any()):
            raise ValueError(f"{what}: all sequence lengths must be >= 0")
        # Each length is bounded before the int32 cast and the sum: the cast
        # would wrap 2**32 + 3 to 3, and a sum of huge lengths can wrap too.
        if bool((lengths > n_rows).any()):
            raise LengthsMismatchError(f"{what}: a length exceeds the {n_rows} rows of the array")
        total = int(lengths.astype("int64").sum())
    lengths = xp.ascontiguousarray(lengths, dtype="int32")
    if total > n_rows or (exact and total != n_rows):
        raise LengthsMismatchError(
            f"{what}: lengths sum to {total} but the array has {n_rows} rows"
        )
    return lengths


def _starts(lengths: Any, xp: Any) -> Any:
    starts = xp.zeros(lengths.shape, dtype="int32")
    if lengths.shape[0] > 1:
        starts[1:] = xp.cumsum(lengths[:-1])
    return starts


def row_sequence_ids(lengths: Any, xp: Any) -> Any:
    """For each of the sum(lengths) rows, the index of the sequence that owns it.
    (searchsorted, because cupy.repeat refuses array-valued repeats.)"""
    ends = xp.cumsum(lengths, dtype="int64")
    n_rows = int(ends[-1]) if ends.shape[0] else 0
    return xp.searchsorted(ends, xp.arange(n_rows, dtype="int64"), side="right")


def _row_bounds(lengths: Any, xp: Any) -> Tuple[Any, Any]:
    """For every row, the start and end row of the sequence that holds it."""
    starts = _starts(lengths, xp)
    owners = row_sequence_ids(lengths, xp)
    row_starts = xp.ascontiguousarray(starts[owners], dtype="int32")
    row_ends = xp.ascontiguousarray((starts + lengths)[owners], dtype="int32")
    return row_starts, row_ends


def seq2col(seq: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
    """(B, I) rows to (B, (2*nW+1)*I) windows of neighbouring rows, zero-padded
    at the edges of each sequence."""
    _require_ndim(seq, 2, "seq2col input")
    suffix = _suffix(seq, "seq2col input")
    nW = _check_window(nW)
    xp = _xp(seq)
    B, I = seq.shape
    if lengths is None:
        lengths = xp.asarray([B], dtype="int32")
    lengths = _int32_lengths(lengths, B, "seq2col", xp, exact=True)
    row_starts, row_ends = _row_bounds(lengths, xp)
    nF = 2 * nW + 1
    seq = xp.ascontiguousarray(seq)
    output = xp.empty((B, nF * I), dtype=seq.dtype)
    args = (output, seq, row_starts, row_ends, numpy.int32(nW), numpy.int32(B), numpy.int32(I))
    _launch(f"seq2col_{suffix}", B * nF * I, args)
    return output


def backprop_seq2col(dY: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
    """Gradient of seq2col: (B, (2*nW+1)*I) to (B, I)."""
    _require_ndim(dY, 2, "backprop_seq2col gradient")
    suffix = _suffix(dY, "backprop_seq2col gradient")
    nW = _check_window(nW)
    xp = _xp(dY)
    nF = 2 * nW + 1
    B, width = dY.shape
    if width % nF:
        raise ValueError(
            f"backprop_seq2col: gradient width {width} is not a multiple of 2*nW+1 = {nF}"
        )
    I = width // nF
    if lengths is None:
        lengths = xp.asarray([B], dtype="int32")
    lengths = _int32_lengths(lengths, B, "backprop_seq2col", xp, exact=True)
    row_starts, row_ends = _row_bounds(lengths, xp)
    dY = xp.ascontiguousarray(dY)
    dX = xp.empty((B, I), dtype=dY.dtype)
    args = (dX, dY, row_starts, row_ends, numpy.int32(nW), numpy.int32(B), numpy.int32(I))
    _launch(f"backprop_seq2col_{suffix}", B * I, args)
    return dX


def maxout(X: Any) -> Tuple[Any, Any]:
    """(B, O, P) to the max over P, (B, O), and its int32 argmax."""
    _require_ndim(X, 3, "maxout input")
    suffix = _suffix(X, "maxout input")
    xp = _xp(X)
    B, O, P = X.shape
    if P == 0 and B * O:
        raise ValueError("maxout needs at least one piece (P > 0)")
    X = xp.ascontiguousarray(X)
    best = xp.empty((B, O), dtype=X.dtype)
    which = xp.empty((B, O), dtype="int32")
    args = (best, which, X, numpy.int32(B), numpy.int32(O), numpy.int32(P))
    _launch(f"maxout_{suffix}", B * O, args)
    return best, which


def _reduce_sum(X: Any, lengths: Any, *, divide: bool, what: str) -> Any:
    _require_ndim(X, 2, f"{what} input")
    suffix = _suffix(X, f"{what} input")
    xp = _xp(X)
    T, O = X.shape
    lengths = _int32_lengths(lengths, T, what, xp, exact=False)
    B = lengths.shape[0]
    X = xp.ascontiguousarray(X)
    output = xp.empty((B, O), dtype=X.dtype)
    starts = _starts(lengths, xp)
    args = (output, X, starts, lengths, numpy.int32(B), numpy.int32(O), numpy.int32(int(divide)))
    _launch(f"reduce_sum_{suffix}", B * O, args)
    return output


def reduce_sum(X: Any, lengths: Any) -> Any:
    """Per-sequence sums of (T, O) rows grouped by ``lengths``: (B, O)."""
    return _reduce_sum(X, lengths, divide=False, what="reduce_sum")


def reduce_mean(X: Any, lengths: Any) -> Any:
    """Per-sequence means (zero for empty sequences): (B, O)."""
    return _reduce_sum(X, lengths, divide=True, what="reduce_mean")


def reduce_max(X: Any, lengths: Any) -> Tuple[Any, Any]:
    """Per-sequence maxima (B, O) and the int32 row of each within its sequence."""
    _require_ndim(X, 2, "reduce_max input")
    suffix = _suffix(X, "reduce_max input")
    xp = _xp(X)
    T, O = X.shape
    lengths = _int32_lengths(lengths, T, "reduce_max", xp, exact=False)
    B = lengths.shape[0]
    if B and bool((lengths == 0).any()):
        raise ValueError("reduce_max: all sequence lengths must be > 0, got 0")
    X = xp.ascontiguousarray(X)
    maxes = xp.empty((B, O), dtype=X.dtype)
    which = xp.empty((B, O), dtype="int32")
    starts = _starts(lengths, xp)
    args = (maxes, which, X, starts, lengths, numpy.int32(B), numpy.int32(O))
    _launch(f"reduce_max_{suffix}", B * O, args)
    return maxes, which


def gather_add(table: Any, indices: Any) -> Any:
    """output[b] = sum over k of table[indices[b, k]]: (B, O)."""
    _require_ndim(table, 2, "gather_add table")
    suffix = _suffix(table, "gather_add table")
    xp = _xp(table)
    indices = xp.asarray(indices)
    if indices.ndim != 2 or indices.dtype.kind not in "iu":
        raise ValueError(
            f"gather_add: indices must be a 2d integer array, got shape {indices.shape} "
            f"and dtype {indices.dtype}"
        )
    n_rows, O = table.shape
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= n_rows:
            bad = low if low < 0 else high
            raise IndexError(
                f"gather_add: index {bad} is out of bounds for a table of {n_rows} rows"
            )
    indices = xp.ascontiguousarray(indices, dtype="int32")
    table = xp.ascontiguousarray(table)
    B, K = indices.shape
    output = xp.empty((B, O), dtype=table.dtype)
    args = (output, table, indices, numpy.int32(B), numpy.int32(K), numpy.int32(O))
    _launch(f"gather_add_{suffix}", B * O, args)
    return output


def hash(ids: Any, seed: int) -> Any:
    """MurmurHash3_x64_128 of each uint64 id with ``seed``: (N, 4) uint32, the same
    words the CPU backend gives."""
    if ids.dtype != numpy.uint64:
        raise ValueError(f"hash: ids must be uint64, got {ids.dtype}")
    _require_ndim(ids, 1, "hash ids")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"hash: seed must fit in 32 unsigned bits, got {seed}")
    xp = _xp(ids)
    ids = xp.ascontiguousarray(ids)
    N = ids.shape[0]
    output = xp.empty((N, 4), dtype="uint32")
    _launch("hash_data", N, (output, ids, numpy.uint32(int(seed)), numpy.int32(N)))
    return output
