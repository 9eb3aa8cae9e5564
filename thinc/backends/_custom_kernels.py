"""Checked Python entry points for the CUDA kernels in _custom_kernels.cu.

Each wrapper first checks dtypes, shapes, lengths and indices (raising the errors
the CPU backend raises) and allocates its outputs; only then does it launch. The
module compiles once per process, on the first launch."""

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy

from ..compat import cupy, has_cupy_gpu
from ._checks import (
    LengthsMismatchError,
    _check_lengths_total,
    _check_window,
    _lengths_to_list,
    _whole_number,
)

KERNELS_SOURCE_PATH = Path(__file__).with_name("_custom_kernels.cu")

# The elementwise rows of the .cu tables (THINC_GPU_FORWARD_OPS and
# THINC_GPU_BACKWARD_OPS), in the same order; each kernel takes four float
# parameters a, b, c, d, of which a row reads those it names.
FORWARD_ACTIVATIONS = (
    "relu",
    "clipped_linear",
    "hard_swish",
    "hard_swish_mobilenet",
    "sigmoid",
    "swish",
    "gelu",
    "gelu_approx",
    "dish",
    "mish",
    "dsigmoid",
    "dtanh",
)
BACKWARD_ACTIVATIONS = (
    "backprop_relu",
    "backprop_clipped_linear",
    "backprop_hard_swish",
    "backprop_hard_swish_mobilenet",
    "backprop_sigmoid",
    "backprop_gelu",
    "backprop_gelu_approx",
    "backprop_dish",
    "backprop_mish",
)
FLOAT_KERNELS = (
    (
        "seq2col",
        "backprop_seq2col",
        "maxout",
        "maxout_bias",
        "backprop_maxout",
        "reduce_sum",
        "reduce_max",
        "backprop_reduce_sum",
        "backprop_reduce_max",
        "gather_add",
        "backprop_swish",
        "adam",
        "layer_norm_stats",
        "layer_norm_apply",
        "layer_norm_row_means",
        "layer_norm_backward_apply",
        "layer_norm_column_sums",
        "pad",
    )
    + FORWARD_ACTIVATIONS
    + BACKWARD_ACTIVATIONS
)
FLOAT_SUFFIXES = {numpy.dtype("float32"): "float", numpy.dtype("float64"): "double"}
PAD_SUFFIXES = {
    **FLOAT_SUFFIXES,
    numpy.dtype("int32"): "int32",
    numpy.dtype("int64"): "int64",
}
KERNEL_NAMES = tuple(
    f"{name}_{suffix}" for name in FLOAT_KERNELS for suffix in ("float", "double")
) + ("pad_int32", "pad_int64", "hash_data")

THREADS_PER_BLOCK = 128
MAX_BLOCKS = 65535
# Kernels index with 32-bit ints, and a grid-stride loop steps up to one grid
# past its last item: that step must not overflow either.
_MAX_ITEMS = 2**31 - 1 - THREADS_PER_BLOCK * MAX_BLOCKS
# Rows per partial sum in the layer norm's parameter gradients.
LAYER_NORM_CHUNK = 64

COMPILE_OPTIONS = ("--std=c++11",)

_module_cache: Dict[str, Any] = {}


def _compiled_module() -> Any:
    """The RawModule for the whole .cu file, compiled once per process."""
    if "module" not in _module_cache:
        if cupy is None:
            raise ValueError("CUDA kernels need cupy, which is not installed")
        source = KERNELS_SOURCE_PATH.read_text(encoding="utf8")
        _module_cache["module"] = cupy.RawModule(code=source, options=COMPILE_OPTIONS)
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
    return cupy.RawKernel(KERNELS_SRC, "hash_data", options=COMPILE_OPTIONS)


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
    suffix = FLOAT_SUFFIXES.get(getattr(array, "dtype", None))
    if suffix is None:
        raise TypeError(f"{what} must be float32 or float64, got {getattr(array, 'dtype', array)}")
    return suffix


def _require_ndim(array: Any, ndim: int, what: str) -> None:
    if array.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {array.shape}")


