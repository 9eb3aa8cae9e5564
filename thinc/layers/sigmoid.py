"""Sigmoid: a dense layer followed by the logistic function, for independent
per-class probabilities. Registered as "Sigmoid.v1"."""
from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import zero_init
from ..model import Model
from ..types import Floats1d, Floats2d


@registry.layers("Sigmoid.v1")
def Sigmoid(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with a sigmoid output; weights start at zero by default."""
    return Model(
        "sigmoid",
        forward,
        init=partial(init, init_W or zero_init, init_b or zero_init),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    if getattr(X, "ndim", None) != 2 or X.shape[1] != W.shape[1]:
        shape = getattr(X, "shape", type(X).__name__)
        raise ValueError(f"sigmoid expects a 2d input of width {W.shape[1]}, got {shape}")
    Y = model.ops.sigmoid(model.ops.affine(X, W, b))

    def backprop(dY: Floats2d) -> Floats2d:
        dY_preact = model.ops.backprop_sigmoid(dY, Y)
        model.inc_grad("W", model.ops.gemm(dY_preact, X, trans1=True))
        model.inc_grad("b", dY_preact.sum(axis=0))
        return model.ops.gemm(dY_preact, W)

    return Y, backprop


def init(
    init_W: Callable,
    init_b: Callable,
    model: Model[Floats2d, Floats2d],
    X: Optional[Floats2d] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    if X is not None and model.maybe_get_dim("nI") is None:
        model.set_dim("nI", X.shape[1])
    if Y is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", Y.shape[1])
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    model.set_param("W", init_W(model.ops, (nO, nI)))
    model.set_param("b", init_b(model.ops, (nO,)))
