"""``reduce_sum``: sum-pool each sequence of a Ragged.
Empty sequences give zero rows; every row of a sequence gets the sequence's gradient."""

from typing import Callable, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged


@registry.layers("reduce_sum.v1")
def reduce_sum() -> Model[Ragged, Floats2d]:
    """Sum the rows of every sequence."""
    return Model("reduce_sum", forward)


def _check_input(Xr: Ragged) -> None:
    if not isinstance(Xr, Ragged):
        raise TypeError(f"reduce_sum expects a Ragged input, got {type(Xr).__name__}")


def _check_gradient(Y: Floats2d, dY: Floats2d) -> None:
    if getattr(dY, "shape", None) != Y.shape or dY.dtype != Y.dtype:
        raise ValueError(
            f"reduce_sum: gradient must match the output (shape {tuple(Y.shape)}, "
            f"dtype {Y.dtype}), got {getattr(dY, 'shape', type(dY).__name__)} "
            f"{getattr(dY, 'dtype', '')}"
        )


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    _check_input(Xr)
    Y = model.ops.reduce_sum(cast(Floats2d, Xr.data), Xr.lengths)

    def backprop(dY: Floats2d) -> Ragged:
        _check_gradient(Y, dY)
        return Ragged(model.ops.backprop_reduce_sum(dY, Xr.lengths), Xr.lengths)

    return Y, backprop
