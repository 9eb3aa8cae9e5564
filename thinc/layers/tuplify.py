"""``tuplify``: feed one input to several layers and return their outputs as a
tuple; the input gradient is the sum of the children's."""

from typing import Any, Callable, Optional, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ._fan_out import run_each

InT = TypeVar("InT")


@registry.layers("tuplify.v1")
def tuplify(layer1: Model[InT, Any], layer2: Model[InT, Any], *layers: Model) -> Model[InT, Tuple]:
    """Compute ``(layer1(X), layer2(X), ...)``."""
    members = (layer1, layer2) + tuple(layers)
    for position, member in enumerate(members):
        if not isinstance(member, Model):
            raise TypeError(
                f"tuplify() expects Model instances, got {type(member).__name__} at position {position}"
            )
    name = "tuple(" + ", ".join(member.name for member in members) + ")"
    return Model(name, forward, init=init, layers=list(members), dims={"nI": None})


def forward(model: Model[InT, Tuple], X: InT, is_train: bool) -> Tuple[Tuple, Callable]:
    outputs, backprops = run_each(model.layers, X, is_train)

    def backprop(dYs: Tuple) -> Any:
        if len(dYs) != len(backprops):
            raise ValueError(
                f"tuplify: gradient has {len(dYs)} parts, the output had {len(backprops)}"
            )
        dX = backprops[0](dYs[0])
        for backprop_layer, dY in zip(backprops[1:], dYs[1:]):
            dX = dX + backprop_layer(dY)
        return dX

    return tuple(outputs), backprop


def init(model: Model[InT, Tuple], X: Optional[InT] = None, Y: Optional[Tuple] = None) -> None:
    if X is None and Y is None:
        for layer in model.layers:
            layer.initialize()
        if model.layers[0].has_dim("nI"):
            model.set_dim("nI", model.layers[0].get_dim("nI"))
        return
    if Y is not None and len(Y) > len(model.layers):
        raise ValueError(f"tuplify: Y has {len(Y)} parts for {len(model.layers)} layers")
    for position, layer in enumerate(model.layers):
        # Like thinc 8.3.14, layers past the end of a shorter Y get no sample output.
        layer_Y = Y[position] if Y is not None and position < len(Y) else None
        layer.initialize(X=X, Y=layer_Y)
    # Each layer reads its own width from X, as in thinc 8.3.14: X need not have one
    # (spaCy's entity linker passes lists of Docs).
    if model.layers[0].has_dim("nI"):
        model.set_dim("nI", model.layers[0].get_dim("nI"))
