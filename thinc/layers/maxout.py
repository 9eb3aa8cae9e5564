"""Maxout: a dense layer with nP candidate outputs per unit, keeping the largest.

Registered as "Maxout.v1". W has shape (nO, nP, nI) and b (nO, nP), as in thinc."""

from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model, register_param_dims
from ..types import Floats2d, Floats3d, Ints2d
from ._dense import check_dense_input, infer_widths, with_options
from ._window_maxout import set_maxout_forward


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
    nI = model.get_dim("nI")
    W = cast(Floats3d, model.get_param("W"))
    b = cast(Floats2d, model.get_param("b"))
    check_dense_input(model, X, nI)
    # Only the backward needs the winning pieces; prediction skips recording them.
    best, which = model.ops._maxout_forward(X, W, b, keep_which=is_train)

    def backprop(d_best: Floats2d) -> Floats2d:
        nonlocal which
        if which is None:
            # Backprop after an is_train=False call still works, at the cost of a rerun.
            which = model.ops._maxout_forward(X, W, b, keep_which=True)[1]
        dX, dW, db = model.ops._maxout_backward(d_best, cast(Ints2d, which), X, W)
        model.inc_grad("b", db)
        model.inc_grad("W", dW)
        return dX

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


register_param_dims(init, {"W": ("nO", "nP", "nI"), "b": ("nO", "nP")})
# chain runs expand_window >> Maxout as one step (see _window_maxout.py).
set_maxout_forward(forward)
