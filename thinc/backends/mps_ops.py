"""The Apple-silicon backend: arrays stay numpy on the CPU, while PyTorch models
wrapped by thinc run on the "mps" device (see util.get_torch_default_device)."""
from typing import TYPE_CHECKING, Any

import numpy

from ..compat import has_apple_ops
from .numpy_ops import NumpyOps

_CpuBase: Any = NumpyOps
if has_apple_ops:
    try:
        # thinc-apple-ops adds Accelerate-backed kernels on macOS when installed.
        from thinc_apple_ops import AppleOps as _CpuBase  # type: ignore[import-not-found,no-redef]
    except Exception:
        _CpuBase = NumpyOps

if TYPE_CHECKING:
    _Base = NumpyOps
else:
    _Base = _CpuBase


class MPSOps(_Base):
    """NumpyOps (or AppleOps) under the name "mps": only the torch device differs."""

    name = "mps"
    xp = numpy