def _require_like(array: Any, like: Any, what: str) -> None:
    if array.shape != like.shape or array.dtype != like.dtype:
        raise ValueError(
            f"{what} must match shape {like.shape} and dtype {like.dtype}, "
            f"got {array.shape} and {array.dtype}"
        )


def _int32(value: int) -> Any:
    return numpy.int32(value)


def _host_lengths(lengths: Any, what: str, *, positive: bool = False) -> List[int]:
    """Lengths as host ints, checked as the CPU backend checks them (integers,
    one dimension, >= 0 or > 0), each small enough for the kernels' indexing."""
    try:
        values = _lengths_to_list(lengths, "lengths", positive=positive)
    except ValueError as error:
        raise type(error)(f"{what}: {error}") from None
    if values and max(values) > _MAX_ITEMS:
        raise LengthsMismatchError(f"{what}: a length of {max(values)} exceeds the kernels' range")
    return values


def _int32_lengths(
    lengths: Any, n_rows: int, what: str, xp: Any, *, exact: bool, positive: bool = False
) -> Any:
    """Lengths as contiguous int32 on the device, checked to be >= 0 (> 0 when
    ``positive``) and to sum to n_rows (or at most n_rows when not ``exact``: the
    reductions ignore extra rows). Each length is bounded before the cast and the
    sum, so 2**32 + 3 cannot wrap to 3."""
    values = _host_lengths(lengths, what, positive=positive)
    if values and max(values) > n_rows:
        raise LengthsMismatchError(f"{what}: a length exceeds the {n_rows} rows of the array")
    try:
        _check_lengths_total(values, n_rows, exact=exact)
    except LengthsMismatchError as error:
        raise LengthsMismatchError(f"{what}: {error}") from None
    return xp.asarray(numpy.asarray(values, dtype="int32").reshape((len(values),)))


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


# ----------------------------------------------------------------- activations


def activation(name: str, X: Any, params: Sequence[float] = (), *, inplace: bool = False) -> Any:
    """Row ``name`` of the forward table over X (any shape), with up to four
    float parameters; written into X when ``inplace``."""
    if name not in FORWARD_ACTIVATIONS:
        raise ValueError(f"no GPU activation named {name!r}")
    suffix = _suffix(X, f"{name} input")
    xp = _xp(X)
    source = xp.ascontiguousarray(X)
    output = source if inplace and source is X else xp.empty(X.shape, dtype=X.dtype)
    args = (output, source) + _float_params(params, X.dtype) + (_int32(X.size),)
    _launch(f"{name}_{suffix}", X.size, args)
    if inplace and output is not X:
        X[...] = output
        return X
    return output


def activation_backward(
    name: str, dY: Any, saved: Any, params: Sequence[float] = (), *, inplace: bool = False
) -> Any:
    """Row ``name`` of the backward table: the input gradient from dY and the
    saved input (or output), of one shape and dtype; written into dY when
    ``inplace``."""
    if name not in BACKWARD_ACTIVATIONS:
        raise ValueError(f"no GPU activation gradient named {name!r}")
    suffix = _suffix(dY, f"{name} gradient")
    _require_like(saved, dY, f"{name}: the saved array")
    xp = _xp(dY)
    gradient = xp.ascontiguousarray(dY)
    saved = xp.ascontiguousarray(saved)
    output = gradient if inplace and gradient is dY else xp.empty(dY.shape, dtype=dY.dtype)
    args = (output, gradient, saved) + _float_params(params, dY.dtype) + (_int32(dY.size),)
    _launch(f"{name}_{suffix}", dY.size, args)
    if inplace and output is not dY:
        dY[...] = output
        return dY
    return output


def _float_params(params: Sequence[float], dtype: Any) -> Tuple[Any, ...]:
    if len(params) > 4:
        raise ValueError(f"activations take at most 4 parameters, got {len(params)}")
    scalar = numpy.dtype(dtype).type
    return tuple(scalar(value) for value in params) + (scalar(0),) * (4 - len(params))


