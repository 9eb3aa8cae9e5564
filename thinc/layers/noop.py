"""The identity layer: passes its input and gradient through unchanged.

Handy as a placeholder in a config, or to carry layers that something else uses."""

from typing import Callable, Tuple, TypeVar

from ..config import registry
from ..model import Model

InOutT = TypeVar("InOutT")


@registry.layers("noop.v1")
def noop(*layers: Model) -> Model[InOutT, InOutT]:
    """Return X unchanged; any ``layers`` given are kept as (unused) children."""
    return Model("noop", forward, layers=list(layers))


def forward(model: Model[InOutT, InOutT], X: InOutT, is_train: bool) -> Tuple[InOutT, Callable]:
    def backprop(dY: InOutT) -> InOutT:
        return dY

    return X, backprop
