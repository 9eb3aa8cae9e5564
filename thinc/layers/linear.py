"""The affine layer: an output row is a weighted sum of an input row plus a bias.

Also holds the input check that the other dense layers share."""

from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d
from ..util import get_width

InT = Floats2d
OutT = Floats2d


@registry.layers("Linear.v1")
def Linear(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
) -> Model[InT, OutT]:
    """Multiply inputs by a weights matrix W of shape (nO, nI) and add a bias b."""
    if init_W is None:
        init_W = glorot_uniform_init
    if init_b is None:
        init_b = zero_init
    return Model(
        "linear",
        forward,
        init=partial(init, init_W, init_b),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    check_input_width(model, X, W.shape[1])
    Y = model.ops.affine(X, W, b)

    def backprop(dY: OutT) -> InT:
        model.inc_grad("b", dY.sum(axis=0))
        model.inc_grad("W", model.ops.gemm(dY, X, trans1=True))
        return model.ops.gemm(dY, W)

    return Y, backprop


def init(
    init_W: Callable,
    init_b: Callable,
    model: Model[InT, OutT],
    X: Optional[InT] = None,
    Y: Optional[OutT] = None,
) -> None:
    if X is not None:
        model.set_dim("nI", get_width(X))
    if Y is not None:
        model.set_dim("nO", get_width(Y))
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    model.set_param("W", init_W(model.ops, (nO, nI)))
    model.set_param("b", init_b(model.ops, (nO,)))


def check_input_width(model: Model, X: Floats2d, nI: int) -> None:
    """Raise a ValueError naming ``model`` unless X is a 2d float array whose
    rows have ``nI`` columns (blas would otherwise fail far from the cause)."""
    shape = getattr(X, "shape", None)
    if shape is None:
        raise TypeError(
            f"Layer '{model.name}' (id {model.id}) expected a 2d float array, "
            f"got {type(X).__name__}"
        )
    if len(shape) != 2 or shape[1] != nI:
        raise ValueError(
            f"Layer '{model.name}' (id {model.id}) expected input of shape "
            f"(batch, {nI}), got shape {tuple(shape)}"
        )
    if X.dtype.kind != "f":
        raise ValueError(
            f"Layer '{model.name}' (id {model.id}) expected a float array, got dtype {X.dtype}"
        )


register_param_dims(init, {"W": ("nO", "nI"), "b": ("nO",)})
