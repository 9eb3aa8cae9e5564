"""Allocators that let cupy borrow GPU memory from PyTorch's or TensorFlow's pool,
so that a process mixing frameworks keeps a single memory pool."""

from typing import Any

from ..compat import cupy, tensorflow, torch  # noqa: F401  (names thinc 8.3 exposes)
from ..types import ArrayXd  # noqa: F401
from ..util import get_torch_default_device, tensorflow2xp  # noqa: F401

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
    array: Any = tensorflow2xp(tensor)
    memory = compat.cupy.cuda.memory.UnownedMemory(int(array.data.ptr), size_in_bytes, array)
    return compat.cupy.cuda.memory.MemoryPointer(memory, 0)
