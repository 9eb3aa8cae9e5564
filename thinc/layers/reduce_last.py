"""``reduce_last``: pool each sequence of a Ragged to its last row.
The gradient goes to each sequence's last row; the other rows get zeros."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged
from ._reduce import select_rows_forward


@registry.layers("reduce_last.v1")
def reduce_last() -> Model[Ragged, Floats2d]:
    """Select the last row of every sequence; empty sequences are an error."""
    return Model("reduce_last", forward)


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    return select_rows_forward(model, Xr, model.ops.reduce_last)
