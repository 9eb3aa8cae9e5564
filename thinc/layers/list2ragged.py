"""``list2ragged``: turn a list of arrays into one Ragged (data plus lengths).

The backward pass splits the Ragged gradient back into a list."""

from typing import Callable, List, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Ragged

InT = TypeVar("InT")


@registry.layers("list2ragged.v1")
def list2ragged() -> Model[InT, Ragged]:
    """Concatenate a list of arrays into a Ragged that remembers their lengths."""
    return Model("list2ragged", forward)


def forward(model: Model[InT, Ragged], Xs: InT, is_train: bool) -> Tuple[Ragged, Callable]:
    if not isinstance(Xs, (list, tuple)):
        raise TypeError(f"list2ragged expects a list of arrays, got {type(Xs).__name__}")
    lengths = model.ops.asarray1i([len(x) for x in Xs])

    def backprop(dYr: Ragged) -> List:
        if not isinstance(dYr, Ragged):
            raise TypeError(f"list2ragged expects a Ragged gradient, got {type(dYr).__name__}")
        return model.ops.unflatten(dYr.dataXd, dYr.lengths)

    return Ragged(model.ops.flatten(list(Xs)), lengths), backprop
