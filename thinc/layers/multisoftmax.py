"""MultiSoftmax: one dense layer scoring several classification problems at once,
the output split into groups of widths nOs. Registered as "MultiSoftmax.v1"."""

from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d


@registry.layers("MultiSoftmax.v1")
def MultiSoftmax(nOs: Tuple[int, ...], nI: Optional[int] = None) -> Model[Floats2d, Floats2d]:
    """A dense layer of width sum(nOs) whose groups are each scored for a softmax.

    As in thinc 8.3 the returned scores are the unnormalised logits (the groupwise
    softmax is left to the loss), and backprop takes the gradient of those logits."""
    nOs = tuple(nOs)
    if not nOs or any(int(width) <= 0 for width in nOs):
        raise ValueError(f"MultiSoftmax needs positive group widths, got nOs={nOs}")
    return Model(
        "multisoftmax",
        forward,
        init=init,
        dims={"nO": sum(nOs), "nI": nI},
        attrs={"nOs": nOs},
        params={"W": None, "b": None},
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    if getattr(X, "ndim", None) != 2 or X.shape[1] != W.shape[1]:
        shape = getattr(X, "shape", type(X).__name__)
        raise ValueError(f"multisoftmax expects a 2d input of width {W.shape[1]}, got {shape}")
    Y = model.ops.affine(X, W, b)

    def backprop(dY: Floats2d) -> Floats2d:
        model.inc_grad("W", model.ops.gemm(dY, X, trans1=True))
        model.inc_grad("b", dY.sum(axis=0))
        return model.ops.gemm(dY, W)

    return Y, backprop


def init(
    model: Model[Floats2d, Floats2d], X: Optional[Floats2d] = None, Y: Optional[Floats2d] = None
) -> None:
    if X is not None and model.maybe_get_dim("nI") is None:
        model.set_dim("nI", X.shape[1])
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    model.set_param("W", model.ops.alloc2f(nO, nI))
    model.set_param("b", model.ops.alloc1f(nO))


register_param_dims(init, {"W": ("nO", "nI"), "b": ("nO",)})
