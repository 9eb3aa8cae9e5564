"""Allocators that let cupy borrow GPU memory from PyTorch's or TensorFlow's pool,
so that a process mixing frameworks keeps a single memory pool, and the switches
that install them."""

import contextvars
from typing import Any, Dict

from .._frameworks import assert_pytorch_installed, assert_tensorflow_installed, tensorflow_to_xp
from ..compat import cupy, has_cupy_gpu, tensorflow, torch  # noqa: F401  (names thinc 8.3 exposes)
from ..types import ArrayXd  # noqa: F401
from ._devices import get_torch_default_device

# The cupy memory pools handed to PyTorch or TensorFlow, by framework name; spaCy's
# loggers read it to tell which allocator owns cupy's memory.
context_pools: contextvars.ContextVar[Dict[str, Any]] = contextvars.ContextVar(
    "context_pools", default={}
)

# Never hand out empty buffers: some allocators return a null pointer for them.
_MIN_BYTES = 1024


def cupy_pytorch_allocator(size_in_bytes: int) -> Any:
    """A cupy MemoryPointer to a fresh PyTorch CUDA buffer of at least
    ``size_in_bytes`` bytes; the tensor stays alive as long as the pointer."""
    from .. import compat

    size_in_bytes = max(_MIN_BYTES, int(size_in_bytes))
    # Allocate on the device cupy is allocating for, whatever the current ops are.
    device = compat.torch.device("cuda", compat.cupy.cuda.runtime.getDevice())
    buffer = compat.torch.empty((size_in_bytes,), dtype=compat.torch.uint8, device=device)
    memory = compat.cupy.cuda.memory.UnownedMemory(buffer.data_ptr(), size_in_bytes, buffer)
    return compat.cupy.cuda.memory.MemoryPointer(memory, 0)


def cupy_tensorflow_allocator(size_in_bytes: int) -> Any:
    """A cupy MemoryPointer to a fresh TensorFlow GPU buffer of at least
    ``size_in_bytes`` bytes."""
    from .. import compat

    size_in_bytes = max(_MIN_BYTES, int(size_in_bytes))
    # float32 elements: round the element count up so the buffer is large enough.
    n_floats = (size_in_bytes + 3) // 4
    tensor = compat.tensorflow.zeros((n_floats,), dtype=compat.tensorflow.dtypes.float32)
    array: Any = tensorflow_to_xp(tensor)
    memory = compat.cupy.cuda.memory.UnownedMemory(int(array.data.ptr), size_in_bytes, array)
    return compat.cupy.cuda.memory.MemoryPointer(memory, 0)


def set_gpu_allocator(allocator: str) -> None:
    """Route cupy's allocations through "pytorch" or "tensorflow"."""
    if allocator == "pytorch":
        use_pytorch_for_gpu_memory()
    elif allocator == "tensorflow":
        use_tensorflow_for_gpu_memory()
    else:
        raise ValueError(f"Invalid GPU allocator '{allocator}': expected 'pytorch' or 'tensorflow'")


def use_pytorch_for_gpu_memory() -> None:
    """Let PyTorch's caching allocator own cupy's GPU memory, so both share one pool.
    Does nothing without a GPU."""
    assert_pytorch_installed()
    if not has_cupy_gpu:
        return
    if get_torch_default_device().type != "cuda":
        return
    pool = cupy.cuda.MemoryPool(allocator=cupy_pytorch_allocator)
    context_pools.set({**context_pools.get(), "pytorch": pool})
    cupy.cuda.set_allocator(pool.malloc)


def use_tensorflow_for_gpu_memory() -> None:
    """Let TensorFlow own cupy's GPU memory. Does nothing without a GPU."""
    assert_tensorflow_installed()
    if not has_cupy_gpu:
        return
    pool = cupy.cuda.MemoryPool(allocator=cupy_tensorflow_allocator)
    context_pools.set({**context_pools.get(), "tensorflow": pool})
    cupy.cuda.set_allocator(pool.malloc)
