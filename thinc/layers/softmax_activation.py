"""``softmax_activation``: normalise each row into a probability distribution,
with no weights; use it after a layer that produces logits."""

from typing import Callable, Tuple

from ..config import registry
from ..model import Model
from ..types import Floats2d


@registry.layers("softmax_activation.v1")
def softmax_activation() -> Model[Floats2d, Floats2d]:
    """Compute ``exp(X) / sum(exp(X))`` over the last axis."""
    return Model("softmax_activation", forward)


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    if not hasattr(X, "dtype") or X.dtype.kind != "f":
        raise TypeError(
            f"softmax_activation expects a float array, got "
            f"{type(X).__name__}{' of dtype ' + str(X.dtype) if hasattr(X, 'dtype') else ''}"
        )
    Y = model.ops.softmax(X, inplace=False)

    def backprop(dY: Floats2d) -> Floats2d:
        if dY.shape != Y.shape:
            raise ValueError(
                f"softmax_activation: gradient shape {tuple(dY.shape)} differs from output shape {tuple(Y.shape)}"
            )
        return model.ops.backprop_softmax(Y, dY, axis=-1)

    return Y, backprop
