"""Choosing the device: making the CPU or a GPU backend current, selecting the
CUDA device, and the torch device that matches the current backend."""

import platform

from ..compat import (
    cupy,
    has_cupy,
    has_cupy_gpu,
    has_gpu,
    has_torch,
    has_torch_cuda_gpu,
    has_torch_mps,
    has_torch_mps_gpu,
    torch,
)
from ._current import get_current_ops, get_ops, set_current_ops
from .cupy_ops import CupyOps
from .mps_ops import MPSOps


def set_active_gpu(gpu_id: int) -> "cupy.cuda.Device":  # type: ignore[name-defined]
    """Make CUDA device ``gpu_id`` current for cupy (and PyTorch, where present)."""
    if not has_cupy_gpu:
        raise ValueError("No CUDA GPU devices detected")
    device = cupy.cuda.device.Device(gpu_id)
    device.use()
    if has_torch_cuda_gpu:
        torch.cuda.set_device(gpu_id)
    return device


def require_cpu() -> bool:
    """Make the CPU backend current. Always returns True."""
    set_current_ops(get_ops("cpu"))
    return True


def prefer_gpu(gpu_id: int = 0) -> bool:
    """Use the GPU if there is one; returns whether it does."""
    if has_gpu:
        require_gpu(gpu_id)
    return has_gpu


def require_gpu(gpu_id: int = 0) -> bool:
    """Make a GPU backend current (CupyOps, or MPSOps on Apple silicon); raise
    ValueError when no usable GPU exists."""
    if has_cupy_gpu:
        set_current_ops(CupyOps())
        set_active_gpu(gpu_id)
    elif has_torch_mps_gpu:
        set_current_ops(MPSOps())
    elif platform.system() == "Darwin":
        if not has_torch:
            raise ValueError("Cannot use GPU, PyTorch is not installed")
        if not has_torch_mps:
            raise ValueError("Cannot use GPU, installed PyTorch does not support MPS")
        raise ValueError("No GPU devices detected")
    elif not has_cupy:
        raise ValueError("Cannot use GPU, CuPy is not installed")
    else:
        raise ValueError("No CUDA GPU devices detected")
    return True


def get_torch_default_device() -> "torch.device":  # type: ignore[name-defined]
    """The torch device matching the current ops: cuda for CupyOps, mps for MPSOps,
    else cpu."""
    if torch is None:
        raise ValueError("Cannot get default Torch device when Torch is not available.")
    ops = get_current_ops()
    if isinstance(ops, CupyOps):
        return torch.device("cuda", torch.cuda.current_device())
    if isinstance(ops, MPSOps):
        return torch.device("mps")
    return torch.device("cpu")
