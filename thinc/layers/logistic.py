"""Logistic: an elementwise sigmoid with no weights, to turn scores into
probabilities. Registered as "Logistic.v1"."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d


@registry.layers("Logistic.v1")
def Logistic() -> Model[Floats2d, Floats2d]:
    """Apply the logistic sigmoid to every element of the input."""
    return Model("logistic", forward)


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    if getattr(X, "dtype", None) is None or X.dtype.kind != "f":
        raise TypeError(
            f"logistic expects a float array, got {getattr(X, 'dtype', type(X).__name__)}"
        )
    Y = model.ops.sigmoid(X)

    def backprop(dY: Floats2d) -> Floats2d:
        return model.ops.backprop_sigmoid(dY, Y)

    return Y, backprop
