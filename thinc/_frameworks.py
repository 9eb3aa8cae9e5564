"""Which framework an array belongs to (numpy, cupy, PyTorch, TensorFlow, MXNet),
and moving arrays between frameworks where no Ops backend is involved."""

from typing import Any

import numpy

from . import compat
from .compat import cupy, cupy_from_dlpack, has_cupy, has_torch, torch
from .types import ArrayXd


def get_array_module(arr: Any) -> Any:
    """The array module (numpy or cupy) that owns ``arr``. Anything else (a
    list, a Python or numpy scalar, a tensor) is a ValueError, as in thinc 8.3:
    guessing numpy for it would hide a caller's mistake."""
    if is_numpy_array(arr):
        return numpy
    if is_cupy_array(arr):
        return cupy.get_array_module(arr)
    raise ValueError(
        f"get_array_module takes a numpy or cupy array, got {type(arr)}: "
        "convert it first (numpy.asarray, or thinc's torch2xp/tensorflow2xp for tensors)"
    )


def is_xp_array(obj: Any) -> bool:
    """Whether ``obj`` is a numpy or cupy array."""
    return is_numpy_array(obj) or is_cupy_array(obj)


def is_cupy_array(obj: Any) -> bool:
    return has_cupy and isinstance(obj, cupy.ndarray)


def is_numpy_array(obj: Any) -> bool:
    return isinstance(obj, numpy.ndarray)


def is_torch_array(obj: Any) -> bool:
    return torch is not None and isinstance(obj, torch.Tensor)


def is_torch_cuda_array(obj: Any) -> bool:
    return is_torch_array(obj) and obj.is_cuda


def is_torch_mps_array(obj: Any) -> bool:
    return is_torch_array(obj) and getattr(obj, "is_mps", False)


def is_torch_gpu_array(obj: Any) -> bool:
    return is_torch_cuda_array(obj) or is_torch_mps_array(obj)


def is_tensorflow_array(obj: Any) -> bool:
    return compat.has_tensorflow and isinstance(obj, compat.tensorflow.Tensor)


def is_tensorflow_gpu_array(obj: Any) -> bool:
    return is_tensorflow_array(obj) and "GPU:" in obj.device


def is_mxnet_array(obj: Any) -> bool:
    return compat.has_mxnet and isinstance(obj, compat.mxnet.nd.NDArray)


def is_mxnet_gpu_array(obj: Any) -> bool:
    return is_mxnet_array(obj) and obj.context.device_type != "cpu"


def to_numpy(data: Any) -> numpy.ndarray:
    """A numpy copy or view of an array from any supported framework."""
    if isinstance(data, numpy.ndarray):
        return data
    if is_cupy_array(data):
        return data.get()
    if is_torch_array(data):
        return data.detach().cpu().numpy()
    if is_tensorflow_array(data) or is_mxnet_array(data):
        return data.numpy() if hasattr(data, "numpy") else data.asnumpy()
    return numpy.array(data)


def _cupy_to_torch(array: Any) -> Any:
    if hasattr(array, "__dlpack__"):
        return torch.utils.dlpack.from_dlpack(array)
    return torch.utils.dlpack.from_dlpack(array.toDlpack())


def _torch_to_cupy(torch_tensor: Any) -> Any:
    tensor = torch_tensor.detach()
    if hasattr(cupy, "from_dlpack"):
        return cupy.from_dlpack(tensor)
    return cupy_from_dlpack(torch.utils.dlpack.to_dlpack(tensor))


def torch_to_xp(torch_tensor: Any) -> ArrayXd:
    """numpy for a CPU tensor, cupy (sharing memory through DLPack) for a CUDA one."""
    assert_pytorch_installed()
    if not is_torch_array(torch_tensor):
        raise TypeError(f"torch2xp expects a torch.Tensor, got {type(torch_tensor).__name__}")
    if is_torch_cuda_array(torch_tensor):
        return _torch_to_cupy(torch_tensor)
    return torch_tensor.detach().cpu().numpy()


def tensorflow_to_xp(tf_tensor: Any) -> ArrayXd:
    """numpy for a TensorFlow tensor on the CPU, cupy (through DLPack) for one on a GPU."""
    assert_tensorflow_installed()
    if is_tensorflow_gpu_array(tf_tensor):
        return cupy_from_dlpack(compat.tensorflow.experimental.dlpack.to_dlpack(tf_tensor))
    return tf_tensor.numpy()


def mxnet_to_xp(mx_tensor: Any) -> ArrayXd:
    """numpy for an MXNet NDArray on the CPU, cupy (through DLPack) for one on a GPU."""
    assert_mxnet_installed()
    if is_mxnet_gpu_array(mx_tensor):
        return cupy_from_dlpack(mx_tensor.to_dlpack_for_write())
    return mx_tensor.detach().asnumpy()


def assert_pytorch_installed() -> None:
    """Raise ImportError unless PyTorch is importable."""
    if not has_torch:
        raise ImportError("PyTorch support requires torch: pip install thinc[torch]")


def assert_tensorflow_installed() -> None:
    """Raise ImportError unless TensorFlow support was enabled."""
    if not compat.has_tensorflow:
        raise ImportError(
            "TensorFlow support requires tensorflow: pip install thinc[tensorflow]\n\n"
            "Enable TensorFlow support with thinc.api.enable_tensorflow()"
        )


def assert_mxnet_installed() -> None:
    """Raise ImportError unless MXNet support was enabled."""
    if not compat.has_mxnet:
        raise ImportError(
            "MXNet support requires mxnet: pip install thinc[mxnet]\n\n"
            "Enable MXNet support with thinc.api.enable_mxnet()"
        )
