"""``with_padded``: let a layer that works on Padded batches (e.g. an LSTM) also
take lists of arrays, Ragged, a (data, size_at_t, lengths, indices) tuple or a 3d array."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union, cast

from ..config import registry
from ..model import Model
from ..types import Floats3d, Padded, Ragged
from ..util import is_xp_array

PaddedData = Tuple[Floats3d, Any, Any, Any]
SeqT = TypeVar("SeqT", bound=Union[Padded, Ragged, List, Floats3d, PaddedData])


@registry.layers("with_padded.v1")
def with_padded(layer: Model[Padded, Padded]) -> Model[SeqT, SeqT]:
    """Wrap a Padded-to-Padded layer; outputs come back in the input's form.
    A bare 3d array is read as (time, batch, feature) with every sequence full."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_padded expects a Model, got {type(layer).__name__}")
    return Model(
        f"with_padded({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={name: layer.maybe_get_dim(name) for name in layer.dim_names},
    )


def forward(model: Model[SeqT, SeqT], Xseq: SeqT, is_train: bool) -> Tuple[SeqT, Callable]:
    layer = model.layers[0]
    if isinstance(Xseq, Padded):
        return layer(Xseq, is_train=is_train)
    if isinstance(Xseq, Ragged):
        return _ragged_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    if _is_padded_data(Xseq):
        return _tuple_forward(layer, cast(PaddedData, Xseq), is_train)  # type: ignore[return-value]
    if is_xp_array(Xseq):
        return _array_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    if isinstance(Xseq, list):
        return _list_forward(layer, Xseq, is_train)  # type: ignore[return-value]
    raise TypeError(
        f"with_padded({layer.name}) expects Padded, Ragged, a list of arrays, a 3d array "
        f"or a (data, size_at_t, lengths, indices) tuple, got {type(Xseq).__name__}"
    )


def init(model: Model[SeqT, SeqT], X: Optional[SeqT] = None, Y: Optional[SeqT] = None) -> None:
    model.layers[0].initialize(
        X=_get_padded(model, X) if X is not None else None,
        Y=_get_padded(model, Y) if Y is not None else None,
    )


def _is_padded_data(seq: Any) -> bool:
    return isinstance(seq, tuple) and len(seq) == 4 and all(map(is_xp_array, seq))


def _get_padded(model: Model, seq: Any) -> Padded:
    if isinstance(seq, Padded):
        return seq
    if isinstance(seq, Ragged):
        return model.ops.list2padded(cast(Any, model.ops.unflatten(seq.dataXd, seq.lengths)))
    if _is_padded_data(seq):
        return Padded(*seq)
    if is_xp_array(seq):
        return _array_as_padded(model, seq)
    if isinstance(seq, list):
        return model.ops.list2padded(seq)
    raise TypeError(f"with_padded cannot read a {type(seq).__name__} as Padded")


def _array_as_padded(model: Model, X: Any) -> Padded:
    if X.ndim != 3:
        raise ValueError(
            f"with_padded expects a 3d (time, batch, feature) array, got shape {tuple(X.shape)}"
        )
    n_steps, n_sequences = X.shape[0], X.shape[1]
    # Every sequence spans every step, so the metadata is the trivial one.
    size_at_t = model.ops.asarray1i([n_sequences] * n_steps)
    lengths = model.ops.asarray1i([n_steps] * n_sequences)
    indices = model.ops.asarray1i(list(range(n_sequences)))
    return Padded(X, size_at_t, lengths, indices)


def _array_forward(layer: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    Xp = _array_as_padded(layer, X)
    Yp, backprop_layer = layer(Xp, is_train=is_train)

    def backprop(dY: Any) -> Any:
        return backprop_layer(Padded(dY, Xp.size_at_t, Xp.lengths, Xp.indices)).data

    return Yp.data, backprop


def _tuple_forward(layer: Model, X: PaddedData, is_train: bool) -> Tuple[PaddedData, Callable]:
    Yp, backprop_layer = layer(Padded(*X), is_train=is_train)

    def backprop(dY: PaddedData) -> PaddedData:
        dXp = backprop_layer(Padded(*dY))
        return (dXp.data, dXp.size_at_t, dXp.lengths, dXp.indices)

    return (Yp.data, Yp.size_at_t, Yp.lengths, Yp.indices), backprop


def _ragged_forward(layer: Model, Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    ops = layer.ops
    # Nested calls rather than temporaries, so big intermediates are freed early.
    Yp, backprop_layer = layer(
        ops.list2padded(cast(Any, ops.unflatten(Xr.dataXd, Xr.lengths))), is_train=is_train
    )

    def backprop(dYr: Ragged) -> Ragged:
        dXp = backprop_layer(ops.list2padded(cast(Any, ops.unflatten(dYr.dataXd, dYr.lengths))))
        return Ragged(ops.flatten(ops.padded2list(dXp)), dYr.lengths)

    return Ragged(ops.flatten(ops.padded2list(Yp)), Xr.lengths), backprop


def _list_forward(layer: Model, Xs: List, is_train: bool) -> Tuple[List, Callable]:
    ops = layer.ops
    Yp, backprop_layer = layer(ops.list2padded(Xs), is_train=is_train)

    def backprop(dYs: List) -> List:
        return ops.padded2list(backprop_layer(ops.list2padded(dYs)))

    return ops.padded2list(Yp), backprop
