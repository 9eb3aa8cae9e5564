"""``with_ragged``: let a layer that works on Ragged also take lists of arrays,
Padded, or a (data, lengths) tuple, converting on the way in and back out."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..model import Model
from ..types import Padded, Ragged

RaggedData = Tuple[Any, Any]
SeqT = TypeVar("SeqT", bound=Union[Padded, Ragged, List, RaggedData])


@registry.layers("with_ragged.v1")
def with_ragged(layer: Model[Ragged, Ragged]) -> Model[SeqT, SeqT]:
    """Wrap a Ragged-to-Ragged layer; outputs come back in the input's form."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_ragged expects a Model, got {type(layer).__name__}")
    return Model(f"with_ragged({layer.name})", forward, init=init, layers=[layer])


def forward(model: Model[SeqT, SeqT], Xseq: SeqT, is_train: bool) -> Tuple[SeqT, Callable]:
    layer = model.layers[0]
    if isinstance(Xseq, Ragged):
        return layer(Xseq, is_train=is_train)
    if isinstance(Xseq, Padded):
        return _padded_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    if _is_ragged_data(Xseq):
        return _tuple_forward(layer, cast(RaggedData, Xseq), is_train)  # type: ignore[return-value]
    if isinstance(Xseq, list):
        return _list_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    if getattr(Xseq, "ndim", None) == 3:
        # A 3d array reads as a list of its 2d rows (thinc 8.3 iterates it); the
        # output and gradient come back as lists, as they do there.
        return _list_forward(layer, list(Xseq), is_train)  # type: ignore[return-value]
    raise TypeError(
        f"with_ragged({layer.name}) expects Ragged, Padded, a list of arrays or a "
        f"(data, lengths) tuple, got {type(Xseq).__name__}"
    )


def init(model: Model[SeqT, SeqT], X: Optional[SeqT] = None, Y: Optional[SeqT] = None) -> None:
    model.layers[0].initialize(
        X=_get_ragged(model, X) if X is not None else None,
        Y=_get_ragged(model, Y) if Y is not None else None,
    )


def _is_ragged_data(seq: Any) -> bool:
    return isinstance(seq, tuple) and len(seq) == 2


def _get_ragged(model: Model, seq: Any) -> Ragged:
    if isinstance(seq, Ragged):
        return seq
    if isinstance(seq, Padded):
        arrays = model.ops.padded2list(seq)
        lengths = model.ops.asarray1i([len(array) for array in arrays])
        return Ragged(model.ops.flatten(arrays), lengths)
    if _is_ragged_data(seq):
        return Ragged(*seq)
    if getattr(seq, "ndim", None) == 3:
        seq = list(seq)
    if isinstance(seq, list):
        lengths = model.ops.asarray1i([len(array) for array in seq])
        return Ragged(model.ops.flatten(seq), lengths)
    raise TypeError(f"with_ragged cannot read a {type(seq).__name__} as Ragged")


def _tuple_forward(layer: Model, X: RaggedData, is_train: bool) -> Tuple[RaggedData, Callable]:
    Yr, backprop_layer = layer(Ragged(*X), is_train=is_train)

    def backprop(dY: RaggedData) -> RaggedData:
        dXr = backprop_layer(Ragged(*dY))
        return (dXr.dataXd, dXr.lengths)

    return (Yr.dataXd, Yr.lengths), backprop


def _padded_forward(layer: Model, Xp: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    ops = layer.ops
    Xs = ops.padded2list(Xp)
    # padded2list restores the original order, so these lengths are in that order.
    lengths = ops.asarray1i([len(x) for x in Xs])
    Yr, backprop_layer = layer(Ragged(ops.flatten(Xs), lengths), is_train=is_train)

    def backprop(dYp: Padded) -> Padded:
        dXr = backprop_layer(Ragged(ops.flatten(ops.padded2list(dYp)), lengths))
        return ops.list2padded(cast(Any, ops.unflatten(dXr.dataXd, lengths)))

    return ops.list2padded(cast(Any, ops.unflatten(Yr.dataXd, Yr.lengths))), backprop


def _list_forward(layer: Model, Xs: List, is_train: bool) -> Tuple[List, Callable]:
    ops = layer.ops
    lengths = ops.asarray1i([len(x) for x in Xs])
    Yr, backprop_layer = layer(Ragged(ops.flatten(Xs), lengths), is_train=is_train)

    def backprop(dYs: List) -> List:
        dXr = backprop_layer(Ragged(ops.flatten(dYs), lengths))
        return ops.unflatten(dXr.dataXd, lengths)

    return ops.unflatten(Yr.dataXd, Yr.lengths), backprop
