"""``padded2list``: unpack a time-major Padded batch into a list of arrays in
the original order; the backward pass packs the gradients the same way."""

from typing import Callable, List, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Padded

OutT = TypeVar("OutT")


@registry.layers("padded2list.v1")
def padded2list() -> Model[Padded, OutT]:
    """Unpack a Padded into a list of 2d arrays (see Ops.padded2list)."""
    return Model("padded2list", forward)


def forward(model: Model[Padded, OutT], Xp: Padded, is_train: bool) -> Tuple[OutT, Callable]:
    if not isinstance(Xp, Padded):
        raise TypeError(f"padded2list expects a Padded input, got {type(Xp).__name__}")
    Ys = model.ops.padded2list(Xp)

    def backprop(dYs: List) -> Padded:
        if not isinstance(dYs, (list, tuple)):
            raise TypeError(f"padded2list expects a list gradient, got {type(dYs).__name__}")
        dYp = model.ops.list2padded(list(dYs))
        # Keep the input's batch layout so the gradient lines up with it.
        return Padded(dYp.data, Xp.size_at_t, Xp.lengths, Xp.indices)

    return Ys, backprop  # type: ignore[return-value]
