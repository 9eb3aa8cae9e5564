"""``reduce_max``: max-pool each sequence of a Ragged, feature by feature.
The gradient goes to the row that held each maximum."""

from typing import Callable, Tuple, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged
from ._reduce import check_output_gradient, check_ragged_input


@registry.layers("reduce_max.v1")
def reduce_max() -> Model[Ragged, Floats2d]:
    """Take each feature's maximum over every sequence; empty sequences are an error."""
    return Model("reduce_max", forward)


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    check_ragged_input(model, Xr)
    Y, which = model.ops.reduce_max(cast(Floats2d, Xr.data), Xr.lengths)

    def backprop(dY: Floats2d) -> Ragged:
        check_output_gradient(model, Y, dY)
        return Ragged(model.ops.backprop_reduce_max(dY, which, Xr.lengths), Xr.lengths)

    return Y, backprop
