"""Function composition of layers: each layer's output is the next one's input,
and gradients flow back through them in reverse order."""

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import XY_YZ_OutT  # thinc/mypy.py recognises combinators by it
from ..util import get_width
from ._window_maxout import run_window_maxout
from .expand_window import forward as expand_window_forward

InT = TypeVar("InT")
MidT = TypeVar("MidT")
OutT = TypeVar("OutT")


@registry.layers("chain.v1")
def chain_no_types(*layer: Model) -> Model:
    """Config entry point: ``chain`` taking its layers as one positional list."""
    return chain(*layer)


def chain(
    layer1: Model[InT, MidT],
    layer2: Model[MidT, Any],
    *layers: Model[Any, Any],
) -> Model[InT, XY_YZ_OutT]:
    """Compose layers so that chain(f, g, h)(X) is h(g(f(X))). The result is
    named by joining the layers' names with ">>"; nested chains stay nested.
    At least two layers, as in thinc 8.3 (clone(layer, 1) is the one-layer case)."""
    members: List[Model] = [layer1, layer2, *layers]
    for position, member in enumerate(members):
        if not isinstance(member, Model):
            raise TypeError(
                f"chain() expects Model instances, got {type(member).__name__} "
                f"at position {position}"
            )
    dims: Dict[str, Optional[int]] = {"nO": None}
    # The chain's widths are those of its ends, when the ends have such dims.
    if members[0].has_dim("nI") is not False:
        dims["nI"] = members[0].maybe_get_dim("nI")
    if members[-1].has_dim("nO") is not False:
        dims["nO"] = members[-1].maybe_get_dim("nO")
    return Model(
        ">>".join(member.name for member in members),
        forward,
        init=init,
        dims=dims,
        layers=members,
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    backprops = []
    layers = model.layers
    position = 0
    while position < len(layers):
        layer = layers[position]
        if layer._func is expand_window_forward and position + 1 < len(layers):
            # expand_window >> Maxout: one step that never builds the windows.
            fused = run_window_maxout(layer, layers[position + 1], X, is_train, forward)
            if fused is not None:
                X, backprop_pair = fused
                backprops.append(backprop_pair)
                position += 2
                continue
        X, backprop_layer = layer(X, is_train=is_train)
        backprops.append(backprop_layer)
        position += 1

    def backprop(dY: OutT) -> InT:
        gradient: Any = dY
        for backprop_layer in reversed(backprops):
            gradient = backprop_layer(gradient)
        return gradient

    return X, backprop  # type: ignore[return-value]


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    output = None
    if X is None and Y is None:
        for layer in model.layers:
            layer.initialize()
    else:
        output = X
        for layer in model.layers:
            # Y describes the chain's output, so it may only size a layer whose
            # nO is still unknown; sample inputs flow forward to size each nI.
            layer.initialize(X=output, Y=Y if layer.has_dim("nO") is None else None)
            if output is not None:
                output = layer.predict(output)
    if model.layers[0].has_dim("nI"):
        model.set_dim("nI", model.layers[0].get_dim("nI"))
    if model.layers[-1].has_dim("nO"):
        model.set_dim("nO", model.layers[-1].get_dim("nO"))
    elif output is not None and model.has_dim("nO") is None:
        # The last layer has no width of its own (e.g. dropout): use its output's.
        width = _maybe_width(output)
        if width is not None:
            model.set_dim("nO", width)


def _maybe_width(output) -> Optional[int]:
    """The width of an array-like output, or None for anything else (strings...)."""
    try:
        return get_width(output)
    except (ValueError, TypeError, AttributeError, IndexError):
        return None
