"""``with_reshape``: apply a 2d layer to an array of any rank >= 2 by folding all
leading axes into rows, then unfolding its output (and gradient) again."""

import math
from typing import Callable, Optional, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import Array2d, ArrayXd

InT = TypeVar("InT", bound=ArrayXd)
OutT = TypeVar("OutT", bound=Array2d)


@registry.layers("with_reshape.v1")
def with_reshape(layer: Model[OutT, OutT]) -> Model[InT, InT]:
    """Reshape X of shape (..., nI) to (-1, nI), run ``layer``, and reshape its
    (-1, nO) output to (..., nO)."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_reshape expects a Model, got {type(layer).__name__}")
    return Model(
        f"with_reshape({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={"nO": None, "nI": None},
    )


def _to_2d(model: Model, X: ArrayXd, what: str) -> Array2d:
    if getattr(X, "ndim", 0) < 2:
        shape = getattr(X, "shape", None)
        raise ValueError(
            f"with_reshape expects {what} with at least 2 dimensions, got "
            + (f"shape {tuple(shape)}" if shape is not None else type(X).__name__)
        )
    return fold_leading_axes(model, X)


def fold_leading_axes(model: Model, X: ArrayXd) -> Array2d:
    """X as rows of its last axis. The row count is spelled out: numpy cannot
    infer a -1 beside a zero (an empty batch or a zero width)."""
    return model.ops.reshape2(X, math.prod(X.shape[:-1]), X.shape[-1])


def forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    layer = model.layers[0]
    initial_shape = tuple(X.shape)
    Y2d, backprop_layer = layer(_to_2d(model, X, "an input"), is_train=is_train)
    final_shape = initial_shape[:-1] + (Y2d.shape[-1],)
    Y = model.ops.reshape(Y2d, final_shape)

    def backprop(dY: InT) -> InT:
        if tuple(dY.shape) != final_shape:
            raise ValueError(
                f"with_reshape: gradient shape {tuple(dY.shape)} differs from output shape {final_shape}"
            )
        dX2d = backprop_layer(fold_leading_axes(model, dY))
        return cast(InT, model.ops.reshape(dX2d, initial_shape))

    return cast(InT, Y), backprop


def init(model: Model[InT, InT], X: Optional[InT] = None, Y: Optional[InT] = None) -> None:
    layer = model.layers[0]
    layer.initialize(
        X=_to_2d(model, X, "a sample input") if X is not None else None,
        Y=_to_2d(model, Y, "a sample output") if Y is not None else None,
    )
    if layer.has_dim("nI"):
        model.set_dim("nI", layer.get_dim("nI"))
    if layer.has_dim("nO"):
        model.set_dim("nO", layer.get_dim("nO"))
