"""``resizable``: a wrapper whose output layer can grow new output classes later
(``resize_model``), keeping the weights it has learned for the existing ones."""

from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

from ..config import registry
from ..model import Model
from ..types import Floats2d

InT = TypeVar("InT")
OutT = TypeVar("OutT")


@registry.layers("resizable.v1")
def resizable(layer: Model, resize_layer: Callable) -> Model[InT, OutT]:
    """Wrap ``layer``; ``resize_layer(layer, new_nO)`` must return the grown layer
    (e.g. ``resize_linear_weighted``)."""
    if not isinstance(layer, Model):
        raise TypeError(f"resizable expects a Model, got {type(layer).__name__}")
    if not callable(resize_layer):
        raise TypeError(
            f"resizable expects a callable resize_layer, got {type(resize_layer).__name__}"
        )
    return Model(
        f"resizable({layer.name})",
        forward,
        init=init,
        layers=[layer],
        attrs={"resize_layer": resize_layer},
        dims={name: layer.maybe_get_dim(name) for name in layer.dim_names},
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    return model.layers[0](X, is_train=is_train)


def init(model: Model[InT, OutT], X: Optional[InT] = None, Y: Optional[OutT] = None) -> None:
    model.layers[0].initialize(X=X, Y=Y)


def resize_model(model: Model[InT, OutT], new_nO: int) -> Model[InT, OutT]:
    """Replace the wrapped layer by one with ``new_nO`` outputs, in place."""
    if "resize_layer" not in model.attrs:
        raise ValueError(
            f"resize_model: model '{model.name}' is not resizable (no 'resize_layer' attr)"
        )
    model.layers[0] = model.attrs["resize_layer"](model.layers[0], new_nO)
    return model


def resize_linear_weighted(
    layer: Model[Floats2d, Floats2d],
    new_nO: int,
    *,
    fill_defaults: Optional[Dict[str, float]] = None,
) -> Model[Floats2d, Floats2d]:
    """Grow a layer with params W (nO, nI) and b (nO,) to ``new_nO`` outputs.
    Old rows are kept; new rows are zero, or ``fill_defaults[param]``."""
    if layer.layers:
        raise ValueError(
            f"resize_linear_weighted needs a single weights layer, got '{layer.name}' with children"
        )
    if layer.has_dim("nO") is None or (not layer.has_param("W") and not layer.has_dim("nI")):
        # Nothing allocated yet: the layer will simply be built at the new size
        # (its nI may not be known yet, as in spaCy's lazily initialized textcat).
        layer.set_dim("nO", new_nO, force=True)
        return layer
    old_nO = layer.get_dim("nO")
    if new_nO == old_nO:
        return layer
    if new_nO < old_nO:
        raise ValueError(
            f"resize_linear_weighted can only grow layer '{layer.name}': nO {old_nO} -> {new_nO}"
        )
    fills = fill_defaults or {}
    dims: Dict[str, Any] = {name: layer.maybe_get_dim(name) for name in layer.dim_names}
    dims["nO"] = new_nO
    resized: Model = Model(
        layer.name,
        layer._func,
        init=layer.init,
        dims=dims,
        params={name: None for name in layer.param_names},
        attrs=dict(layer.attrs),
        ops=layer.ops,
    )
    if not layer.has_param("W"):
        resized.initialize()
        return resized
    for name in ("W", "b"):
        if not layer.has_param(name):
            continue
        old = layer.get_param(name)
        if old.ndim == 1 and old.shape[0] != old_nO:
            # A flat W of nO blocks (SparseLinear's, which spaCy's textcat resizes):
            # the old blocks lead, as rows do in a 2d W.
            old_extent = old.shape[0]
            grown = layer.ops.alloc((old_extent // old_nO * new_nO,), dtype=old.dtype)
        else:
            old_extent = old_nO
            grown = layer.ops.alloc((new_nO,) + tuple(old.shape[1:]), dtype=old.dtype)
        if name in fills:
            grown[old_extent:] = fills[name]
        grown[:old_extent] = old
        resized.set_param(name, grown)
    return resized
