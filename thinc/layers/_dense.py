"""The body that the dense layers with an elementwise activation have in common:
the factory with its optional LayerNorm/Dropout nodes, the affine pass, init and input check."""

from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple, cast

from ..initializers import zero_init
from ..model import Model, register_param_dims
from ..types import Floats1d, Floats2d
from .chain import chain
from .dropout import Dropout
from .layernorm import LayerNorm


def dense_layer(
    name: str,
    forward: Callable,
    nO: Optional[int],
    nI: Optional[int],
    *,
    init_W: Callable,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
    attrs: Optional[Dict[str, Any]] = None,
) -> Model[Floats2d, Floats2d]:
    """A dense node named ``name`` with params W (nO, nI) and b (nO,), biases
    starting at zero unless ``init_b`` is given, followed by the option nodes."""
    model: Model[Floats2d, Floats2d] = Model(
        name,
        forward,
        init=partial(init, init_W, init_b or zero_init),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
        attrs=attrs or {},
    )
    return with_options(model, nO, dropout=dropout, normalize=normalize)


def with_options(
    model: Model[Floats2d, Floats2d],
    nO: Optional[int],
    *,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """Chain LayerNorm after ``model`` if ``normalize``, then Dropout if a rate is
    given (a rate of 0.0 still adds the node, as thinc's layer trees have it)."""
    if normalize:
        model = chain(model, LayerNorm(nI=nO))
    if dropout is not None:
        model = chain(model, Dropout(dropout))
    return model


# An activation maps the pre-activation to (output, callback from d_output to
# d_pre-activation), so each layer decides what its derivative needs to keep.
Activation = Callable[[Floats2d], Tuple[Floats2d, Callable[[Floats2d], Floats2d]]]


def elementwise(
    activate: Callable[[Floats2d], Floats2d],
    backprop_activation: Callable[[Floats2d, Floats2d], Floats2d],
) -> Activation:
    """The Activation for an op pair whose backprop reads dY and the pre-activation."""

    def apply(Y_preact: Floats2d) -> Tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
        return activate(Y_preact), lambda dY: backprop_activation(dY, Y_preact)

    return apply


def dense_forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, activation: Activation
) -> Tuple[Floats2d, Callable]:
    """Y = activation(X @ W.T + b), with a backprop that accumulates dW and db
    and returns dX."""
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    check_dense_input(model, X, W.shape[1])
    Y, backprop_activation = activation(model.ops.affine(X, W, b))

    def backprop(dY: Floats2d) -> Floats2d:
        dY_preact = backprop_activation(dY)
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
    """Take nI and nO from sample data where they are still unset, then draw W and b."""
    infer_widths(model, X, Y)
    nO = model.get_dim("nO")
    nI = model.get_dim("nI")
    model.set_param("W", init_W(model.ops, (nO, nI)))
    model.set_param("b", init_b(model.ops, (nO,)))


def infer_widths(model: Model, X: Optional[Floats2d], Y: Optional[Floats2d]) -> None:
    """Set nI from the sample input's and nO from the sample output's width,
    each only where it is still unset."""
    if X is not None and model.maybe_get_dim("nI") is None:
        model.set_dim("nI", X.shape[1])
    if Y is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", Y.shape[1])


def check_dense_input(model: Model, X: Floats2d, width: int) -> None:
    """Raise a ValueError naming ``model`` unless X is 2d with ``width`` columns."""
    if getattr(X, "ndim", None) != 2 or X.shape[1] != width:
        shape = getattr(X, "shape", type(X).__name__)
        raise ValueError(f"{model.name} expects a 2d input of width {width}, got {shape}")


register_param_dims(init, {"W": ("nO", "nI"), "b": ("nO",)})
