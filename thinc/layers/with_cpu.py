"""``with_cpu``: run a layer on the CPU inside a model whose other layers may live
on a GPU, moving arrays to numpy on the way in and back to ``ops`` on the way out."""

from typing import Any, Callable, Optional, Tuple, cast

import numpy

from ..backends.ops import Ops
from ..config import registry
from ..model import Model
from ..types import Padded, Ragged


@registry.layers("with_cpu.v1")
def with_cpu(layer: Model, ops: Ops) -> Model:
    """Move ``layer`` to the CPU; the wrapper itself uses ``ops``, so its outputs
    come back as that backend's arrays."""
    if not isinstance(layer, Model):
        raise TypeError(f"with_cpu expects a Model, got {type(layer).__name__}")
    if not isinstance(ops, Ops):
        raise TypeError(f"with_cpu expects an Ops instance, got {type(ops).__name__}")
    layer.to_cpu()
    return Model(
        f"with_cpu({layer.name})",
        forward,
        init=init,
        layers=[layer],
        ops=ops,
        dims={name: layer.maybe_get_dim(name) for name in layer.dim_names},
    )


def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    cpu_Y, backprop_layer = model.layers[0](_to_cpu(X), is_train=is_train)

    def backprop(dY: Any) -> Any:
        return backprop_layer(_to_cpu(dY))

    return _to_device(model.ops, cpu_Y), backprop


def init(model: Model, X: Optional[Any] = None, Y: Optional[Any] = None) -> None:
    model.layers[0].initialize(
        X=_to_cpu(X) if X is not None else None, Y=_to_cpu(Y) if Y is not None else None
    )


def _to_cpu(X: Any) -> Any:
    if isinstance(X, numpy.ndarray):
        return X
    if isinstance(X, Ragged):
        return Ragged(_to_cpu(X.dataXd), _to_cpu(X.lengths))
    if isinstance(X, Padded):
        return Padded(*(_to_cpu(part) for part in (X.data, X.size_at_t, X.lengths, X.indices)))
    if isinstance(X, tuple):
        return tuple(_to_cpu(item) for item in X)
    if isinstance(X, list):
        return [_to_cpu(item) for item in X]
    if hasattr(X, "get") and hasattr(X, "shape"):
        # cupy arrays copy themselves to the host with .get().
        return X.get()
    return X


def _to_device(ops: Ops, X: Any) -> Any:
    if isinstance(X, numpy.ndarray):
        return ops.asarray(cast(Any, X))
    if isinstance(X, Ragged):
        return Ragged(_to_device(ops, X.dataXd), _to_device(ops, X.lengths))
    if isinstance(X, Padded):
        return Padded(
            *(_to_device(ops, part) for part in (X.data, X.size_at_t, X.lengths, X.indices))
        )
    if isinstance(X, tuple):
        return tuple(_to_device(ops, item) for item in X)
    if isinstance(X, list):
        return [_to_device(ops, item) for item in X]
    return X
