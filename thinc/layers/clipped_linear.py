"""ClippedLinear and its presets: a dense layer whose output is scaled, shifted
and clipped to a range (HardSigmoid, HardTanh and ReluK are special cases)."""
from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..types import Floats1d, Floats2d
from .chain import chain
from .dropout import Dropout
from .layernorm import LayerNorm


@registry.layers("ClippedLinear.v1")
def ClippedLinear(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
    slope: float = 1.0,
    offset: float = 0.0,
    min_val: float = 0.0,
    max_val: float = 1.0,
) -> Model[Floats2d, Floats2d]:
    """A dense layer computing clip(slope * (X @ W.T + b) + offset, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(
            f"ClippedLinear needs min_val <= max_val, got min_val={min_val}, max_val={max_val}"
        )
    model: Model[Floats2d, Floats2d] = Model(
        "clipped_linear",
        forward,
        init=partial(init, init_W or glorot_uniform_init, init_b or zero_init),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
        attrs={"slope": slope, "offset": offset, "min_val": min_val, "max_val": max_val},
    )
    if normalize:
        model = chain(model, LayerNorm(nI=nO))
    if dropout is not None:
        model = chain(model, Dropout(dropout))
    return model


@registry.layers("HardSigmoid.v1")
def HardSigmoid(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with the hard sigmoid, clip(0.2 * x + 0.5, 0, 1)."""
    return ClippedLinear(
        nO=nO,
        nI=nI,
        init_W=init_W,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
        slope=0.2,
        offset=0.5,
    )


@registry.layers("HardTanh.v1")
def HardTanh(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with the hard tanh, clip(x, -1, 1)."""
    return ClippedLinear(
        nO=nO,
        nI=nI,
        init_W=init_W,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
        min_val=-1.0,
        max_val=1.0,
    )


@registry.layers("ReluK.v1")
def ReluK(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
    k: float = 6.0,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with a rectifier capped at k, clip(x, 0, k)."""
    return ClippedLinear(
        nO=nO,
        nI=nI,
        init_W=init_W,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
        min_val=0.0,
        max_val=k,
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    if getattr(X, "ndim", None) != 2 or X.shape[1] != W.shape[1]:
        shape = getattr(X, "shape", type(X).__name__)
        raise ValueError(f"{model.name} expects a 2d input of width {W.shape[1]}, got {shape}")
    clip = {name: model.attrs[name] for name in ("slope", "offset", "min_val", "max_val")}
    Y_preact = model.ops.affine(X, W, b)
    Y = model.ops.clipped_linear(Y_preact, **clip)

    def backprop(dY: Floats2d) -> Floats2d:
        dY_preact = model.ops.backprop_clipped_linear(dY, Y_preact, **clip)
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
