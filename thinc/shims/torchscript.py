"""The shim for a TorchScript module: a PyTorchShim whose model is serialized
as the TorchScript program itself, so loading needs no Python class."""

import io
from typing import Any, Optional

import srsly

from ..compat import torch
from .pytorch import PyTorchShim, _load_shim_msg
from .pytorch_grad_scaler import PyTorchGradScaler


class TorchScriptShim(PyTorchShim):
    """Holds a torch.jit.ScriptModule (or None until from_bytes provides one)."""

    def __init__(
        self,
        model: Optional["torch.jit.ScriptModule"],
        config=None,
        optimizer: Any = None,
        mixed_precision: bool = False,
        grad_scaler: Optional[PyTorchGradScaler] = None,
        device: Optional["torch.device"] = None,
    ) -> None:
        if model is not None and not isinstance(model, torch.jit.ScriptModule):
            raise ValueError(
                f"TorchScriptShim needs a torch.jit.ScriptModule, got {type(model).__name__}"
            )
        super().__init__(model, config, optimizer, mixed_precision, grad_scaler, device)

    def to_bytes(self) -> bytes:
        filelike = io.BytesIO()
        torch.jit.save(self._model, filelike)
        return srsly.msgpack_dumps({"config": self.cfg, "model": filelike.getvalue()})

    def from_bytes(self, bytes_data: bytes) -> "TorchScriptShim":
        msg = _load_shim_msg(bytes_data, ("config", "model"), "TorchScriptShim")
        self.cfg = msg["config"]
        # torch.jit.load reads TorchScript code and tensors, not pickled Python objects.
        try:
            self._model = torch.jit.load(io.BytesIO(msg["model"]), map_location=self.device)
        except RuntimeError as error:
            raise ValueError(f"Cannot load TorchScript model: {error}") from error
        self._grad_scaler.to_(self.device)
        return self
