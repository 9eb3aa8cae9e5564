"""``with_signpost_interval``: mark a layer's forward and backward passes as
os_signpost intervals, so they show up in Apple's Instruments profiler."""

from typing import Any, Callable, Optional, Tuple, TypeVar

from ..model import Model

try:
    import os_signpost  # type: ignore[import-not-found]

    has_os_signpost = True
except ImportError:
    os_signpost = None
    has_os_signpost = False

_ModelT = TypeVar("_ModelT", bound=Model)


def with_signpost_interval(
    layer: _ModelT, signposter: "os_signpost.Signposter", name: Optional[str] = None
) -> _ModelT:
    """Wrap ``layer``'s callbacks (in place) in intervals named "<name> forward"
    and "<name> backprop" on ``signposter``; needs the os_signpost package."""
    if not has_os_signpost:
        raise ValueError(
            "with_signpost_interval requires the 'os_signpost' package (pip install os-signpost)"
        )
    if not isinstance(layer, Model):
        raise TypeError(f"with_signpost_interval expects a Model, got {type(layer).__name__}")
    label = layer.name if name is None else name
    original_forward = layer._func
    original_init = layer.init

    def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
        with signposter.use_interval(f"{label} forward"):
            Y, backprop_layer = original_forward(model, X, is_train=is_train)

        def backprop(dY: Any) -> Any:
            with signposter.use_interval(f"{label} backprop"):
                return backprop_layer(dY)

        return Y, backprop

    def init(model: Model, X: Any = None, Y: Any = None) -> Any:
        if original_init is None:
            return None
        with signposter.use_interval(f"{label} init"):
            return original_init(model, X, Y)

    layer.replace_callbacks(forward, init=init)
    return layer
