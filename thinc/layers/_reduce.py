"""What the reduce_* pooling layers have in common: their input and gradient checks,
and the forward passes of the row-selecting and the linear poolings."""

from typing import Callable, Tuple, cast

from ..model import Model
from ..types import Floats2d, Ints1d, Ragged


def check_ragged_input(model: Model, Xr: Ragged) -> None:
    """Raise a TypeError naming ``model`` unless Xr is a Ragged."""
    if not isinstance(Xr, Ragged):
        raise TypeError(f"{model.name} expects a Ragged input, got {type(Xr).__name__}")


def check_output_gradient(model: Model, Y: Floats2d, dY: Floats2d) -> None:
    """Raise a ValueError naming ``model`` unless dY has the output's shape and dtype."""
    if getattr(dY, "shape", None) != Y.shape or dY.dtype != Y.dtype:
        raise ValueError(
            f"{model.name}: gradient must match the output (shape {tuple(Y.shape)}, "
            f"dtype {Y.dtype}), got {getattr(dY, 'shape', type(dY).__name__)} "
            f"{getattr(dY, 'dtype', '')}"
        )


def select_rows_forward(
    model: Model[Ragged, Floats2d],
    Xr: Ragged,
    select: Callable[[Floats2d, Ints1d], Tuple[Floats2d, Ints1d]],
) -> Tuple[Floats2d, Callable]:
    """Pool with ``select(X, lengths) -> (Y, rows)``, which picks one row of X per
    sequence; the gradient goes back to the picked rows and the others get zeros."""
    check_ragged_input(model, Xr)
    Y, rows = select(cast(Floats2d, Xr.data), Xr.lengths)
    shape = Xr.dataXd.shape

    def backprop(dY: Floats2d) -> Ragged:
        check_output_gradient(model, Y, dY)
        dX = model.ops.alloc(shape, dtype=dY.dtype)
        dX[rows] = dY
        return Ragged(dX, Xr.lengths)

    return Y, backprop


def linear_pool_forward(
    model: Model[Ragged, Floats2d],
    Xr: Ragged,
    pool: Callable[[Floats2d, Ints1d], Floats2d],
    backprop_pool: Callable[[Floats2d, Ints1d], Floats2d],
) -> Tuple[Floats2d, Callable]:
    """Pool with an op whose backprop needs only dY and the lengths (sum, mean)."""
    check_ragged_input(model, Xr)
    Y = pool(cast(Floats2d, Xr.data), Xr.lengths)

    def backprop(dY: Floats2d) -> Ragged:
        check_output_gradient(model, Y, dY)
        return Ragged(backprop_pool(dY, Xr.lengths), Xr.lengths)

    return Y, backprop
