"""``reduce_first``: pool each sequence of a Ragged to its first row.
The gradient goes to each sequence's first row; the other rows get zeros."""

from typing import Callable, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged


@registry.layers("reduce_first.v1")
def reduce_first() -> Model[Ragged, Floats2d]:
    """Select the first row of every sequence; empty sequences are an error."""
    return Model("reduce_first", forward)


def _check_input(Xr: Ragged) -> None:
    if not isinstance(Xr, Ragged):
        raise TypeError(f"reduce_first expects a Ragged input, got {type(Xr).__name__}")


def _check_gradient(Y: Floats2d, dY: Floats2d) -> None:
    if getattr(dY, "shape", None) != Y.shape or dY.dtype != Y.dtype:
        raise ValueError(
            f"reduce_first: gradient must match the output (shape {tuple(Y.shape)}, "
            f"dtype {Y.dtype}), got {getattr(dY, 'shape', type(dY).__name__)} "
            f"{getattr(dY, 'dtype', '')}"
        )


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    _check_input(Xr)
    Y, starts_ends = model.ops.reduce_first(cast(Floats2d, Xr.data), Xr.lengths)
    shape = Xr.dataXd.shape

    def backprop(dY: Floats2d) -> Ragged:
        _check_gradient(Y, dY)
        dX = model.ops.alloc(shape, dtype=dY.dtype)
        dX[starts_ends[:-1]] = dY
        return Ragged(dX, Xr.lengths)

    return Y, backprop
