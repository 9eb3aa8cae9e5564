"""Run one Padded-sequence layer left to right and another right to left, and
join their outputs feature-wise (the right-to-left one first put back in order)."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..model import Model
from ..types import Padded


@registry.layers("bidirectional.v1")
def bidirectional(
    l2r: Model[Padded, Padded], r2l: Optional[Model[Padded, Padded]] = None
) -> Model[Padded, Padded]:
    """Concatenate ``l2r(X)`` with ``r2l`` run over the time-reversed input.
    Without ``r2l``, a copy of ``l2r`` (own weights) reads right to left."""
    if not isinstance(l2r, Model):
        raise TypeError(f"bidirectional expects a Model, got {type(l2r).__name__}")
    if r2l is None:
        r2l = l2r.copy()
    return Model(f"bi{l2r.name}", forward, init=init, layers=[l2r, r2l])


def _reverse(Xp: Padded) -> Padded:
    # Padded data is time-major, so flipping axis 0 reverses every sequence's steps.
    return Padded(Xp.data[::-1], Xp.size_at_t, Xp.lengths, Xp.indices)


def _check_padded(X: object) -> Padded:
    if not isinstance(X, Padded):
        raise TypeError(f"bidirectional expects a Padded input, got {type(X).__name__}")
    return X


def _split(Xp: Padded, width: int) -> Tuple[Padded, Padded]:
    left = Xp.data[..., :width]
    right = Xp.data[..., width:]
    return (
        Padded(left, Xp.size_at_t, Xp.lengths, Xp.indices),
        Padded(right, Xp.size_at_t, Xp.lengths, Xp.indices),
    )


def forward(model: Model[Padded, Padded], X: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    _check_padded(X)
    l2r, r2l = model.layers
    Y_l2r, backprop_l2r = l2r(X, is_train=is_train)
    Y_r2l, backprop_r2l = r2l(_reverse(X), is_train=is_train)
    Y_r2l = _reverse(Y_r2l)
    width = Y_l2r.data.shape[-1]
    data = model.ops.xp.concatenate((Y_l2r.data, Y_r2l.data), axis=-1)
    Y = Padded(data, X.size_at_t, X.lengths, X.indices)

    def backprop(dY: Padded) -> Padded:
        _check_padded(dY)
        if dY.data.shape != data.shape:
            raise ValueError(
                f"bidirectional: gradient shape {dY.data.shape} differs from output shape {data.shape}"
            )
        dY_l2r, dY_r2l = _split(dY, width)
        dX_l2r = backprop_l2r(dY_l2r)
        dX_r2l = _reverse(backprop_r2l(_reverse(dY_r2l)))
        return Padded(dX_l2r.data + dX_r2l.data, dX_l2r.size_at_t, dX_l2r.lengths, dX_l2r.indices)

    return Y, backprop


def init(
    model: Model[Padded, Padded], X: Optional[Padded] = None, Y: Optional[Padded] = None
) -> None:
    l2r, r2l = model.layers
    X_r2l = _reverse(_check_padded(X)) if X is not None else None
    if Y is None:
        l2r.initialize(X=X)
        r2l.initialize(X=X_r2l)
        return
    # Each direction produces half of the output features.
    Y_l2r, Y_r2l = _split(_check_padded(Y), Y.data.shape[-1] // 2)
    l2r.initialize(X=X, Y=Y_l2r)
    r2l.initialize(X=X_r2l, Y=_reverse(Y_r2l))
