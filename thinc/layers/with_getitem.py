"""``with_getitem``: apply a layer to one element of a tuple input and pass the
other elements through unchanged (their gradients too)."""

from typing import Any, Callable, Optional, Tuple

from ..config import registry
from ..model import Model


@registry.layers("with_getitem.v1")
def with_getitem(idx: int, layer: Model) -> Model[Tuple[Any, ...], Tuple[Any, ...]]:
    """Replace element ``idx`` of the input tuple by ``layer``'s output on it."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_getitem expects a Model, got {type(layer).__name__}")
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise TypeError(f"with_getitem expects an integer index, got {type(idx).__name__}")
    return Model(
        f"with_getitem({layer.name})", forward, init=init, layers=[layer], attrs={"idx": idx}
    )


def _position(model: Model, items: Any) -> int:
    if not isinstance(items, tuple):
        raise TypeError(f"with_getitem expects a tuple input, got {type(items).__name__}")
    idx = model.attrs["idx"]
    if not -len(items) <= idx < len(items):
        raise IndexError(
            f"with_getitem: index {idx} out of range for a tuple of {len(items)} items"
        )
    # A negative index is resolved so the slices around it stay correct.
    return idx % len(items)


def forward(
    model: Model, items: Tuple[Any, ...], is_train: bool
) -> Tuple[Tuple[Any, ...], Callable]:
    idx = _position(model, items)
    Y_item, backprop_item = model.layers[0](items[idx], is_train=is_train)

    def backprop(dY: Tuple[Any, ...]) -> Tuple[Any, ...]:
        position = _position(model, dY)
        return dY[:position] + (backprop_item(dY[position]),) + dY[position + 1 :]

    return items[:idx] + (Y_item,) + items[idx + 1 :], backprop


def init(
    model: Model, X: Optional[Tuple[Any, ...]] = None, Y: Optional[Tuple[Any, ...]] = None
) -> None:
    idx = model.attrs["idx"]
    model.layers[0].initialize(
        X=X[idx] if X is not None else None, Y=Y[idx] if Y is not None else None
    )
