"""thinc 7 style optimizers: ``sgd(weights, gradient, key=...)`` updates the
weights in place and zeroes the gradient. They also accept the thinc 8 call."""

from typing import Any, Hashable, Optional

from .. import optimizers as _optimizers


class LegacyOptimizer:
    """Wraps a thinc 8 Optimizer; called either way:
    ``opt(weights, gradient, key=...)`` (thinc 7) or ``opt(key, weights, gradient)``."""

    def __init__(self, optimizer: _optimizers.Optimizer) -> None:
        self.optimizer = optimizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)

    def __call__(self, *args: Any, key: Optional[Hashable] = None, lr_scale: float = 1.0):
        if len(args) == 3 and not hasattr(args[0], "shape"):
            return self.optimizer(*args, lr_scale=lr_scale)
        if len(args) != 2:
            raise TypeError("call a thinc 7 optimizer as sgd(weights, gradient, key=...)")
        weights, gradient = args
        param_key = (
            key if isinstance(key, tuple) else (0, f"legacy:{id(weights) if key is None else key}")
        )
        new_weights, _ = self.optimizer(param_key, weights, gradient, lr_scale=lr_scale)
        if new_weights is not weights:
            weights[...] = new_weights
        gradient.fill(0)
        return weights, gradient


def _accept_ops_first(args: tuple) -> tuple:
    # thinc 7 signatures took the ops first: Adam(ops, learn_rate, ...).
    from ..backends.ops import Ops

    if args and isinstance(args[0], Ops):
        return args[1:]
    return args


def Adam(*args: Any, **kwargs: Any) -> LegacyOptimizer:
    return LegacyOptimizer(_optimizers.Adam(*_accept_ops_first(args), **kwargs))


def SGD(*args: Any, **kwargs: Any) -> LegacyOptimizer:
    return LegacyOptimizer(_optimizers.SGD(*_accept_ops_first(args), **kwargs))


def RAdam(*args: Any, **kwargs: Any) -> LegacyOptimizer:
    return LegacyOptimizer(_optimizers.RAdam(*_accept_ops_first(args), **kwargs))
