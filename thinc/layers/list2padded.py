"""``list2padded``: turn a list of sequences into one time-major Padded batch.

Padded sorts the sequences by length; the backward pass restores list order."""

from typing import Callable, List, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Padded

InT = TypeVar("InT")


@registry.layers("list2padded.v1")
def list2padded() -> Model[InT, Padded]:
    """Pack a list of 2d arrays into a Padded (see Ops.list2padded)."""
    return Model("list2padded", forward)


def forward(model: Model[InT, Padded], Xs: InT, is_train: bool) -> Tuple[Padded, Callable]:
    if not isinstance(Xs, (list, tuple)):
        raise TypeError(f"list2padded expects a list of arrays, got {type(Xs).__name__}")
    Yp = model.ops.list2padded(list(Xs))

    def backprop(dYp: Padded) -> List:
        if not isinstance(dYp, Padded):
            raise TypeError(f"list2padded expects a Padded gradient, got {type(dYp).__name__}")
        return model.ops.padded2list(dYp)

    return Yp, backprop
