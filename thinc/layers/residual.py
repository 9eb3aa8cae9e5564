"""``residual``: add a layer's input to its output, so the layer learns a correction.

Works on arrays, lists of arrays, Ragged and Padded alike; the shapes must agree."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Padded, Ragged

InT = TypeVar("InT")


@registry.layers("residual.v1")
def residual(layer: Model[InT, InT]) -> Model[InT, InT]:
    """Compute ``X + layer(X)``; the gradient is ``dY + layer's dX``."""
    if not isinstance(layer, Model):
        raise TypeError(f"residual expects a Model, got {type(layer).__name__}")
    return Model(
        f"residual({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={
            "nO": layer.get_dim("nO") if layer.has_dim("nO") else None,
            "nI": layer.get_dim("nI") if layer.has_dim("nI") else None,
        },
    )


def _check_same(what: str, left: Any, right: Any) -> None:
    if left.shape != right.shape:
        raise ValueError(
            f"residual: the wrapped layer's {what} shape {tuple(right.shape)} differs "
            f"from its input's shape {tuple(left.shape)}"
        )


def _add(X: Any, Y: Any, what: str) -> Any:
    if isinstance(X, Ragged):
        _check_same(what, X.dataXd, Y.dataXd)
        return Ragged(X.dataXd + Y.dataXd, X.lengths)
    if isinstance(X, Padded):
        _check_same(what, X.data, Y.data)
        return Padded(X.data + Y.data, Y.size_at_t, Y.lengths, Y.indices)
    if isinstance(X, (list, tuple)):
        if len(X) != len(Y):
            raise ValueError(
                f"residual: the wrapped layer's {what} has {len(Y)} items, its input {len(X)}"
            )
        summed: List[Any] = [_add(x, y, what) for x, y in zip(X, Y)]
        return summed
    _check_same(what, X, Y)
    return X + Y


def forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    Y, backprop_layer = model.layers[0](X, is_train=is_train)

    def backprop(dY: InT) -> InT:
        dX = backprop_layer(dY)
        return _add(dY, dX, "input gradient")

    return _add(X, Y, "output"), backprop


def init(model: Model[InT, InT], X: Optional[InT] = None, Y: Optional[InT] = None) -> None:
    layer = model.layers[0]
    # Y only sizes the layer when it has no nO of its own yet.
    if layer.has_dim("nO") is None:
        layer.initialize(X=X, Y=Y)
    else:
        layer.initialize(X=X)
    if layer.has_dim("nO"):
        model.set_dim("nO", layer.get_dim("nO"))
    if layer.has_dim("nI"):
        model.set_dim("nI", layer.get_dim("nI"))