def backprop_swish(dY: Any, X: Any, Y: Any, *, inplace: bool = False) -> Any:
    """dY * (Y + sigmoid(X) * (1 - Y)), swish's input gradient."""
    suffix = _suffix(dY, "backprop_swish gradient")
    _require_like(X, dY, "backprop_swish: X")
    _require_like(Y, dY, "backprop_swish: Y")
    xp = _xp(dY)
    gradient = xp.ascontiguousarray(dY)
    output = gradient if inplace and gradient is dY else xp.empty(dY.shape, dtype=dY.dtype)
    args = (output, gradient, xp.ascontiguousarray(X), xp.ascontiguousarray(Y), _int32(dY.size))
    _launch(f"backprop_swish_{suffix}", dY.size, args)
    if inplace and output is not dY:
        dY[...] = output
        return dY
    return output


def adam(
    weights: Any,
    gradient: Any,
    mom1: Any,
    mom2: Any,
    beta1: float,
    beta2: float,
    eps: float,
    learn_rate: float,
    mod_rate: float = 1.0,
) -> None:
    """One Adam step, updating weights, mom1 and mom2 in place (all contiguous,
    of one shape and dtype)."""
    suffix = _suffix(weights, "adam weights")
    for what, array in (("gradient", gradient), ("mom1", mom1), ("mom2", mom2)):
        _require_like(array, weights, f"adam: {what}")
    for what, array in (("weights", weights), ("mom1", mom1), ("mom2", mom2)):
        if not array.flags.c_contiguous:
            raise ValueError(f"adam updates {what} in place, which must be contiguous")
    xp = _xp(weights)
    scalar = weights.dtype.type
    args = (
        (weights, xp.ascontiguousarray(gradient), mom1, mom2)
        + tuple(scalar(value) for value in (beta1, beta2, eps, learn_rate, mod_rate))
        + (_int32(weights.size),)
    )
    _launch(f"adam_{suffix}", weights.size, args)


# ------------------------------------------------------------------- sequences


