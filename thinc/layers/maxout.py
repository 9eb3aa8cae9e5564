"""Maxout: a dense layer with nP candidate outputs per unit, keeping the largest.

Registered as "Maxout.v1". W has shape (nO, nP, nI) and b (nO, nP), as in thinc."""
from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..types import Floats2d, Floats3d
from ._dense import check_dense_input, infer_widths, with_options


@registry.layers("Maxout.v1")
def Maxout(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    nP: Optional[int] = 3,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """Each of the nO outputs is the maximum of nP affine pieces of the input."""
    model: Model[Floats2d, Floats2d] = Model(
        "maxout",
        forward,
        init=partial(init, init_W or glorot_uniform_init, init_b or zero_init),
        dims={"nO": nO, "nI": nI, "nP": nP},
        params={"W": None, "b": None},
    )
    return with_options(model, nO, dropout=dropout, normalize=normalize)


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    nO = model.get_dim("nO")
    nP = model.get_dim("nP")
    nI = model.get_dim("nI")
    W = cast(Floats3d, model.get_param("W"))
    b = cast(Floats2d, model.get_param("b"))
    check_dense_input(model, X, nI)
    # The pieces of one unit sit next to each other, so one gemm computes them all.
    W_flat = model.ops.reshape2f(W, nO * nP, nI)
    pieces = model.ops.affine(X, W_flat, model.ops.reshape1f(b, nO * nP))
    best, which = model.ops.maxout(model.ops.reshape3f(pieces, X.shape[0], nO, nP))

    def backprop(d_best: Floats2d) -> Floats2d:
        d_pieces = model.ops.backprop_maxout(d_best, which, nP)
        model.inc_grad("b", d_pieces.sum(axis=0))
        d_pieces_flat = model.ops.reshape2f(d_pieces, d_pieces.shape[0], nO * nP)
        dW = model.ops.gemm(d_pieces_flat, X, trans1=True)
        model.inc_grad("W", model.ops.reshape3f(dW, nO, nP, nI))
        return model.ops.gemm(d_pieces_flat, W_flat)

    return best, backprop


def init(
    init_W: Callable,
    init_b: Callable,
    model: Model[Floats2d, Floats2d],
    X: Optional[Floats2d] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    infer_widths(model, X, Y)
    nO = model.get_dim("nO")
    nP = model.get_dim("nP")
    nI = model.get_dim("nI")
    model.set_param("W", init_W(model.ops, (nO, nP, nI)))
    model.set_param("b", init_b(model.ops, (nO, nP)))
