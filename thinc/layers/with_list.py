"""``with_list``: let a layer that works on a list of 2d arrays also take a Ragged
or a Padded, converting to a list on the way in and back on the way out."""

from typing import Any, Callable, Optional, Tuple, TypeVar, Union

from ..config import registry
from ..model import Model
from ..types import List2d, Padded, Ragged

SeqT = TypeVar("SeqT", bound=Union[Padded, Ragged, List2d])


@registry.layers("with_list.v1")
def with_list(layer: Model[List2d, List2d]) -> Model[SeqT, SeqT]:
    """Wrap a list-of-arrays layer so it also accepts Ragged and Padded."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_list expects a Model, got {type(layer).__name__}")
    return Model(
        f"with_list({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={name: layer.maybe_get_dim(name) for name in layer.dim_names},
    )


def forward(model: Model[SeqT, SeqT], Xseq: SeqT, is_train: bool) -> Tuple[SeqT, Callable]:
    layer = model.layers[0]
    if isinstance(Xseq, Padded):
        return _padded_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    if isinstance(Xseq, Ragged):
        return _ragged_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    # Anything else (a list, a tuple, an array of sequences) goes to the layer as it is,
    # as thinc 8.3 does: the layer decides what it accepts.
    return layer(Xseq, is_train=is_train)


def init(model: Model[SeqT, SeqT], X: Optional[SeqT] = None, Y: Optional[SeqT] = None) -> None:
    model.layers[0].initialize(
        X=_get_list(model, X) if X is not None else None,
        Y=_get_list(model, Y) if Y is not None else None,
    )


def _get_list(model: Model, seq: Any) -> Any:
    if isinstance(seq, Padded):
        return model.ops.padded2list(seq)
    if isinstance(seq, Ragged):
        return model.ops.unflatten(seq.dataXd, seq.lengths)
    return seq


def _ragged_forward(layer: Model, Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    unflatten = layer.ops.unflatten
    flatten = layer.ops.flatten
    Ys, backprop_layer = layer(unflatten(Xr.dataXd, Xr.lengths), is_train=is_train)

    def backprop(dYr: Ragged) -> Ragged:
        dXs = backprop_layer(unflatten(dYr.dataXd, dYr.lengths))
        return Ragged(flatten(dXs), dYr.lengths)

    return Ragged(flatten(Ys), Xr.lengths), backprop


def _padded_forward(layer: Model, Xp: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    Ys, backprop_layer = layer(layer.ops.padded2list(Xp), is_train=is_train)

    def backprop(dYp: Padded) -> Padded:
        dXs = backprop_layer(layer.ops.padded2list(dYp))
        return layer.ops.list2padded(dXs)

    return layer.ops.list2padded(Ys), backprop
