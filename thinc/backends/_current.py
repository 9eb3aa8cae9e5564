"""Which Ops backend is current: one per thread and per asyncio task (a
ContextVar); new threads start from the process default, set from the main thread."""

import asyncio
import contextlib
import contextvars
import threading
from typing import Dict, Iterator, Optional, Type

from .._frameworks import is_cupy_array
from ..config import registry
from .cupy_ops import CupyOps
from .numpy_ops import NumpyOps
from .ops import Ops

# Short names accepted by get_ops besides each class's own ``name``.
_ALIASES: Dict[str, str] = {"cpu": "numpy", "gpu": "cupy", "apple": "mps"}

context_ops: contextvars.ContextVar[Optional[Ops]] = contextvars.ContextVar(
    "thinc_current_ops", default=None
)
_process_default: Dict[str, Optional[Ops]] = {"ops": None}
_default_lock = threading.Lock()
# What set_current_ops last set in each thread, whatever the task: lets callers
# notice a context that lost its ops (e.g. a notebook cell run in a new context).
_thread_state = threading.local()


def _in_async_task() -> bool:
    try:
        return asyncio.current_task() is not None
    except RuntimeError:
        return False


def _sets_process_default() -> bool:
    # Only the main thread outside any task decides what fresh threads start with.
    return threading.current_thread() is threading.main_thread() and not _in_async_task()


def get_ops(name: str, **kwargs) -> Ops:
    """Create an Ops backend by its name ("numpy", "cupy", "mps", "cpu", "gpu")
    or by its registered class name ("NumpyOps", ...)."""
    ops_classes = registry.ops.get_all()
    if name in ops_classes:
        return ops_classes[name](**kwargs)
    wanted = _ALIASES.get(name, name)
    if wanted == "numpy":
        # A faster CPU backend from an installed plug-in takes precedence.
        wanted_cls: Optional[Type[Ops]] = _best_cpu_ops_class()
        return wanted_cls(**kwargs)
    for cls in ops_classes.values():
        if getattr(cls, "name", None) == wanted:
            return cls(**kwargs)
    known = sorted({getattr(c, "name", k) for k, c in ops_classes.items()} | set(_ALIASES))
    raise ValueError(f"Invalid ops name '{name}'. Known backends: {', '.join(known)}")


def _best_cpu_ops_class() -> Type[Ops]:
    ops_classes = registry.ops.get_all()
    for plugin in ("AppleOps", "BigEndianOps"):
        if plugin in ops_classes:
            return ops_classes[plugin]
    return NumpyOps


def get_array_ops(arr) -> Ops:
    """The Ops that owns arrays of this kind: CupyOps for cupy, else NumpyOps."""
    if is_cupy_array(arr):
        return CupyOps()
    return NumpyOps()


def get_current_ops() -> Ops:
    """The Ops current in this thread or task."""
    ops = context_ops.get()
    if ops is not None:
        return ops
    with _default_lock:
        if _process_default["ops"] is None:
            _process_default["ops"] = _best_cpu_ops_class()()
        return _process_default["ops"]  # type: ignore[return-value]


def set_current_ops(ops: Ops) -> None:
    """Make ``ops`` current in this thread or task (and, from the main thread,
    the default for threads started afterwards)."""
    if not isinstance(ops, Ops):
        raise TypeError(f"set_current_ops expects an Ops instance, got {type(ops).__name__}")
    context_ops.set(ops)
    _thread_state.ops = ops
    if _sets_process_default():
        with _default_lock:
            _process_default["ops"] = ops


def contextvars_eq_thread_ops() -> bool:
    """Whether this context's ops is the one last set in this thread."""
    return context_ops.get() is getattr(_thread_state, "ops", None)


@contextlib.contextmanager
def use_ops(name: str, **kwargs) -> Iterator[Ops]:
    """Within the block, the named Ops is current in this thread or task."""
    token = context_ops.set(get_ops(name, **kwargs))
    try:
        yield context_ops.get()  # type: ignore[misc]
    finally:
        context_ops.reset(token)
