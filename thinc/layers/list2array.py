"""``list2array``: stack a list of arrays into one array along the first axis.

The backward pass splits the gradient back into the original pieces."""

from typing import Callable, List, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import Array2d

OutT = TypeVar("OutT", bound=Array2d)


@registry.layers("list2array.v1")
def list2array() -> Model[List[OutT], OutT]:
    """Concatenate a list of arrays (rows of every item, in order)."""
    return Model("list2array", forward)


def forward(
    model: Model[List[OutT], OutT], Xs: List[OutT], is_train: bool
) -> Tuple[OutT, Callable]:
    if not isinstance(Xs, (list, tuple)):
        raise TypeError(f"list2array expects a list of arrays, got {type(Xs).__name__}")
    lengths = model.ops.asarray1i([len(x) for x in Xs])

    def backprop(dY: OutT) -> List[OutT]:
        return cast(List[OutT], model.ops.unflatten(dY, lengths))

    return cast(OutT, model.ops.flatten(list(Xs))), backprop
