"""Wrap a TorchScript module as a thinc Model, or convert a PyTorchWrapper into
one, so that the model can be saved and loaded without its Python source."""

from typing import Any, Callable, Optional

from ..compat import torch
from ..config import registry
from ..model import Model
from ..shims.pytorch import PyTorchShim
from ..shims.pytorch_grad_scaler import PyTorchGradScaler
from ..shims.torchscript import TorchScriptShim
from .pytorchwrapper import (
    convert_pytorch_default_inputs,
    convert_pytorch_default_outputs,
    forward,
)


@registry.layers("TorchScriptWrapper.v1")
def TorchScriptWrapper_v1(
    torchscript_model: Optional["torch.jit.ScriptModule"] = None,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    device: Optional["torch.device"] = None,
) -> Model[Any, Any]:
    """Like PyTorchWrapper, for a ScriptModule. With torchscript_model=None,
    from_bytes / from_disk supply the module."""
    shim = TorchScriptShim(
        model=torchscript_model,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        device=device,
    )
    return Model(
        "pytorch_script",
        forward,
        attrs={
            "convert_inputs": convert_inputs or convert_pytorch_default_inputs,
            "convert_outputs": convert_outputs or convert_pytorch_default_outputs,
        },
        shims=[shim],
        dims={"nI": None, "nO": None},
    )


def pytorch_to_torchscript_wrapper(model: Model) -> Model:
    """Script the module of a PyTorchWrapper model and wrap it again, keeping
    the converters and mixed-precision settings."""
    shim = model.shims[0]
    if not isinstance(shim, PyTorchShim):
        raise ValueError("pytorch_to_torchscript_wrapper expects a PyTorchWrapper model")
    return TorchScriptWrapper_v1(
        torch.jit.script(shim._model),
        convert_inputs=model.attrs["convert_inputs"],
        convert_outputs=model.attrs["convert_outputs"],
        mixed_precision=shim._mixed_precision,
        grad_scaler=shim._grad_scaler,
        device=shim.device,
    )
