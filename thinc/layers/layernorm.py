"""Layer normalization: each row rescaled to zero mean and unit variance, then
multiplied by a learned gain G and shifted by a learned bias b."""

from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d
from ..util import get_width
from .linear import check_input_width

InT = Floats2d
OutT = Floats2d

# Added to the variance so that constant rows normalize to zeros, not NaN.
VARIANCE_EPSILON = 1e-08


@registry.layers("LayerNorm.v1")
def LayerNorm(nI: Optional[int] = None) -> Model[InT, OutT]:
    """Normalize each row of a (batch, nI) array; the output width nO equals nI."""
    return Model(
        "layernorm",
        forward,
        init=init,
        dims={"nI": nI, "nO": nI},
        params={"G": None, "b": None},
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    G = cast(Floats1d, model.get_param("G"))
    b = cast(Floats1d, model.get_param("b"))
    check_input_width(model, X, G.shape[0])
    # One fused op a direction: the backward recomputes the normalized rows from X
    # and two numbers per row instead of keeping a full-size copy around.
    Y, (mean, inverse_std) = model.ops._layer_norm_forward(X, G, b, VARIANCE_EPSILON)

    def backprop(dY: OutT) -> InT:
        dX, dG, db = model.ops._layer_norm_backward(dY, X, G, mean, inverse_std)
        model.inc_grad("G", dG)
        model.inc_grad("b", db)
        return dX

    return Y, backprop


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    # The output has the input's width, so either sample can size the layer.
    sample = X if X is not None else Y
    if sample is not None:
        width = get_width(sample)
        model.set_dim("nI", width)
        model.set_dim("nO", width)
    nI = model.get_dim("nI")
    if not model.has_dim("nO"):
        model.set_dim("nO", nI)
    model.set_param("G", model.ops.alloc1f(nI) + 1)
    model.set_param("b", model.ops.alloc1f(nI))


register_param_dims(init, {"G": ("nI",), "b": ("nI",)})
