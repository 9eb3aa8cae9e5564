"""A dense layer followed by the rectifier, optionally normalized and dropped out.

The options are separate nodes chained after the dense one, as thinc lays them out."""

from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..types import Floats1d, Floats2d
from ._dense import with_options
from .linear import check_input_width, init

InT = Floats2d
OutT = Floats2d


@registry.layers("Relu.v1")
def Relu(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[InT, OutT]:
    """max(0, X W^T + b), then LayerNorm if ``normalize`` and Dropout if
    ``dropout`` is given (a rate of 0.0 still adds the node)."""
    if init_W is None:
        init_W = glorot_uniform_init
    if init_b is None:
        init_b = zero_init
    model: Model[InT, OutT] = Model(
        "relu",
        forward,
        init=partial(init, init_W, init_b),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
    )
    return with_options(model, nO, dropout=dropout, normalize=normalize)


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    check_input_width(model, X, W.shape[1])
    Y = model.ops.relu(model.ops.affine(X, W, b))

    def backprop(dY: OutT) -> InT:
        dY = model.ops.backprop_relu(dY, Y)
        model.inc_grad("b", dY.sum(axis=0))
        model.inc_grad("W", model.ops.gemm(dY, X, trans1=True))
        return model.ops.gemm(dY, W)

    return Y, backprop
