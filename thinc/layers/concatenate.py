"""The ``concatenate`` combinator: feed one input to several layers and join their
outputs along the feature axis; works on arrays, lists of arrays, Ragged and Padded."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, cast

from ..config import registry
from ..model import Model
from ..types import Padded, Ragged, XY_XY_OutT  # thinc/mypy.py recognises XY_XY_OutT
from ..util import get_width
from ._fan_out import run_each, set_dim_where_declared
from .noop import noop

InT = TypeVar("InT")
OutT = TypeVar("OutT")


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
    if not model.layers:
        return X, lambda dY: dY  # type: ignore[return-value]
    outputs, backprops = run_each(model.layers, X, is_train)
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


def _feature_axis(array: Any) -> int:
    # As numpy.hstack: vectors are joined end to end, anything else along axis 1.
    return 0 if array.ndim == 1 else 1


def _join(model: Model, arrays: List[Any], axis: int) -> Any:
    shapes = [tuple(array.shape) for array in arrays]
    if len({len(shape) for shape in shapes}) != 1 or not shapes[0]:
        raise ValueError(
            f"concatenate: children's outputs must have one common rank >= 1, got shapes {shapes}"
        )
    others = {shape[:axis] + shape[axis + 1 :] for shape in shapes}
    if len(others) != 1:
        raise ValueError(
            f"concatenate: children's outputs can only differ along axis {axis}, got shapes {shapes}"
        )
    return model.ops.xp.concatenate(arrays, axis=axis)


def _slices(arrays: List[Any], axis: int) -> List[Tuple[slice, ...]]:
    """Index tuples that cut each child's part back out of the joined array."""
    indices = []
    start = 0
    for array in arrays:
        width = array.shape[axis]
        indices.append((slice(None),) * axis + (slice(start, start + width),))
        start += width
    return indices


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


def _check_gradient(dY: Any, Y: Any) -> None:
    if tuple(getattr(dY, "shape", ())) != tuple(Y.shape):
        raise ValueError(
            f"concatenate: gradient shape {tuple(getattr(dY, 'shape', ()))} differs "
            f"from output shape {tuple(Y.shape)}"
        )


def _array_forward(
    model: Model, outputs: List[Any], backprops: List[Callable]
) -> Tuple[Any, Callable]:
    axis = _feature_axis(outputs[0])
    Y = _join(model, outputs, axis)
    parts = _slices(outputs, axis)

    def backprop(dY: Any) -> Any:
        _check_gradient(dY, Y)
        return _backprop_pieces(backprops, [dY[part] for part in parts])

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
    joined = []
    parts = []
    for items in zip(*outputs):
        axis = _feature_axis(items[0])
        joined.append(_join(model, list(items), axis))
        parts.append(_slices(list(items), axis))

    def backprop(dYs: List[Any]) -> Any:
        if len(dYs) != n_sequences:
            raise ValueError(
                f"concatenate: gradient has {len(dYs)} sequences, output had {n_sequences}"
            )
        for dY, Y in zip(dYs, joined):
            _check_gradient(dY, Y)
        pieces = [
            [dY[sequence_parts[child]] for dY, sequence_parts in zip(dYs, parts)]
            for child in range(len(backprops))
        ]
        return _backprop_pieces(backprops, pieces)

    return joined, backprop


def _ragged_forward(
    model: Model, outputs: List[Ragged], backprops: List[Callable]
) -> Tuple[Ragged, Callable]:
    lengths = outputs[0].lengths
    # Like thinc 8.3.14, join the 2d views, so wider rows come back flattened.
    arrays = [output.data for output in outputs]
    shapes = [tuple(output.dataXd.shape) for output in outputs]
    data = _join(model, arrays, 1)
    parts = _slices(arrays, 1)

    def backprop(dY: Ragged) -> Any:
        _check_gradient(dY.data, data)
        pieces = [
            Ragged(dY.data[part].reshape(shape), dY.lengths) for part, shape in zip(parts, shapes)
        ]
        return _backprop_pieces(backprops, pieces)

    return Ragged(data, lengths), backprop


def _padded_forward(
    model: Model, outputs: List[Padded], backprops: List[Callable]
) -> Tuple[Padded, Callable]:
    first = outputs[0]
    arrays = [output.data for output in outputs]
    data = _join(model, arrays, arrays[0].ndim - 1)
    parts = _slices(arrays, arrays[0].ndim - 1)

    def backprop(dY: Padded) -> Any:
        _check_gradient(dY.data, data)
        pieces = [Padded(dY.data[part], dY.size_at_t, dY.lengths, dY.indices) for part in parts]
        return _backprop_pieces(backprops, pieces)

    return Padded(data, first.size_at_t, first.lengths, first.indices), backprop


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    # Only measure X where some nI needs it: spaCy passes lists of Docs, which have
    # no width, to concatenations of layers that featurize Docs themselves.
    needs_width = any(node.has_dim("nI") is not False for node in [model, *model.layers])
    if X is not None and needs_width:
        set_dim_where_declared(model, "nI", get_width(cast(Any, X)))
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)
    if all(layer.has_dim("nO") for layer in model.layers):
        model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))
