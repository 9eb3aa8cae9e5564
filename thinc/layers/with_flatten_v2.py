"""``with_flatten`` (v2): run a list-to-list layer over the items of several
sequences at once, then regroup its outputs into the original sequences."""

from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from ..config import registry
from ..model import Model

InItemT = TypeVar("InItemT")
OutItemT = TypeVar("OutItemT")


@registry.layers("with_flatten.v2")
def with_flatten_v2(
    layer: Model[List[InItemT], List[OutItemT]],
) -> Model[List[List[InItemT]], List[List[OutItemT]]]:
    """Wrap ``layer``, which maps a flat list to a list of the same length, so that
    it maps a list of lists to a list of lists."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_flatten_v2 expects a Model, got {type(layer).__name__}")
    return Model(f"with_flatten({layer.name})", forward, layers=[layer], init=init)


def _flatten(nested: Any) -> List[Any]:
    if isinstance(nested, str) or not hasattr(nested, "__len__"):
        raise TypeError(f"with_flatten expects a list of lists, got {type(nested).__name__}")
    flat: List[Any] = []
    for position, items in enumerate(nested):
        if isinstance(items, str) or not hasattr(items, "__len__"):
            raise TypeError(
                f"with_flatten expects a list of lists, got {type(items).__name__} at position {position}"
            )
        flat.extend(items)
    return flat


def _unflatten(flat: Sequence[Any], lengths: List[int]) -> List[List[Any]]:
    nested = []
    start = 0
    for length in lengths:
        nested.append(list(flat[start : start + length]))
        start += length
    return nested


def forward(
    model: Model, Xnest: List[List[Any]], is_train: bool
) -> Tuple[List[List[Any]], Callable]:
    layer = model.layers[0]
    Xflat = _flatten(Xnest)
    lengths = [len(items) for items in Xnest]
    Yflat, backprop_layer = layer(Xflat, is_train=is_train)
    if len(Yflat) != len(Xflat):
        raise ValueError(
            f"with_flatten: layer '{layer.name}' returned {len(Yflat)} items for {len(Xflat)} inputs"
        )

    def backprop(dYnest: List[List[Any]]) -> List[List[Any]]:
        dXflat = backprop_layer(_flatten(dYnest))
        return _unflatten(dXflat, lengths)

    return _unflatten(Yflat, lengths), backprop


def init(model: Model, X: Optional[Any] = None, Y: Optional[Any] = None) -> None:
    model.layers[0].initialize(
        X=_flatten(X) if X is not None else None, Y=_flatten(Y) if Y is not None else None
    )
