"""Swish: a dense layer followed by the swish activation, x * sigmoid(x).

Registered as "Swish.v1"; dropout and normalization are composed with chain()."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import he_normal_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer


@registry.layers("Swish.v1")
def Swish(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with the swish (SiLU) activation."""
    return dense_layer(
        "swish",
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
    def swish(Y_preact: Floats2d) -> Tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
        Y = model.ops.swish(Y_preact)
        # The derivative reuses the output as well as the pre-activation.
        return Y, lambda dY: model.ops.backprop_swish(dY, Y_preact, Y)

    return dense_forward(model, X, swish)
