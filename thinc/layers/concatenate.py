"""The ``concatenate`` combinator: feed one input to several layers and join their
outputs along the feature axis; works on arrays, lists of arrays, Ragged and Padded."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import Padded, Ragged
from ..util import get_width
from .noop import noop

InT = TypeVar("InT")
OutT = TypeVar("OutT")
# Named as in thinc so that thinc's mypy plugin recognises the output type.
XY_XY_OutT = TypeVar("XY_XY_OutT")


@registry.layers("concatenate.v1")
def concatenate(*layers: Model) -> Model[InT, XY_XY_OutT]:
    """Compute ``hstack([layer(X) for layer in layers])``. No layers gives
    ``noop()``, one gives that layer, and a leading concatenate absorbs the rest."""
    for position, layer in enumerate(layers):
        if not isinstance(layer, Model):
            raise TypeError(
                f"concatenate() expects Model instances, got {type(layer).__name__} "
                f"at position {position}"
            )
    if not layers:
        return cast(Model[InT, XY_XY_OutT], noop())
    if len(layers) == 1:
        return layers[0]
    if layers[0]._func is forward:
        layers[0].layers.extend(layers[1:])
        return layers[0]
    dims: dict = {"nO": None}
    # A shared nI only makes sense when every child has one.
    if all(layer.has_dim("nI") in (True, None) for layer in layers):
        dims["nI"] = None
    return Model(
        "|".join(layer.name for layer in layers),
        forward,
        init=init,
        dims=dims,
        layers=list(layers),
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    outputs = []
    backprops = []
    for layer in model.layers:
        output, backprop_layer = layer(X, is_train=is_train)
        outputs.append(output)
        backprops.append(backprop_layer)
    first = outputs[0]
    for output in outputs[1:]:
        if type(output) is not type(first):
            raise TypeError(
                f"concatenate: children returned different output types "
                f"({type(first).__name__} and {type(output).__name__})"
            )
    if isinstance(first, Ragged):
        return _ragged_forward(model, outputs, backprops)  # type: ignore[return-value]
    if isinstance(first, Padded):
        return _padded_forward(model, outputs, backprops)  # type: ignore[return-value]
    if isinstance(first, list):
        return _list_forward(model, outputs, backprops)  # type: ignore[return-value]
    return _array_forward(model, outputs, backprops)


def _widths(arrays: List[Any]) -> List[int]:
    return [array.shape[-1] for array in arrays]


def _join(model: Model, arrays: List[Any]) -> Any:
    ndims = {array.ndim for array in arrays}
    if len(ndims) != 1 or 0 in ndims:
        raise ValueError(
            f"concatenate: children's outputs must have one common rank >= 1, "
            f"got shapes {[tuple(array.shape) for array in arrays]}"
        )
    if ndims == {1}:
        # Vectors are joined end to end, as numpy.hstack does.
        return model.ops.xp.concatenate(arrays, axis=0)
    leading = {tuple(array.shape[:-1]) for array in arrays}
    if len(leading) != 1:
        raise ValueError(
            f"concatenate: children's outputs differ in leading shape: "
            f"{[tuple(array.shape) for array in arrays]}"
        )
    return model.ops.xp.concatenate(arrays, axis=-1)


def _sum_into(total: Any, addition: Any) -> Any:
    if isinstance(total, Ragged):
        return Ragged(total.dataXd + addition.dataXd, total.lengths)
    if isinstance(total, Padded):
        return Padded(total.data + addition.data, total.size_at_t, total.lengths, total.indices)
    if isinstance(total, (list, tuple)):
        return [_sum_into(a, b) for a, b in zip(total, addition)]
    return total + addition


def _backprop_pieces(backprops: List[Callable], pieces: List[Any]) -> Any:
    dX = backprops[0](pieces[0])
    for backprop_layer, piece in zip(backprops[1:], pieces[1:]):
        dX = _sum_into(dX, backprop_layer(piece))
    return dX


def _column_slices(widths: List[int]) -> List[slice]:
    slices = []
    start = 0
    for width in widths:
        slices.append(slice(start, start + width))
        start += width
    return slices


def _array_forward(
    model: Model, outputs: List[Any], backprops: List[Callable]
) -> Tuple[Any, Callable]:
    Y = _join(model, outputs)
    if Y.ndim == 1:
        slices = _column_slices([len(output) for output in outputs])

        def backprop_vectors(dY: Any) -> Any:
            return _backprop_pieces(backprops, [dY[piece] for piece in slices])

        return Y, backprop_vectors
    slices = _column_slices(_widths(outputs))

    def backprop(dY: Any) -> Any:
        if dY.shape != Y.shape:
            raise ValueError(
                f"concatenate: gradient shape {tuple(dY.shape)} differs from output shape {tuple(Y.shape)}"
            )
        return _backprop_pieces(backprops, [dY[..., piece] for piece in slices])

    return Y, backprop


def _list_forward(
    model: Model, outputs: List[List[Any]], backprops: List[Callable]
) -> Tuple[List[Any], Callable]:
    n_sequences = len(outputs[0])
    if any(len(output) != n_sequences for output in outputs):
        raise ValueError(
            f"concatenate: children returned lists of different lengths "
            f"{[len(output) for output in outputs]}"
        )
    joined = [_join(model, list(items)) for items in zip(*outputs)]
    slices = _column_slices([output[0].shape[-1] if output else 0 for output in outputs])

    def backprop(dYs: List[Any]) -> Any:
        if len(dYs) != n_sequences:
            raise ValueError(
                f"concatenate: gradient has {len(dYs)} sequences, output had {n_sequences}"
            )
        pieces = [[dY[..., piece] for dY in dYs] for piece in slices]
        return _backprop_pieces(backprops, pieces)

    return joined, backprop


def _ragged_forward(
    model: Model, outputs: List[Ragged], backprops: List[Callable]
) -> Tuple[Ragged, Callable]:
    lengths = outputs[0].lengths
    arrays = [output.dataXd for output in outputs]
    data = _join(model, arrays)
    slices = _column_slices(_widths(arrays))

    def backprop(dY: Ragged) -> Any:
        pieces = [Ragged(dY.dataXd[..., piece], dY.lengths) for piece in slices]
        return _backprop_pieces(backprops, pieces)

    return Ragged(data, lengths), backprop


def _padded_forward(
    model: Model, outputs: List[Padded], backprops: List[Callable]
) -> Tuple[Padded, Callable]:
    first = outputs[0]
    arrays = [output.data for output in outputs]
    data = _join(model, arrays)
    slices = _column_slices(_widths(arrays))

    def backprop(dY: Padded) -> Any:
        pieces = [
            Padded(dY.data[..., piece], dY.size_at_t, dY.lengths, dY.indices) for piece in slices
        ]
        return _backprop_pieces(backprops, pieces)

    return Padded(data, first.size_at_t, first.lengths, first.indices), backprop


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    if X is not None:
        width = get_width(cast(Any, X))
        if model.has_dim("nI") is not False:
            model.set_dim("nI", width)
        for layer in model.layers:
            if layer.has_dim("nI") is not False:
                layer.set_dim("nI", width)
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)
    if all(layer.has_dim("nO") for layer in model.layers):
        model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))
