"""``expand_window``: give each row the features of its neighbours, so a plain
feed-forward layer after it sees a window of ``2 * window_size + 1`` rows."""

from typing import Any, Callable, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import Floats2d, Ragged

InT = TypeVar("InT", Floats2d, Ragged)


@registry.layers("expand_window.v1")
def expand_window(window_size: int = 1) -> Model[InT, InT]:
    """Concatenate each row with the ``window_size`` rows before and after it
    (zeros past the edges); on Ragged input, windows stop at sequence bounds."""
    if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 0:
        raise ValueError(
            f"expand_window expects a non-negative integer window_size, got {window_size!r}"
        )
    return Model("expand_window", forward, attrs={"window_size": window_size})


def forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    if isinstance(X, Ragged):
        return _expand_ragged(model, X)  # type: ignore[return-value]
    if not hasattr(X, "ndim") or X.ndim != 2:
        raise TypeError(f"expand_window expects a 2d float array or Ragged, got {_describe(X)}")
    return _expand_array(model, X)  # type: ignore[return-value]


def _describe(X: object) -> str:
    shape = getattr(X, "shape", None)
    return (
        f"{type(X).__name__} with shape {tuple(shape)}" if shape is not None else type(X).__name__
    )


def _expand_array(model: Model, X: Floats2d) -> Tuple[Floats2d, Callable]:
    nW = model.attrs["window_size"]
    if len(X) == 0:
        # seq2col needs at least one row; an empty batch stays empty but widens.
        Y = model.ops.alloc2f(0, X.shape[1] * (2 * nW + 1), dtype=X.dtype)

        def backprop_empty(dY: Floats2d) -> Floats2d:
            return model.ops.alloc2f(0, X.shape[1], dtype=dY.dtype)

        return Y, backprop_empty
    Y = model.ops.seq2col(X, nW)

    def backprop(dY: Floats2d) -> Floats2d:
        if dY.shape != Y.shape:
            raise ValueError(
                f"expand_window: gradient shape {tuple(dY.shape)} differs from output shape {tuple(Y.shape)}"
            )
        return model.ops.backprop_seq2col(dY, nW)

    return Y, backprop


def _expand_ragged(model: Model, Xr: Ragged) -> Tuple[Ragged, Callable]:
    nW = model.attrs["window_size"]
    lengths = Xr.lengths
    Y = Ragged(model.ops.seq2col(cast(Any, Xr.dataXd), nW, lengths=lengths), lengths)

    def backprop(dYr: Ragged) -> Ragged:
        return Ragged(
            model.ops.backprop_seq2col(cast(Any, dYr.dataXd), nW, lengths=lengths), lengths
        )

    return Y, backprop
