"""``with_array2d``: like ``with_array``, but always hands the layer a 2d array,
flattening Padded's (time, batch, feature) data to rows and back."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union

from ..config import registry
from ..model import Model
from ..types import Array2d, Padded, Ragged
from .with_array import initialize_inner, list_forward, ragged_forward, wrap_layer
from .with_reshape import fold_leading_axes

ValT = TypeVar("ValT", bound=Array2d)
SeqT = TypeVar("SeqT", bound=Union[Padded, Ragged, List, Array2d])


@registry.layers("with_array2d.v1")
def with_array2d(layer: Model[ValT, ValT], pad: int = 0) -> Model[SeqT, SeqT]:
    """Wrap a 2d-array layer so it also accepts lists of 2d arrays (joined with
    ``pad`` zero rows between items), Ragged and Padded."""
    return wrap_layer("with_array2d", layer, pad, forward, init)


def forward(model: Model[SeqT, SeqT], Xseq: SeqT, is_train: bool) -> Tuple[SeqT, Callable]:
    if isinstance(Xseq, Ragged):
        return ragged_forward(model, Xseq, is_train, as_2d=True)  # type: ignore[return-value]
    if isinstance(Xseq, Padded):
        return _padded_forward(model, Xseq, is_train)  # type: ignore[return-value]
    if isinstance(Xseq, (list, tuple)):
        return _list_forward(model, Xseq, is_train)  # type: ignore[return-value]
    if getattr(Xseq, "ndim", None) != 2:
        raise TypeError(
            f"with_array2d({model.layers[0].name}) expects a 2d array, a list of 2d arrays, "
            f"Ragged or Padded, got {_describe(Xseq)}"
        )
    return model.layers[0](Xseq, is_train=is_train)


def _describe(X: Any) -> str:
    shape = getattr(X, "shape", None)
    return (
        f"{type(X).__name__} with shape {tuple(shape)}" if shape is not None else type(X).__name__
    )


def init(model: Model[SeqT, SeqT], X: Optional[SeqT] = None, Y: Optional[SeqT] = None) -> None:
    initialize_inner(model, _get_array, X, Y)


def _get_array(model: Model, X: Any) -> Any:
    if isinstance(X, Ragged):
        return X.data
    if isinstance(X, Padded):
        return fold_leading_axes(model, X.data)
    if isinstance(X, (list, tuple)):
        return model.ops.flatten(list(X))
    return X


def _list_forward(model: Model, Xs: Any, is_train: bool) -> Tuple[List, Callable]:
    for position, item in enumerate(Xs):
        if getattr(item, "ndim", None) != 2:
            raise TypeError(
                f"with_array2d expects a list of 2d arrays, got {_describe(item)} at position {position}"
            )
    return list_forward(model, Xs, is_train)


def _padded_forward(model: Model, Xp: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    layer = model.layers[0]
    n_steps, n_sequences, _ = Xp.data.shape
    X2d = fold_leading_axes(model, Xp.data)
    Y2d, backprop_layer = layer(X2d, is_train=is_train)
    Y = model.ops.reshape3(Y2d, n_steps, n_sequences, Y2d.shape[1])

    def backprop(dYp: Padded) -> Padded:
        dY2d = fold_leading_axes(model, dYp.data)
        dX2d = backprop_layer(dY2d)
        dX = model.ops.reshape3(dX2d, n_steps, n_sequences, dX2d.shape[1])
        return Padded(dX, dYp.size_at_t, dYp.lengths, dYp.indices)

    return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices), backprop
