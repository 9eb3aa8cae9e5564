"""The ``add`` combinator: feed one input to several layers and sum their outputs.

Every child sees the same input, so the input gradient is the sum of theirs."""

from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import XY_XY_OutT  # thinc/mypy.py recognises combinators by it
from ..util import get_width
from ._fan_out import run_each, set_dim_where_declared

InT = TypeVar("InT")
OutT = TypeVar("OutT")


@registry.layers("add.v1")
def add(
    layer1: Model[InT, OutT], layer2: Model[InT, OutT], *layers: Model
) -> Model[InT, XY_XY_OutT]:
    """Compute ``layer1(X) + layer2(X) + ...``. When ``layer1`` is itself an
    ``add`` node, the other layers join it instead of nesting a new node."""
    members: List[Model] = [layer1, layer2, *layers]
    for position, member in enumerate(members):
        if not isinstance(member, Model):
            raise TypeError(
                f"add() expects Model instances, got {type(member).__name__} at position {position}"
            )
    if layer1.name == "add":
        layer1.layers.extend(members[1:])
        return cast(Model[InT, XY_XY_OutT], layer1)
    # nI is declared only where every child has one (thinc 8.3 does the same), so
    # that a child such as noop() keeps the node from promising an input width.
    dims: Dict[str, Optional[int]] = {"nO": None}
    if all("nI" in member.dim_names for member in members):
        dims["nI"] = None
    return Model("add", forward, init=init, dims=dims, layers=members)


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    if not model.layers:
        return X, lambda dY: dY  # type: ignore[return-value]
    outputs, backprops = run_each(model.layers, X, is_train)
    # A fresh sum: a child's output may be what its own backprop reads later.
    Y = _sum(outputs)

    def backprop(dY: Any) -> Any:
        return _sum([backprop_layer(dY) for backprop_layer in backprops])

    return Y, backprop


def _sum(values: List[Any]) -> Any:
    from ..types import Padded, Ragged

    first = values[0]
    if isinstance(first, Ragged):
        return Ragged(_sum([value.dataXd for value in values]), first.lengths)
    if isinstance(first, Padded):
        data = _sum([value.data for value in values])
        return Padded(data, first.size_at_t, first.lengths, first.indices)
    if isinstance(first, (list, tuple)):
        return [_sum(list(items)) for items in zip(*values)]
    shapes = {tuple(getattr(value, "shape", ())) for value in values}
    if len(shapes) != 1:
        raise ValueError(
            f"add: children's outputs (or input gradients) differ in shape: {sorted(shapes)}"
        )
    total = first + values[1] if len(values) > 1 else first.copy()
    for value in values[2:]:
        total += value
    return total


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    if X is not None:
        set_dim_where_declared(model, "nI", get_width(cast(Any, X)))
    if Y is not None:
        set_dim_where_declared(model, "nO", get_width(cast(Any, Y)))
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)
    if model.layers and model.layers[0].has_dim("nO"):
        model.set_dim("nO", model.layers[0].get_dim("nO"))
