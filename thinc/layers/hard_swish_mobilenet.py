"""HardSwishMobilenet: a dense layer followed by MobileNetV3's hard-swish, x * relu6(x + 3) / 6.

Registered as "HardSwishMobilenet.v1"; dropout and normalization are composed with chain()."""

from typing import Callable, Optional, Tuple

from ..config import registry
from ..initializers import he_normal_init
from ..model import Model
from ..types import Floats2d
from ._dense import dense_forward, dense_layer, elementwise


@registry.layers("HardSwishMobilenet.v1")
def HardSwishMobilenet(
    nO: Optional[int] = None,
    nI: Optional[int] = None,
    *,
    init_W: Optional[Callable] = None,
    init_b: Optional[Callable] = None,
    dropout: Optional[float] = None,
    normalize: bool = False,
) -> Model[Floats2d, Floats2d]:
    """A dense layer with MobileNetV3's hard-swish activation."""
    return dense_layer(
        "hardswishmobilenet",
        forward,
        nO,
        nI,
        init_W=init_W or he_normal_init,
        init_b=init_b,
        dropout=dropout,
        normalize=normalize,
    )


def forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    activation = elementwise(ops.hard_swish_mobilenet, ops.backprop_hard_swish_mobilenet)
    return dense_forward(model, X, activation)
