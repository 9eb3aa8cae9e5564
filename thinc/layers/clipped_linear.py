"""ClippedLinear and its presets: a dense layer whose output is scaled, shifted
and clipped to a range (HardSigmoid, HardTanh and ReluK are special cases)."""

from functools import partial
from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import glorot_uniform_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer, elementwise


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
    return dense_layer(
        "clipped_linear",
        forward,
        nO,
        nI,
        init_W=init_W or glorot_uniform_init,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
        attrs={"slope": slope, "offset": offset, "min_val": min_val, "max_val": max_val},
    )


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
    clip = {name: model.attrs[name] for name in ("slope", "offset", "min_val", "max_val")}
    activation = elementwise(
        partial(model.ops.clipped_linear, **clip),
        partial(model.ops.backprop_clipped_linear, **clip),
    )
    return dense_forward(model, X, activation)
