"""The Apple-silicon backend: arrays stay numpy on the CPU, while PyTorch models
wrapped by thinc run on the "mps" device (see util.get_torch_default_device)."""

from typing import TYPE_CHECKING, Type

import numpy

from ..compat import has_apple_ops
from .numpy_ops import NumpyOps


def _cpu_backend_class() -> Type[NumpyOps]:
    # thinc-apple-ops adds Accelerate-backed kernels on macOS when installed; it
    # imports thinc itself, so any failure here just means plain NumpyOps.
    if has_apple_ops:
        try:
            from thinc_apple_ops import AppleOps  # type: ignore[import-not-found]

            return AppleOps
        except Exception:
            pass
    return NumpyOps


if TYPE_CHECKING:
    from .numpy_ops import NumpyOps as _CpuBackend
else:
    _CpuBackend = _cpu_backend_class()


class MPSOps(_CpuBackend):
    """The CPU backend under the name "mps": only the torch device differs."""

    name = "mps"
    xp = numpy
