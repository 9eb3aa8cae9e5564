"""``reduce_first``: pool each sequence of a Ragged to its first row.
The gradient goes to each sequence's first row; the other rows get zeros."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ints1d, Ragged
from ._reduce import select_rows_forward


@registry.layers("reduce_first.v1")
def reduce_first() -> Model[Ragged, Floats2d]:
    """Select the first row of every sequence; empty sequences are an error."""
    return Model("reduce_first", forward)


def forward(
    model: Model[Ragged, Floats2d], Xr: Ragged, is_train: bool
) -> Tuple[Floats2d, Callable]:
    def first_rows(X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints1d]:
        Y, starts_ends = model.ops.reduce_first(X, lengths)
        return Y, starts_ends[:-1]

    return select_rows_forward(model, Xr, first_rows)
