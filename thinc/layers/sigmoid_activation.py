"""``sigmoid_activation``: the logistic function applied elementwise, with no
weights; use it after a layer that produces logits."""

from typing import Any, Callable, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import FloatsXd

FloatsXdT = TypeVar("FloatsXdT", bound=FloatsXd)


@registry.layers("sigmoid_activation.v1")
def sigmoid_activation() -> Model[FloatsXdT, FloatsXdT]:
    """Compute ``1 / (1 + exp(-X))`` elementwise."""
    return Model("sigmoid_activation", forward)


def forward(
    model: Model[FloatsXdT, FloatsXdT], X: FloatsXdT, is_train: bool
) -> Tuple[FloatsXdT, Callable]:
    if not hasattr(X, "dtype") or X.dtype.kind != "f":
        raise TypeError(
            f"sigmoid_activation expects a float array, got "
            f"{type(X).__name__}{' of dtype ' + str(X.dtype) if hasattr(X, 'dtype') else ''}"
        )
    Y = model.ops.sigmoid(cast(Any, X), inplace=False)

    def backprop(dY: FloatsXdT) -> FloatsXdT:
        if dY.shape != Y.shape:
            raise ValueError(
                f"sigmoid_activation: gradient shape {tuple(dY.shape)} differs from output shape {tuple(Y.shape)}"
            )
        return cast(FloatsXdT, dY * model.ops.dsigmoid(cast(Any, Y), inplace=False))

    return cast(FloatsXdT, Y), backprop
