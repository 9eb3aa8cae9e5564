"""``with_flatten`` (v1): run a layer over the items of several sequences at once,
then split its single output array back into one array per sequence."""

from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import ArrayXd, ListXd

ItemT = TypeVar("ItemT")


@registry.layers("with_flatten.v1")
def with_flatten(
    layer: Model[Sequence[ItemT], ArrayXd],
) -> Model[Sequence[Sequence[ItemT]], ListXd]:
    """Wrap ``layer``, which maps a flat list of items to an array with one row
    per item, so that it maps a list of sequences to a list of arrays."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_flatten expects a Model, got {type(layer).__name__}")
    return Model(f"with_flatten({layer.name})", forward, layers=[layer], init=init)


def _flatten(nested: Any) -> List[Any]:
    if isinstance(nested, str) or not hasattr(nested, "__len__"):
        raise TypeError(
            f"with_flatten expects a sequence of sequences, got {type(nested).__name__}"
        )
    flat: List[Any] = []
    for position, items in enumerate(nested):
        if isinstance(items, str) or not hasattr(items, "__len__"):
            raise TypeError(
                f"with_flatten expects a sequence of sequences, got {type(items).__name__} "
                f"at position {position}"
            )
        flat.extend(items)
    return flat


def forward(model: Model, Xnest: Sequence[Sequence[Any]], is_train: bool) -> Tuple[List, Callable]:
    layer = model.layers[0]
    Xflat = _flatten(Xnest)
    if not Xnest:
        return [], lambda dYnest: []
    Yflat, backprop_layer = layer(Xflat, is_train=is_train)
    # n sequences need n-1 split points.
    splits = layer.ops.asarray1i([len(items) for items in Xnest[:-1]]).cumsum()
    if len(Yflat) != len(Xflat):
        raise ValueError(
            f"with_flatten: layer '{layer.name}' returned {len(Yflat)} rows for {len(Xflat)} items"
        )
    Ynest = layer.ops.xp.split(Yflat, splits)

    def backprop(dYnest: List) -> List:
        dXflat = backprop_layer(model.ops.flatten(list(dYnest)))
        return layer.ops.xp.split(dXflat, splits)

    return Ynest, backprop


def init(model: Model, X: Optional[Any] = None, Y: Optional[Any] = None) -> None:
    layer = model.layers[0]
    layer.initialize(
        X=_flatten(X) if X is not None else None,
        Y=model.ops.flatten(list(Y)) if Y is not None else None,
    )
