"""A dense layer whose outputs are turned into a probability distribution per row.

Its backward pass expects the gradient of the logits (e.g. guesses - truths)."""

from functools import partial
from typing import Callable, Optional, Tuple, cast

from ..config import registry
from ..initializers import zero_init
from ..model import Model
from ..types import Floats1d, Floats2d
from .linear import check_input_width, init

InT = Floats2d
OutT = Floats2d


@registry.layers("Softmax.v1")
def Softmax(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
) -> Model[InT, OutT]:
    """softmax(X W^T + b), with W and b starting at zero (uniform guesses)."""
    return Softmax_v2(nO, nI, init_W=init_W, init_b=init_b)


@registry.layers("Softmax.v2")
def Softmax_v2(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    normalize_outputs: bool = True,
    temperature: float = 1.0,
) -> Model[InT, OutT]:
    """Like Softmax, with logits divided by ``temperature``. With
    ``normalize_outputs=False``, prediction returns the raw logits (training
    still normalizes, so the gradient convention holds)."""
    if temperature <= 0.0:
        raise ValueError(f"Softmax temperature must be positive, got {temperature}")
    if init_W is None:
        init_W = zero_init
    if init_b is None:
        init_b = zero_init
    return Model(
        "softmax",
        forward,
        init=partial(init, init_W, init_b),
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
        attrs={"softmax_normalize": normalize_outputs, "softmax_temperature": temperature},
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    normalize = model.attrs["softmax_normalize"] or is_train
    temperature = model.attrs["softmax_temperature"]
    W = cast(Floats2d, model.get_param("W"))
    b = cast(Floats1d, model.get_param("b"))
    check_input_width(model, X, W.shape[1])
    Y = model.ops.affine(X, W, b)
    if not normalize:
        return Y, _backprop_unnormalized
    Y = model.ops.softmax(Y, temperature=temperature)

    def backprop(dY: OutT) -> InT:
        # dY is d(loss)/d(logits / temperature), the usual fused-crossentropy shortcut.
        if temperature != 1.0:
            dY = dY / temperature
        model.inc_grad("b", dY.sum(axis=0))
        model.inc_grad("W", model.ops.gemm(dY, X, trans1=True))
        return model.ops.gemm(dY, W)

    return Y, backprop


def _backprop_unnormalized(dY: OutT) -> InT:
    raise ValueError(
        "Cannot backprop through a Softmax layer whose outputs were not normalized "
        "(normalize_outputs=False outside training)"
    )
