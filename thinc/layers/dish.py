"""Dish: a dense layer followed by the Dish activation (a cheap swish-like curve).

Registered as "Dish.v1"; dropout and normalization are composed with chain()."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import he_normal_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer, elementwise


@registry.layers("Dish.v1")
def Dish(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with the Dish activation, x * (1 + x / sqrt(1 + x**2)) / 2."""
    return dense_layer(
        "dish",
        forward,
        nO,
        nI,
        init_W=init_W or he_normal_init,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    return dense_forward(model, X, elementwise(model.ops.dish, model.ops.backprop_dish))
