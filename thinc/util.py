"""PLACEHOLDER (owned by the types/util helper)."""
import numpy


def get_array_module(arr):
    return numpy


def is_cupy_array(arr):
    return False


def require_cpu():
    from .backends import NumpyOps, set_current_ops

    set_current_ops(NumpyOps())
    return True


def assert_pytorch_installed():
    raise ImportError("PyTorch is not installed")


def assert_tensorflow_installed():
    raise ImportError("TensorFlow is not installed")


def get_torch_default_device():
    raise ImportError("PyTorch is not installed")
