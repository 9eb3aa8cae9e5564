"""Mish: a dense layer followed by the Mish activation, x * tanh(softplus(x)).

Registered as "Mish.v1"; dropout and normalization are composed with chain()."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import glorot_uniform_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer, elementwise


@registry.layers("Mish.v1")
def Mish(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with the Mish activation."""
    return dense_layer(
        "mish",
        forward,
        nO,
        nI,
        init_W=init_W or glorot_uniform_init,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    return dense_forward(model, X, elementwise(model.ops.mish, model.ops.backprop_mish))
