"""Shims wrap models from other frameworks so that a thinc Model can hold them.

The framework shims are imported on first access, so importing this package
never imports (or requires) PyTorch, TensorFlow or MXNet."""

import importlib
from typing import Any

from .shim import Shim

# Public name -> submodule that defines it.
_LAZY_EXPORTS = {
    "PyTorchShim": "pytorch",
    "PyTorchGradScaler": "pytorch_grad_scaler",
    "TorchScriptShim": "torchscript",
    "TensorFlowShim": "tensorflow",
    "keras_model_fns": "tensorflow",
    "maybe_handshake_model": "tensorflow",
    "MXNetShim": "mxnet",
}

__all__ = ["Shim", *_LAZY_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        module = importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
