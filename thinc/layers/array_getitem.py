"""``array_getitem`` (and its typed aliases ``ints_getitem``/``floats_getitem``):
index into an array inside a model; the gradient is scattered back into zeros."""

from typing import Any, Callable, Sequence, Tuple, TypeVar, Union

from ..model import Model
from ..types import ArrayXd, FloatsXd, IntsXd

AxisIndex = Union[int, slice, Sequence[int]]
Index = Union[AxisIndex, Tuple[AxisIndex, ...]]
ArrayTXd = TypeVar("ArrayTXd", bound=ArrayXd)


def array_getitem(index: Index) -> Model[ArrayTXd, ArrayTXd]:
    """Compute ``X[index]``, any numpy-style index (ints, slices, lists, tuples)."""
    return Model("array-getitem", forward, attrs={"index": index})


def floats_getitem(index: Index) -> Model[FloatsXd, FloatsXd]:
    """``array_getitem`` typed for float arrays."""
    return Model("floats-getitem", forward, attrs={"index": index})


def ints_getitem(index: Index) -> Model[IntsXd, IntsXd]:
    """``array_getitem`` typed for int arrays."""
    return Model("ints-getitem", forward, attrs={"index": index})


def forward(
    model: Model[ArrayTXd, ArrayTXd], X: ArrayTXd, is_train: bool
) -> Tuple[ArrayTXd, Callable]:
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        raise TypeError(f"{model.name} expects an array, got {type(X).__name__}")
    index = model.attrs["index"]
    shape = X.shape
    dtype = X.dtype

    def backprop(dY: Any) -> ArrayTXd:
        dX = model.ops.alloc(shape, dtype=dtype)
        if len(dX) or len(dY):
            dX[index] = dY
        return dX

    if len(X) == 0:
        # An empty batch stays empty rather than failing on an out-of-range index.
        return X, backprop
    try:
        Y = X[index]
    except IndexError as error:
        raise IndexError(
            f"{model.name}: index {index!r} invalid for array of shape {tuple(shape)}: {error}"
        ) from None
    return Y, backprop
