"""``with_nvtx_range``: mark a layer's forward and backward passes as named NVTX
ranges, so they show up in NVIDIA profilers; does nothing visible without cupy."""

from typing import Any, Callable, Optional, Tuple, TypeVar

from ..model import Model
from ..util import use_nvtx_range

_ModelT = TypeVar("_ModelT", bound=Model)


def with_nvtx_range(
    layer: _ModelT,
    name: Optional[str] = None,
    *,
    forward_color: int = -1,
    backprop_color: int = -1,
) -> _ModelT:
    """Wrap ``layer``'s callbacks (in place) in NVTX ranges named
    "<name> forward" and "<name> backprop"; ``name`` defaults to the layer's."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_nvtx_range expects a Model, got {type(layer).__name__}")
    label = layer.name if name is None else name
    original_forward = layer._func
    original_init = layer.init

    def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
        with use_nvtx_range(f"{label} forward", forward_color):
            Y, backprop_layer = original_forward(model, X, is_train=is_train)

        def backprop(dY: Any) -> Any:
            with use_nvtx_range(f"{label} backprop", backprop_color):
                return backprop_layer(dY)

        return Y, backprop

    def init(model: Model, X: Any = None, Y: Any = None) -> Any:
        if original_init is None:
            return None
        return original_init(model, X, Y)

    layer.replace_callbacks(forward, init=init)
    return layer
