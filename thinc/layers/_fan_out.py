"""Helpers for the combinators that feed one input to several children and
merge what comes back (add, concatenate, tuplify)."""

from typing import Any, Callable, List, Tuple

from ..model import Model


def run_each(layers: List[Model], X: Any, is_train: bool) -> Tuple[List[Any], List[Callable]]:
    """Call every layer on the same X: their outputs and backprop callbacks, in order."""
    outputs = []
    backprops = []
    for layer in layers:
        output, backprop_layer = layer(X, is_train=is_train)
        outputs.append(output)
        backprops.append(backprop_layer)
    return outputs, backprops


def set_dim_where_declared(model: Model, name: str, value: int) -> None:
    """Set dim ``name`` on the combinator and on each child that declares it."""
    for node in [model, *model.layers]:
        if node.has_dim(name) is not False:
            node.set_dim(name, value)
