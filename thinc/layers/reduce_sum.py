"""``reduce_sum``: sum-pool each sequence of a Ragged.
Empty sequences give zero rows; every row of a sequence gets the sequence's gradient."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged
from ._reduce import linear_pool_forward


@registry.layers("reduce_sum.v1")
def reduce_sum() -> Model[Ragged, Floats2d]:
    """Sum the rows of every sequence."""
    return Model("reduce_sum", forward)


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    return linear_pool_forward(model, Xr, model.ops.reduce_sum, model.ops.backprop_reduce_sum)
