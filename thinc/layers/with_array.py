"""``with_array``: let a layer that works on one array also take a list of arrays,
a Ragged or a Padded, by running it on the concatenated data and splitting back."""

from typing import Any, Callable, List, Optional, Tuple, TypeVar, Union

from ..config import registry
from ..model import Model
from ..types import ArrayXd, Padded, Ragged

ArrayTXd = TypeVar("ArrayTXd", bound=ArrayXd)
SeqT = TypeVar("SeqT", bound=Union[Padded, Ragged, List, ArrayXd])


@registry.layers("with_array.v1")
def with_array(layer: Model[ArrayTXd, ArrayTXd], pad: int = 0) -> Model[SeqT, SeqT]:
    """Wrap ``layer`` so it also accepts lists (joined with ``pad`` zero rows
    between items), Ragged (its data) and Padded (its 3d data, unchanged)."""
    return wrap_layer("with_array", layer, pad, forward, init)


def wrap_layer(
    factory_name: str, layer: Model, pad: int, forward: Callable, init: Callable
) -> Model:
    """The node that with_array and with_array2d both build around ``layer``
    (thinc names either one "with_array(...)"), mirroring the layer's dims."""
    if not isinstance(layer, Model):
        raise TypeError(f"{factory_name} expects a Model, got {type(layer).__name__}")
    return Model(
        f"with_array({layer.name})",
        forward,
        init=init,
        layers=[layer],
        attrs={"pad": pad},
        dims={name: layer.maybe_get_dim(name) for name in layer.dim_names},
    )


def forward(model: Model[SeqT, SeqT], Xseq: SeqT, is_train: bool) -> Tuple[SeqT, Callable]:
    if isinstance(Xseq, Ragged):
        return ragged_forward(model, Xseq, is_train)  # type: ignore[return-value]
    if isinstance(Xseq, Padded):
        return _padded_forward(model, Xseq, is_train)  # type: ignore[return-value]
    if isinstance(Xseq, (list, tuple)):
        return list_forward(model, Xseq, is_train)  # type: ignore[return-value]
    if not hasattr(Xseq, "shape"):
        raise TypeError(
            f"with_array({model.layers[0].name}) expects an array, a list of arrays, "
            f"Ragged or Padded, got {type(Xseq).__name__}"
        )
    return model.layers[0](Xseq, is_train=is_train)


def init(model: Model[SeqT, SeqT], X: Optional[SeqT] = None, Y: Optional[SeqT] = None) -> None:
    initialize_inner(model, _get_array, X, Y)


def initialize_inner(
    model: Model, get_array: Callable[[Model, Any], Any], X: Any = None, Y: Any = None
) -> None:
    """Initialize the wrapped layer on ``get_array``'s view of the sample data,
    then copy the dims it settled on up to the wrapper."""
    layer = model.layers[0]
    layer.initialize(
        X=get_array(model, X) if X is not None else None,
        Y=get_array(model, Y) if Y is not None else None,
    )
    for name in layer.dim_names:
        value = layer.maybe_get_dim(name)
        if value is not None:
            model.set_dim(name, value)


def _get_array(model: Model, X: Any) -> Any:
    if isinstance(X, Ragged):
        return X.dataXd
    if isinstance(X, Padded):
        return X.data
    if isinstance(X, (list, tuple)):
        return model.ops.flatten(list(X))
    return X


def list_forward(model: Model, Xs: Any, is_train: bool) -> Tuple[List, Callable]:
    """Run the layer once on the items joined with ``pad`` zero rows between them."""
    layer = model.layers[0]
    pad = model.attrs["pad"]
    lengths = layer.ops.asarray1i([len(item) for item in Xs])
    Yf, backprop_layer = layer(layer.ops.flatten(list(Xs), pad=pad), is_train=is_train)

    def backprop(dYs: List) -> List:
        dYf = layer.ops.flatten(list(dYs), pad=pad)
        return layer.ops.unflatten(backprop_layer(dYf), lengths, pad=pad)

    return layer.ops.unflatten(Yf, lengths, pad=pad), backprop


def ragged_forward(
    model: Model, Xr: Ragged, is_train: bool, *, as_2d: bool = False
) -> Tuple[Ragged, Callable]:
    """Run the layer on the Ragged's data: dataXd as it is, or with ``as_2d`` its
    2d view (Ragged.data), and wrap the output with the same lengths."""
    layer = model.layers[0]

    def data(ragged: Ragged) -> Any:
        return ragged.data if as_2d else ragged.dataXd

    Y, backprop_layer = layer(data(Xr), is_train=is_train)

    def backprop(dYr: Ragged) -> Ragged:
        return Ragged(backprop_layer(data(dYr)), dYr.lengths)

    return Ragged(Y, Xr.lengths), backprop


def _padded_forward(model: Model, Xp: Padded, is_train: bool) -> Tuple[Padded, Callable]:
    layer = model.layers[0]
    Y, backprop_layer = layer(Xp.data, is_train=is_train)

    def backprop(dYp: Padded) -> Padded:
        return Padded(backprop_layer(dYp.data), dYp.size_at_t, dYp.lengths, dYp.indices)

    return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices), backprop
