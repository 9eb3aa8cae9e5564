"""``reduce_max``: max-pool each sequence of a Ragged, feature by feature.
The gradient goes to the row that held each maximum."""

from typing import Callable, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged


@registry.layers("reduce_max.v1")
def reduce_max() -> Model[Ragged, Floats2d]:
    """Take each feature's maximum over every sequence; empty sequences are an error."""
    return Model("reduce_max", forward)


def _check_input(Xr: Ragged) -> None:
    if not isinstance(Xr, Ragged):
        raise TypeError(f"reduce_max expects a Ragged input, got {type(Xr).__name__}")


def _check_gradient(Y: Floats2d, dY: Floats2d) -> None:
    if getattr(dY, "shape", None) != Y.shape or dY.dtype != Y.dtype:
        raise ValueError(
            f"reduce_max: gradient must match the output (shape {tuple(Y.shape)}, "
            f"dtype {Y.dtype}), got {getattr(dY, 'shape', type(dY).__name__)} "
            f"{getattr(dY, 'dtype', '')}"
        )


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    _check_input(Xr)
    Y, which = model.ops.reduce_max(cast(Floats2d, Xr.data), Xr.lengths)

    def backprop(dY: Floats2d) -> Ragged:
        _check_gradient(Y, dY)
        return Ragged(model.ops.backprop_reduce_max(dY, which, Xr.lengths), Xr.lengths)

    return Y, backprop