def seq2col(seq: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
    """(B, I) rows to (B, (2*nW+1)*I) windows of neighbouring rows, zero-padded
    at the edges of each sequence."""
    _require_ndim(seq, 2, "seq2col input")
    suffix = _suffix(seq, "seq2col input")
    nW = _check_window(nW)
    xp = _xp(seq)
    B, I = seq.shape
    if lengths is None:
        lengths = [B]
    lengths = _int32_lengths(lengths, B, "seq2col", xp, exact=True)
    row_starts, row_ends = _row_bounds(lengths, xp)
    nF = 2 * nW + 1
    seq = xp.ascontiguousarray(seq)
    output = xp.empty((B, nF * I), dtype=seq.dtype)
    args = (output, seq, row_starts, row_ends, _int32(nW), _int32(B), _int32(I))
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
        lengths = [B]
    lengths = _int32_lengths(lengths, B, "backprop_seq2col", xp, exact=True)
    row_starts, row_ends = _row_bounds(lengths, xp)
    dY = xp.ascontiguousarray(dY)
    dX = xp.empty((B, I), dtype=dY.dtype)
    args = (dX, dY, row_starts, row_ends, _int32(nW), _int32(B), _int32(I))
    _launch(f"backprop_seq2col_{suffix}", B * I, args)
    return dX


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
    args = (output, X, starts, lengths, _int32(B), _int32(O), _int32(int(divide)))
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
    lengths = _int32_lengths(lengths, T, "reduce_max", xp, exact=False, positive=True)
    B = lengths.shape[0]
    X = xp.ascontiguousarray(X)
    maxes = xp.empty((B, O), dtype=X.dtype)
    which = xp.empty((B, O), dtype="int32")
    starts = _starts(lengths, xp)
    args = (maxes, which, X, starts, lengths, _int32(B), _int32(O))
    _launch(f"reduce_max_{suffix}", B * O, args)
    return maxes, which


def _backprop_lengths(d_reduced: Any, lengths: Any, what: str, *, positive: bool = False):
    """The checked lengths of a reduction's gradient (one per row of d_reduced),
    as device int32 lengths and running ends, and the rows they add up to."""
    values = _host_lengths(lengths, what, positive=positive)
    if d_reduced.ndim != 2 or d_reduced.shape[0] != len(values):
        raise ValueError(
            f"{what} needs a 2d gradient with one row per sequence: got shape "
            f"{d_reduced.shape} for {len(values)} lengths"
        )
    total = sum(values)
    if total * max(d_reduced.shape[1], 1) > _MAX_ITEMS:
        raise LengthsMismatchError(
            f"{what}: lengths sum to {total}, too many rows for the kernels' 32-bit indexing"
        )
    xp = _xp(d_reduced)
    host = numpy.asarray(values, dtype="int64").reshape((len(values),))
    lengths32 = xp.asarray(host.astype("int32"))
    ends = xp.asarray(numpy.cumsum(host).astype("int32"))
    return lengths32, ends, total


def _backprop_reduce_sum(d_reduced: Any, lengths: Any, *, divide: bool, what: str) -> Any:
    suffix = _suffix(d_reduced, f"{what} gradient")
    lengths32, ends, total = _backprop_lengths(d_reduced, lengths, what)
    xp = _xp(d_reduced)
    B, O = d_reduced.shape
    d_reduced = xp.ascontiguousarray(d_reduced)
    dX = xp.empty((total, O), dtype=d_reduced.dtype)
    args = (dX, d_reduced, ends, lengths32, _int32(B), _int32(total), _int32(O), _int32(divide))
    _launch(f"backprop_reduce_sum_{suffix}", total * O, args)
    return dX


def backprop_reduce_sum(d_sums: Any, lengths: Any) -> Any:
    """Each sequence's gradient row, repeated over its rows: (sum(lengths), O)."""
    return _backprop_reduce_sum(d_sums, lengths, divide=False, what="backprop_reduce_sum")


def backprop_reduce_mean(d_means: Any, lengths: Any) -> Any:
    """Each sequence's gradient row divided by its length, over its rows."""
    return _backprop_reduce_sum(d_means, lengths, divide=True, what="backprop_reduce_mean")


def backprop_reduce_max(d_maxes: Any, which: Any, lengths: Any) -> Any:
    """Each gradient at the row that held its sequence's maximum, zeros elsewhere."""
    what = "backprop_reduce_max"
    suffix = _suffix(d_maxes, f"{what} gradient")
    lengths32, ends, total = _backprop_lengths(d_maxes, lengths, what, positive=True)
    if which.shape != d_maxes.shape:
        raise ValueError(
            f"{what} needs which and d_maxes of one shape, got {which.shape} and {d_maxes.shape}"
        )
    xp = _xp(d_maxes)
    if which.dtype.kind not in "iu":
        raise ValueError(f"{what} needs integer indices, got dtype {which.dtype}")
    if which.size and bool(((which < 0) | (which >= lengths32[:, None])).any()):
        raise IndexError(f"{what}: a 'which' index is outside its sequence")
    B, O = d_maxes.shape
    which = xp.ascontiguousarray(which, dtype="int32")
    d_maxes = xp.ascontiguousarray(d_maxes)
    dX = xp.empty((total, O), dtype=d_maxes.dtype)
    args = (dX, d_maxes, which, ends, lengths32, _int32(B), _int32(total), _int32(O))
    _launch(f"backprop_reduce_max_{suffix}", total * O, args)
    return dX


def pad(seqs: Sequence[Any], round_to: int = 1) -> Any:
    """Sequences (each (length, ...), one dtype and row shape) stacked into
    (B, max_length rounded up to round_to, ...), zeros after each sequence."""
    if round_to < 1:
        raise ValueError(f"pad round_to must be >= 1, got {round_to}")
    if not seqs:
        raise ValueError("Cannot pad empty sequence")
    first = seqs[0]
    suffix = PAD_SUFFIXES.get(first.dtype)
    if suffix is None:
        raise TypeError(f"pad copies float32, float64, int32 or int64, got {first.dtype}")
    for seq in seqs:
        if seq.dtype != first.dtype:
            raise ValueError(
                f"Cannot pad sequences with different dtypes ({first.dtype} and {seq.dtype})"
            )
        if seq.ndim == 0 or seq.shape[1:] != first.shape[1:]:
            raise ValueError(
                f"Cannot pad sequences that differ on other dimensions "
                f"({first.shape} and {seq.shape})"
            )
    xp = _xp(first)
    # The kernel reads each sequence where it lies, through a table of pointers;
    # cupy's memory pool orders frees after the launch on its stream, so the
    # contiguous copies need to outlive only this call.
    sources = [xp.ascontiguousarray(seq) for seq in seqs]
    row_shape = tuple(first.shape[1:])
    width = int(numpy.prod(row_shape, dtype="int64"))
    max_length = max(int(seq.shape[0]) for seq in seqs)
    max_length = -(-max_length // round_to) * round_to
    output = xp.empty((len(seqs), max_length) + row_shape, dtype=first.dtype)
    pointers = xp.asarray(numpy.asarray([_data_pointer(seq) for seq in sources], dtype="uint64"))
    lengths = xp.asarray(numpy.asarray([seq.shape[0] for seq in sources], dtype="int32"))
    if any(seq.size > _MAX_ITEMS for seq in sources):
        raise ValueError("pad: a sequence exceeds the kernels' 32-bit index range")
    args = (output, pointers, lengths, _int32(len(seqs)), _int32(max_length), _int32(width))
    _launch(f"pad_{suffix}", output.size, args)
    return output


def _data_pointer(array: Any) -> int:
    if isinstance(array, numpy.ndarray):
        return int(array.ctypes.data)
    return int(array.data.ptr)


# ---------------------------------------------------------------------- maxout


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
    args = (best, which, X, _int32(B), _int32(O), _int32(P))
    _launch(f"maxout_{suffix}", B * O, args)
    return best, which


def maxout_with_bias(pieces: Any, bias: Any) -> Tuple[Any, Any]:
    """maxout(pieces + bias) in one pass: pieces (B, O, P), bias (O, P)."""
    _require_ndim(pieces, 3, "maxout input")
    suffix = _suffix(pieces, "maxout input")
    B, O, P = pieces.shape
    if bias.shape != (O, P) or bias.dtype != pieces.dtype:
        raise ValueError(
            f"maxout expects b of shape {(O, P)} and dtype {pieces.dtype}, "
            f"got {bias.shape} and {bias.dtype}"
        )
    if P == 0:
        raise ValueError("maxout needs at least one piece (P > 0)")
    xp = _xp(pieces)
    pieces = xp.ascontiguousarray(pieces)
    best = xp.empty((B, O), dtype=pieces.dtype)
    which = xp.empty((B, O), dtype="int32")
    args = (best, which, pieces, xp.ascontiguousarray(bias), _int32(B), _int32(O), _int32(P))
    _launch(f"maxout_bias_{suffix}", B * O, args)
    return best, which


def backprop_maxout(dY: Any, which: Any, P: int) -> Any:
    """(B, O) gradients routed to the winning piece of each unit: (B, O, P)."""
    P = _whole_number(P, "backprop_maxout: P")
    _require_ndim(dY, 2, "backprop_maxout gradient")
    suffix = _suffix(dY, "backprop_maxout gradient")
    if dY.shape != which.shape:
        raise ValueError(
            f"backprop_maxout needs dY and which of one shape, got {dY.shape} and {which.shape}"
        )
    if which.dtype.kind not in "iu":
        raise ValueError(f"backprop_maxout needs integer indices, got dtype {which.dtype}")
    if which.size and (int(which.max()) >= P or int(which.min()) < 0):
        raise IndexError(
            f"backprop_maxout: piece index out of range [0, {P}): "
            f"min {int(which.min())}, max {int(which.max())}"
        )
    xp = _xp(dY)
    B, O = dY.shape
    dX = xp.empty((B, O, P), dtype=dY.dtype)
    args = (
        dX,
        xp.ascontiguousarray(dY),
        xp.ascontiguousarray(which, dtype="int32"),
        _int32(B),
        _int32(O),
        _int32(P),
    )
    _launch(f"backprop_maxout_{suffix}", B * O * P, args)
    return dX


# ----------------------------------------------------------------- layer norm


def layer_norm_forward(X: Any, G: Any, b: Any, epsilon: float) -> Tuple[Any, Any, Any]:
    """(Y, mean, inverse_std) for X (N, W) normalized per row, times G plus b.
    Shapes are checked by the caller (_check_layer_norm_inputs)."""
    suffix = _suffix(X, "layer norm input")
    _require_dtype((G, b), X.dtype, ("G", "b"))
    xp = _xp(X)
    N, W = X.shape
    X = xp.ascontiguousarray(X)
    mean = xp.empty((N,), dtype=X.dtype)
    inverse_std = xp.empty((N,), dtype=X.dtype)
    scalar = X.dtype.type
    _launch(
        f"layer_norm_stats_{suffix}",
        N,
        (mean, inverse_std, X, scalar(epsilon), _int32(N), _int32(W)),
    )
    Y = xp.empty((N, W), dtype=X.dtype)
    args = (
        Y,
        X,
        mean,
        inverse_std,
        xp.ascontiguousarray(G),
        xp.ascontiguousarray(b),
        _int32(N),
        _int32(W),
    )
    _launch(f"layer_norm_apply_{suffix}", N * W, args)
    return Y, mean, inverse_std


def _require_dtype(arrays: Sequence[Any], dtype: Any, names: Sequence[str]) -> None:
    for name, array in zip(names, arrays):
        if array.dtype != dtype:
            raise ValueError(f"layer norm {name} must be {dtype}, got {array.dtype}")


def layer_norm_backward(
    dY: Any, X: Any, G: Any, mean: Any, inverse_std: Any
) -> Tuple[Any, Any, Any]:
    """(dX, dG, db) for layer_norm_forward, given its per-row statistics.
    Shapes are checked by the caller (_check_layer_norm_gradient)."""
    suffix = _suffix(X, "layer norm input")
    _require_like(dY, X, "layer norm gradient")
    _require_dtype((G, mean, inverse_std), X.dtype, ("G", "mean", "inverse_std"))
    xp = _xp(X)
    N, W = X.shape
    dY, X, G = (xp.ascontiguousarray(array) for array in (dY, X, G))
    mean, inverse_std = xp.ascontiguousarray(mean), xp.ascontiguousarray(inverse_std)
    d_mean = xp.empty((N,), dtype=X.dtype)
    projection = xp.empty((N,), dtype=X.dtype)
    dX = xp.empty((N, W), dtype=X.dtype)
    if W:
        _launch(
            f"layer_norm_row_means_{suffix}",
            N,
            (d_mean, projection, dY, X, G, mean, inverse_std, _int32(N), _int32(W)),
        )
        _launch(
            f"layer_norm_backward_apply_{suffix}",
            N * W,
            (dX, dY, X, G, mean, inverse_std, d_mean, projection, _int32(N), _int32(W)),
        )
    n_chunks = -(-N // LAYER_NORM_CHUNK)
    partial_dG = xp.zeros((n_chunks, W), dtype=X.dtype)
    partial_db = xp.zeros((n_chunks, W), dtype=X.dtype)
    args = (
        partial_dG,
        partial_db,
        dY,
        X,
        mean,
        inverse_std,
        _int32(N),
        _int32(W),
        _int32(LAYER_NORM_CHUNK),
    )
    _launch(f"layer_norm_column_sums_{suffix}", n_chunks * W, args)
    return dX, partial_dG.sum(axis=0), partial_db.sum(axis=0)


# ---------------------------------------------------------------------- tables


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
    args = (output, table, indices, _int32(B), _int32(K), _int32(O))
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
    _launch("hash_data", N, (output, ids, numpy.uint32(int(seed)), _int32(N)))
    return output
