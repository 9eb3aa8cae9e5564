"""``ragged2list``: split a Ragged into a list of arrays, one per sequence.

The backward pass joins the list of gradients back into one Ragged."""

from typing import Callable, List, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Ragged

OutT = TypeVar("OutT")


@registry.layers("ragged2list.v1")
def ragged2list() -> Model[Ragged, OutT]:
    """Split a Ragged's data at its lengths."""
    return Model("ragged2list", forward)


def forward(model: Model[Ragged, OutT], Xr: Ragged, is_train: bool) -> Tuple[OutT, Callable]:
    if not isinstance(Xr, Ragged):
        raise TypeError(f"ragged2list expects a Ragged input, got {type(Xr).__name__}")
    lengths = Xr.lengths

    def backprop(dYs: List) -> Ragged:
        if not isinstance(dYs, (list, tuple)):
            raise TypeError(f"ragged2list expects a list gradient, got {type(dYs).__name__}")
        return Ragged(model.ops.flatten(list(dYs)), lengths)

    return model.ops.unflatten(Xr.dataXd, lengths), backprop  # type: ignore[return-value]
