"""Dropout: while training, zero a random fraction of the input and rescale the
rest, so that later layers cannot lean on any single feature."""

from typing import Callable, List, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import ArrayXd, Padded, Ragged

InT = TypeVar("InT", bound=object)


@registry.layers("Dropout.v1")
def Dropout(rate: float = 0.0) -> Model[InT, InT]:
    """Drop each entry with probability ``rate`` during training; identity at
    prediction. Accepts an array, a list of arrays, Ragged or Padded."""
    return Model("dropout", forward, attrs={"dropout_rate": rate, "is_enabled": True})


def forward(model: Model[InT, InT], X: InT, is_train: bool) -> Tuple[InT, Callable]:
    rate = model.attrs["dropout_rate"]
    if not is_train or not rate or not model.attrs["is_enabled"]:
        return X, _backprop_identity
    if isinstance(X, Ragged):
        return cast(Tuple[InT, Callable], _dropout_ragged(model, X, rate))
    if isinstance(X, Padded):
        return cast(Tuple[InT, Callable], _dropout_padded(model, X, rate))
    if isinstance(X, list):
        return cast(Tuple[InT, Callable], _dropout_list(model, X, rate))
    if hasattr(X, "shape") and hasattr(X, "dtype"):
        return cast(Tuple[InT, Callable], _dropout_array(model, cast(ArrayXd, X), rate))
    raise TypeError(
        f"Dropout expects an array, a list of arrays, Ragged or Padded, got {type(X).__name__}"
    )


def _backprop_identity(dY):
    return dY


def _dropout_array(model: Model, X: ArrayXd, rate: float) -> Tuple[ArrayXd, Callable]:
    mask = model.ops.get_dropout_mask(X.shape, rate)

    def backprop(dY: ArrayXd) -> ArrayXd:
        return dY * mask

    return X * mask, backprop


def _dropout_list(model: Model, Xs: List[ArrayXd], rate: float) -> Tuple[List, Callable]:
    for X in Xs:
        if not hasattr(X, "shape"):
            raise TypeError(
                f"Dropout expects a list of arrays, got a list containing {type(X).__name__}"
            )
    masks = [model.ops.get_dropout_mask(X.shape, rate) for X in Xs]

    def backprop(dYs: List[ArrayXd]) -> List[ArrayXd]:
        return [dY * mask for dY, mask in zip(dYs, masks)]

    return [X * mask for X, mask in zip(Xs, masks)], backprop


def _dropout_ragged(model: Model, X: Ragged, rate: float) -> Tuple[Ragged, Callable]:
    mask = model.ops.get_dropout_mask(X.dataXd.shape, rate)

    def backprop(dY: Ragged) -> Ragged:
        return Ragged(dY.dataXd * mask, dY.lengths)

    return Ragged(X.dataXd * mask, X.lengths), backprop


def _dropout_padded(model: Model, X: Padded, rate: float) -> Tuple[Padded, Callable]:
    mask = model.ops.get_dropout_mask(X.data.shape, rate)

    def backprop(dY: Padded) -> Padded:
        return Padded(dY.data * mask, dY.size_at_t, dY.lengths, dY.indices)

    return Padded(X.data * mask, X.size_at_t, X.lengths, X.indices), backprop
