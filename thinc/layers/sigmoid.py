"""Sigmoid: a dense layer followed by the logistic function, for independent
per-class probabilities. Registered as "Sigmoid.v1"."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import zero_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer


@registry.layers("Sigmoid.v1")
def Sigmoid(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with a sigmoid output; weights start at zero by default."""
    return dense_layer("sigmoid", forward, nO, nI, init_W=init_W or zero_init, init_b=init_b)


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    def sigmoid(Y_preact: Floats2d) -> Tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
        Y = model.ops.sigmoid(Y_preact)
        # The logistic derivative is cheapest written from the output.
        return Y, lambda dY: model.ops.backprop_sigmoid(dY, Y)

    return dense_forward(model, X, sigmoid)
