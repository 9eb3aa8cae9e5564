"""Swish: a dense layer followed by the swish activation, x * sigmoid(x).

Registered as "Swish.v1"; dropout and normalization are composed with chain()."""
from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import he_normal_init, zero_init
from ..model import Model
from ..types import Floats1d, Floats2d
from .chain import chain
from .dropout import Dropout
from .layernorm import LayerNorm


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
    model: Model[Floats2d, Floats2d] = Model(
        "swish",
        forward,
        init=partial(init, init_W or he_normal_init, init_b or zero_init),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
    )
    if normalize:
        model = chain(model, LayerNorm(nI=nO))
    if dropout is not None:
        model = chain(model, Dropout(dropout))
    return model


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    _check_input(model, X, W)
    Y_preact = model.ops.affine(X, W, b)
    Y = model.ops.swish(Y_preact)

    def backprop(dY: Floats2d) -> Floats2d:
        dY_preact = model.ops.backprop_swish(dY, Y_preact, Y)
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


def _check_input(model: Model, X: Floats2d, W: Floats2d) -> None:
    if getattr(X, "ndim", None) != 2 or X.shape[1] != W.shape[1]:
        shape = getattr(X, "shape", type(X).__name__)
        raise ValueError(
            f"{model.name} expects a 2d input of width {W.shape[1]}, got {shape}"
        )
