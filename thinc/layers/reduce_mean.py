"""``reduce_mean``: mean-pool each sequence of a Ragged.
Empty sequences give zero rows; the gradient is spread evenly over each sequence."""

from typing import Callable, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged


@registry.layers("reduce_mean.v1")
def reduce_mean() -> Model[Ragged, Floats2d]:
    """Average the rows of every sequence."""
    return Model("reduce_mean", forward)


def _check_input(Xr: Ragged) -> None:
    if not isinstance(Xr, Ragged):
        raise TypeError(f"reduce_mean expects a Ragged input, got {type(Xr).__name__}")


def _check_gradient(Y: Floats2d, dY: Floats2d) -> None:
    if getattr(dY, "shape", None) != Y.shape or dY.dtype != Y.dtype:
        raise ValueError(
            f"reduce_mean: gradient must match the output (shape {tuple(Y.shape)}, "
            f"dtype {Y.dtype}), got {getattr(dY, 'shape', type(dY).__name__)} "
            f"{getattr(dY, 'dtype', '')}"
        )


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    _check_input(Xr)
    Y = model.ops.reduce_mean(cast(Floats2d, Xr.data), Xr.lengths)

    def backprop(dY: Floats2d) -> Ragged:
        _check_gradient(Y, dY)
        return Ragged(model.ops.backprop_reduce_mean(dY, Xr.lengths), Xr.lengths)

    return Y, backprop
