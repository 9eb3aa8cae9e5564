"""The Ops backends, and which one is current for this thread or asyncio task.

Each thread and each asyncio task sees its own current Ops (a ContextVar);
new threads start from the process default, set from the main thread."""

from .._frameworks import (  # noqa: F401  (thinc 8.3 exposes these here)
    assert_pytorch_installed,
    assert_tensorflow_installed,
    is_cupy_array,
)
from .._param_server import ParamServer
from ..compat import has_cupy, has_cupy_gpu  # noqa: F401
from ..config import registry
from ._cupy_allocators import (  # noqa: F401
    context_pools,
    cupy_pytorch_allocator,
    cupy_tensorflow_allocator,
    set_gpu_allocator,
    use_pytorch_for_gpu_memory,
    use_tensorflow_for_gpu_memory,
)
from ._current import (  # noqa: F401  (private names kept where thinc 8.3 had them)
    _ALIASES,
    _best_cpu_ops_class,
    context_ops,
    contextvars_eq_thread_ops,
    get_array_ops,
    get_current_ops,
    get_ops,
    set_current_ops,
    use_ops,
)
from ._devices import get_torch_default_device, require_cpu  # noqa: F401
from .cupy_ops import CupyOps
from .mps_ops import MPSOps
from .numpy_ops import NumpyOps
from .ops import Ops

__all__ = [
    "set_current_ops",
    "get_current_ops",
    "use_ops",
    "ParamServer",
    "Ops",
    "CupyOps",
    "MPSOps",
    "NumpyOps",
    "has_cupy",
]

registry.ops("NumpyOps")(NumpyOps)
registry.ops("CupyOps")(CupyOps)
registry.ops("MPSOps")(MPSOps)
