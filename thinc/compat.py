"""Detection of optional frameworks and devices (cupy, PyTorch, TensorFlow, MXNet...).

Every probe is guarded: a missing or broken install only turns its ``has_*`` flag off."""

import importlib.util
import warnings
from typing import Any

from packaging.version import Version

__all__ = [
    "Version",
    "blis",
    "cublas",
    "cupy",
    "cupy_from_dlpack",
    "cupy_version",
    "cupyx",
    "enable_mxnet",
    "enable_tensorflow",
    "h5py",
    "has_apple_ops",
    "has_blis",
    "has_cupy",
    "has_cupy_gpu",
    "has_gpu",
    "has_h5py",
    "has_mxnet",
    "has_os_signpost",
    "has_tensorflow",
    "has_tensorflow_gpu",
    "has_torch",
    "has_torch_amp",
    "has_torch_cuda_gpu",
    "has_torch_gpu",
    "has_torch_mps",
    "has_torch_mps_gpu",
    "mxnet",
    "os_signpost",
    "tensorflow",
    "torch",
    "torch_version",
]

_NO_VERSION = Version("0.0.0")


def _parse_version(text: Any) -> Version:
    try:
        return Version(str(text).split("+")[0])
    except Exception:
        return _NO_VERSION


# A broken CUDA or driver install can raise almost anything at import time, hence
# the broad except clauses: optional frameworks must never break `import thinc`.
cupy: Any = None
cupyx: Any = None
cublas: Any = None
cupy_from_dlpack: Any = None
cupy_version: Version = _NO_VERSION
has_cupy = False
has_cupy_gpu = False
try:
    import cupy  # type: ignore[no-redef]
    import cupyx  # type: ignore[no-redef]

    cupy_version = _parse_version(cupy.__version__)
    has_cupy = True
    # cupy renamed fromDlpack to from_dlpack in v10.
    cupy_from_dlpack = getattr(cupy, "from_dlpack", None) or getattr(cupy, "fromDlpack", None)
    try:
        from cupy_backends.cuda.libs import cublas  # type: ignore[no-redef]
    except Exception:
        try:
            from cupy.cuda import cublas  # type: ignore[no-redef]
        except Exception:
            cublas = None
    try:
        has_cupy_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_cupy_gpu = False
except Exception:
    cupy = None
    cupyx = None
    has_cupy = False

torch: Any = None
torch_version: Version = _NO_VERSION
has_torch = False
has_torch_cuda_gpu = False
has_torch_mps = False
has_torch_mps_gpu = False
has_torch_amp = False
try:
    import torch  # type: ignore[no-redef]
    import torch.utils.dlpack

    torch_version = _parse_version(torch.__version__)
    has_torch = True
    try:
        has_torch_cuda_gpu = torch.cuda.device_count() != 0
    except Exception:
        has_torch_cuda_gpu = False
    try:
        mps_backend: Any = getattr(torch.backends, "mps", None)
        has_torch_mps = mps_backend is not None and bool(mps_backend.is_built())
        has_torch_mps_gpu = has_torch_mps and bool(mps_backend.is_available())
    except Exception:
        has_torch_mps = has_torch_mps_gpu = False
    # Mixed precision needs CUDA; torch.autocast for CUDA appeared in 1.9.
    has_torch_amp = has_torch_cuda_gpu and torch_version >= Version("1.9.0")
except Exception:
    torch = None
    has_torch = False
    has_torch_cuda_gpu = has_torch_mps = has_torch_mps_gpu = has_torch_amp = False

# Kept as a separate name because thinc 8 exposed both.
has_torch_gpu = has_torch_cuda_gpu

# TensorFlow and MXNet are slow to import and deprecated, so they load only on request.
tensorflow: Any = None
has_tensorflow = False
has_tensorflow_gpu = False
mxnet: Any = None
has_mxnet = False


def enable_tensorflow() -> None:
    """Import TensorFlow and turn on thinc's TensorFlow support (deprecated)."""
    warnings.warn(
        "Built-in TensorFlow support is deprecated and will be removed in a future "
        "major version of thinc; copy TensorFlowWrapper into your project if you need it.",
        DeprecationWarning,
    )
    global tensorflow, has_tensorflow, has_tensorflow_gpu
    import tensorflow as tensorflow_module
    import tensorflow.experimental.dlpack  # noqa: F401

    tensorflow = tensorflow_module
    has_tensorflow = True
    try:
        has_tensorflow_gpu = len(tensorflow.config.get_visible_devices("GPU")) > 0
    except Exception:
        has_tensorflow_gpu = False


def enable_mxnet() -> None:
    """Import MXNet and turn on thinc's MXNet support (deprecated)."""
    warnings.warn(
        "Built-in MXNet support is deprecated and will be removed in a future "
        "major version of thinc; copy MXNetWrapper into your project if you need it.",
        DeprecationWarning,
    )
    global mxnet, has_mxnet
    import mxnet as mxnet_module

    mxnet = mxnet_module
    has_mxnet = True


h5py: Any = None
has_h5py = False
try:
    import h5py  # type: ignore[no-redef]

    has_h5py = True
except Exception:
    h5py = None

os_signpost: Any = None
has_os_signpost = False
try:
    import os_signpost  # type: ignore[no-redef]

    has_os_signpost = True
except Exception:
    os_signpost = None

blis: Any = None
has_blis = False
try:
    import blis  # type: ignore[no-redef]
    import blis.py  # type: ignore[no-redef]  # noqa: F401

    has_blis = True
except Exception:
    blis = None

# thinc-apple-ops imports thinc itself, so only look for it here, never import it.
try:
    has_apple_ops = importlib.util.find_spec("thinc_apple_ops") is not None
except Exception:
    has_apple_ops = False

has_gpu = has_cupy_gpu or has_torch_mps_gpu
