"""``map_list``: apply one layer separately to every item of a list, for layers
that cannot take a batch of items at once."""

from typing import Callable, List, Optional, Tuple, TypeVar

from ..model import Model

InT = TypeVar("InT")
OutT = TypeVar("OutT")


def map_list(layer: Model[InT, OutT]) -> Model[List[InT], List[OutT]]:
    """Compute ``[layer(X) for X in Xs]``; gradients map back item by item."""
    if not isinstance(layer, Model):
        raise TypeError(f"map_list expects a Model, got {type(layer).__name__}")
    return Model("map_list", forward, init=init, layers=[layer])


def forward(
    model: Model[List[InT], List[OutT]], Xs: List[InT], is_train: bool
) -> Tuple[List[OutT], Callable]:
    # An array maps over its first axis, as iterating it does in thinc 8.3.
    if not isinstance(Xs, (list, tuple)) and getattr(Xs, "ndim", 0) < 1:
        raise TypeError(f"map_list expects a list, got {type(Xs).__name__}")
    layer = model.layers[0]
    Ys = []
    backprops = []
    for X in Xs:
        Y, backprop_item = layer(X, is_train=is_train)
        Ys.append(Y)
        backprops.append(backprop_item)

    def backprop(dYs: List[OutT]) -> List[InT]:
        if len(dYs) != len(backprops):
            raise ValueError(
                f"map_list: gradient has {len(dYs)} items, the output had {len(backprops)}"
            )
        return [backprop_item(dY) for backprop_item, dY in zip(backprops, dYs)]

    return Ys, backprop


def init(
    model: Model[List[InT], List[OutT]],
    X: Optional[List[InT]] = None,
    Y: Optional[List[OutT]] = None,
) -> None:
    # One item is a representative sample for a layer applied item by item.
    model.layers[0].initialize(X=X[0] if X else None, Y=Y[0] if Y else None)
