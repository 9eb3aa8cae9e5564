"""``reduce_mean``: mean-pool each sequence of a Ragged.
Empty sequences give zero rows; the gradient is spread evenly over each sequence."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged
from ._reduce import linear_pool_forward


@registry.layers("reduce_mean.v1")
def reduce_mean() -> Model[Ragged, Floats2d]:
    """Average the rows of every sequence."""
    return Model("reduce_mean", forward)


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    return linear_pool_forward(model, Xr, model.ops.reduce_mean, model.ops.backprop_reduce_mean)
