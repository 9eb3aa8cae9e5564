"""``clone``: a chain of ``n`` copies of one layer, each with its own weights.

The copies are made before anything is initialized, so they start out alike."""

from typing import Any, TypeVar, cast

from ..config import registry
from ..model import Model
from .chain import chain
from .noop import noop

InT = TypeVar("InT")
OutT = TypeVar("OutT")


@registry.layers("clone.v1")
def clone(orig: Model[InT, OutT], n: int) -> Model[InT, OutT]:
    """Chain ``orig`` with ``n - 1`` copies of itself; n=0 gives ``noop()`` and
    n=1 returns ``orig`` unchanged."""
    if not isinstance(orig, Model):
        raise TypeError(f"clone expects a Model, got {type(orig).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"clone expects a non-negative integer count, got {n!r}")
    if n == 0:
        return cast(Model[InT, OutT], noop())
    if n == 1:
        return orig
    layers = [orig] + [orig.copy() for _ in range(n - 1)]
    chained: Any = chain(*layers)  # type: ignore[misc]
    return cast(Model[InT, OutT], chained)
