"""The checks every Ops backend runs on its inputs before it computes: lengths,
windows, indices and shapes, with the errors they raise. Kernels trust what passes."""

from typing import Any, List

from ..types import FloatsXd


class LengthsMismatchError(IndexError, ValueError):
    """Sequence lengths that do not fit the rows of the data. thinc 8.3 raised
    IndexError here; ValueError is the natural type, so both catch it."""


class LengthsTypeError(TypeError, ValueError):
    """Sequence lengths that are not integers. thinc 8.3 raised TypeError where it
    sliced with them; ValueError is what the other length checks raise."""


# The most rows a reduction's gradient may have (a sum of lengths beyond it
# is taken for a wrapped or corrupt one).
MAX_GRADIENT_ROWS = 2**62

# thinc 8.3's kernels take nW as a C int; wider windows are refused rather
# than looped over (a zero-width input would spin through all 2 * nW + 1 blocks).
MAX_WINDOW = 2**31 - 1


def _whole_number(value: Any, what: str) -> int:
    """value as an int; a float with a fraction (nW=1.5) is refused, not truncated."""
    try:
        whole = int(value)
        same = bool(whole == value)
    except (TypeError, ValueError, OverflowError):
        same = False
    if not same:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return whole


def _check_window(nW: int) -> int:
    nW = _whole_number(nW, "nW")
    if nW < 0 or nW > MAX_WINDOW:
        raise ValueError(f"nW must be a non-negative int at most {MAX_WINDOW}, got {nW!r}")
    return nW


def _lengths_to_list(lengths: Any, what: str, *, positive: bool = False) -> List[int]:
    """Lengths (array or sequence) as host ints, checking their signs."""
    if hasattr(lengths, "ndim"):
        if lengths.ndim != 1:
            raise ValueError(f"{what} must be 1d, got shape {lengths.shape}")
        if lengths.dtype.kind not in "iu":
            raise LengthsTypeError(f"{what} must be integers, got dtype {lengths.dtype}")
    values = [int(value) for value in (lengths.tolist() if hasattr(lengths, "tolist") else lengths)]
    if values:
        smallest = min(values)
        if positive and smallest <= 0:
            raise ValueError(f"all sequence {what} must be > 0, got {smallest}")
        if smallest < 0:
            raise ValueError(f"all sequence {what} must be >= 0, got {smallest}")
    return values


def _check_lengths_total(lengths: List[int], n_rows: int, *, exact: bool) -> None:
    total = sum(lengths)
    if total > n_rows or (exact and total != n_rows):
        raise LengthsMismatchError(f"lengths sum to {total} but the array has {n_rows} rows")


def _check_index_range(indices: Any, size: int, op: str, allow_negative: bool = False) -> None:
    if indices.dtype.kind not in "iu":
        raise ValueError(f"{op} needs integer indices, got dtype {indices.dtype}")
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        lowest = -size if allow_negative else 0
        if low < lowest or high >= size:
            raise IndexError(
                f"{op}: indices must lie in [{lowest}, {size}), got range [{low}, {high}]"
            )


def _check_compatible_shape(u: FloatsXd, v: FloatsXd) -> None:
    if u.shape != v.shape:
        raise ValueError(f"Incompatible shapes: {u.shape} and {v.shape}")


def _check_same_shape(u: Any, v: Any, op: str) -> None:
    if u.shape != v.shape:
        raise ValueError(f"{op} needs arrays of one shape, got {u.shape} and {v.shape}")


def _check_clip_threshold(threshold: float) -> None:
    # A norm is never negative: such a threshold (or NaN) has no meaning, and
    # with a zero gradient it divided by zero.
    if not float(threshold) >= 0:
        raise ValueError(f"clip_gradient: threshold must be >= 0, got {threshold!r}")


def _shape_of(array: Any) -> Any:
    shape = getattr(array, "shape", None)
    return tuple(shape) if shape is not None else type(array).__name__


def _check_layer_norm_inputs(X: Any, G: Any, b: Any) -> None:
    if getattr(X, "ndim", None) != 2:
        raise ValueError(f"layer norm expects a 2d input, got shape {_shape_of(X)}")
    width = X.shape[1]
    for name, param in (("G", G), ("b", b)):
        if getattr(param, "shape", None) != (width,):
            raise ValueError(
                f"layer norm expects {name} of shape ({width},) for an input of shape "
                f"{tuple(X.shape)}, got {_shape_of(param)}"
            )


def _check_layer_norm_gradient(dY: Any, X: Any, G: Any, mean: Any, inverse_std: Any) -> None:
    _check_layer_norm_inputs(X, G, G)
    if _shape_of(dY) != tuple(X.shape):
        raise ValueError(
            f"layer norm backward: gradient shape {_shape_of(dY)} differs from the input "
            f"shape {tuple(X.shape)}"
        )
    for name, stat in (("mean", mean), ("inverse_std", inverse_std)):
        if _shape_of(stat) != (X.shape[0],):
            raise ValueError(
                f"layer norm backward expects {name} of shape ({X.shape[0]},), "
                f"got {_shape_of(stat)}"
            )


def _check_maxout_inputs(X: Any, W: Any, b: Any) -> None:
    if getattr(W, "ndim", None) != 3:
        raise ValueError(f"maxout expects W of shape (nO, nP, nI), got {_shape_of(W)}")
    nO, nP, nI = W.shape
    if nP == 0:
        raise ValueError(f"maxout needs at least one piece, got W of shape {tuple(W.shape)}")
    if _shape_of(b) != (nO, nP):
        raise ValueError(f"maxout expects b of shape {(nO, nP)}, got {_shape_of(b)}")
    if getattr(X, "ndim", None) != 2 or X.shape[1] != nI:
        raise ValueError(f"maxout expects a 2d input of width {nI}, got shape {_shape_of(X)}")
