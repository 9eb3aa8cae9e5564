"""``with_debug``: call user hooks whenever a layer is initialized, run forward or
backpropagated, e.g. to print shapes; the layer itself is otherwise unchanged."""

from typing import Any, Callable, Optional, Tuple, TypeVar

from ..model import Model

_ModelT = TypeVar("_ModelT", bound=Model)


def do_nothing(*args: Any, **kwargs: Any) -> None:
    return None


def with_debug(
    layer: _ModelT,
    name: Optional[str] = None,
    *,
    on_init: Callable[[Model, Any, Any], None] = do_nothing,
    on_forward: Callable[[Model, Any, bool], None] = do_nothing,
    on_backprop: Callable[[Any], None] = do_nothing,
) -> _ModelT:
    """Install the hooks on ``layer`` (in place) and return it. ``name`` is
    accepted for symmetry with the other debugging wrappers."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_debug expects a Model, got {type(layer).__name__}")
    original_forward = layer._func
    original_init = layer.init

    def debug_forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
        on_forward(model, X, is_train)
        Y, backprop_layer = original_forward(model, X, is_train=is_train)

        def debug_backprop(dY: Any) -> Any:
            on_backprop(dY)
            return backprop_layer(dY)

        return Y, debug_backprop

    def debug_init(model: Model, X: Any = None, Y: Any = None) -> Any:
        on_init(model, X, Y)
        if original_init is None:
            return None
        return original_init(model, X, Y)

    layer.replace_callbacks(debug_forward, init=debug_init)
    return layer
