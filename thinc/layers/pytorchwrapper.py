"""Wrap a torch.nn.Module as a thinc Model: arrays in and out are converted to
and from torch tensors, and gradients flow through torch autograd."""

from typing import Any, Callable, Optional, Tuple, cast

from ..compat import torch
from ..config import registry
from ..model import Model
from ..shims.pytorch import PyTorchShim
from ..shims.pytorch_grad_scaler import PyTorchGradScaler
from ..types import ArgsKwargs, Floats3d, Padded
from ..util import (
    convert_recursive,
    is_torch_array,
    is_xp_array,
    partial,
    torch2xp,
    xp2torch,
)


@registry.layers("PyTorchRNNWrapper.v1")
def PyTorchRNNWrapper(
    pytorch_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
) -> Model[Padded, Padded]:
    """Wrap a torch RNN (such as torch.nn.LSTM) that reads and writes Padded
    sequences (time-major data)."""
    if convert_inputs is None:
        convert_inputs = convert_rnn_inputs
    if convert_outputs is None:
        convert_outputs = convert_rnn_outputs
    return cast(
        Model[Padded, Padded],
        PyTorchWrapper(
            pytorch_model, convert_inputs=convert_inputs, convert_outputs=convert_outputs
        ),
    )


@registry.layers("PyTorchWrapper.v1")
def PyTorchWrapper(
    pytorch_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
) -> Model[Any, Any]:
    """Wrap a torch.nn.Module. convert_inputs(model, X, is_train) returns
    (ArgsKwargs of tensors, callback turning their gradients into dX);
    convert_outputs(model, (X, Ytorch), is_train) returns (Y, callback
    turning dY into ArgsKwargs for torch.autograd.backward)."""
    return PyTorchWrapper_v2(pytorch_model, convert_inputs, convert_outputs)


@registry.layers("PyTorchWrapper.v2")
def PyTorchWrapper_v2(
    pytorch_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    device: Optional["torch.device"] = None,
) -> Model[Any, Any]:
    """PyTorchWrapper with mixed-precision training and a chosen device."""
    return PyTorchWrapper_v3(
        pytorch_model, convert_inputs, convert_outputs, mixed_precision, grad_scaler, device
    )


@registry.layers("PyTorchWrapper.v3")
def PyTorchWrapper_v3(
    pytorch_model: "torch.nn.Module",
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    device: Optional["torch.device"] = None,
    serialize_model: Optional[Callable[[Any], bytes]] = None,
    deserialize_model: Optional[Callable[[Any, bytes, "torch.device"], Any]] = None,
) -> Model[Any, Any]:
    """PyTorchWrapper_v2 with custom (de)serialization of the module."""
    if convert_inputs is None:
        convert_inputs = convert_pytorch_default_inputs
    if convert_outputs is None:
        convert_outputs = convert_pytorch_default_outputs
    shim = PyTorchShim(
        pytorch_model,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
        device=device,
        serialize_model=serialize_model,
        deserialize_model=deserialize_model,
    )
    return Model(
        "pytorch",
        forward,
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[shim],
        dims={"nI": None, "nO": None},
    )


def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    """Convert X to torch, run the shim, convert the output back; backprop
    runs the same conversions in reverse."""
    convert_inputs = model.attrs["convert_inputs"]
    convert_outputs = model.attrs["convert_outputs"]
    Xtorch, get_dX = convert_inputs(model, X, is_train)
    Ytorch, torch_backprop = model.shims[0](Xtorch, is_train)
    Y, get_dYtorch = convert_outputs(model, (X, Ytorch), is_train)

    def backprop(dY: Any) -> Any:
        dYtorch = get_dYtorch(dY)
        dXtorch = torch_backprop(dYtorch)
        return get_dX(dXtorch)

    return Y, backprop


def convert_pytorch_default_inputs(
    model: Model, X: Any, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Any]]:
    """Arrays anywhere in X become tensors (requiring grad when training). A
    tuple becomes positional args, a dict keyword args, anything else the one
    positional arg; the callback returns gradients in X's structure."""
    shim = cast(PyTorchShim, model.shims[0])
    to_torch = partial(xp2torch, requires_grad=is_train, device=shim.device)
    converted = convert_recursive(is_xp_array, to_torch, X)
    if isinstance(converted, ArgsKwargs):
        return converted, partial(_grads_to_xp, model=model)
    if isinstance(converted, dict):
        return ArgsKwargs(args=tuple(), kwargs=converted), lambda dX: _grads_to_xp(dX, model).kwargs
    if isinstance(converted, (tuple, list)):
        return ArgsKwargs(args=tuple(converted), kwargs={}), lambda dX: _grads_to_xp(dX, model).args
    return ArgsKwargs(args=(converted,), kwargs={}), lambda dX: _grads_to_xp(dX, model).args[0]


def _grads_to_xp(dXtorch: Any, model: Model) -> Any:
    return convert_recursive(is_torch_array, partial(torch2xp, ops=model.ops), dXtorch)


def convert_pytorch_default_outputs(model: Model, X_Ytorch: Any, is_train: bool):
    """Tensors anywhere in the output become arrays; the callback pairs the
    output tensors with their gradients for torch.autograd.backward."""
    shim = cast(PyTorchShim, model.shims[0])
    X, Ytorch = X_Ytorch
    Y = convert_recursive(is_torch_array, partial(torch2xp, ops=model.ops), Ytorch)

    def reverse_conversion(dY: Any) -> ArgsKwargs:
        dYtorch = convert_recursive(is_xp_array, partial(xp2torch, device=shim.device), dY)
        return ArgsKwargs(args=((Ytorch,),), kwargs={"grad_tensors": (dYtorch,)})

    return Y, reverse_conversion


def convert_rnn_inputs(model: Model, Xp: Padded, is_train: bool):
    """Padded in: the RNN gets the (time, batch, width) data and no initial state."""
    shim = cast(PyTorchShim, model.shims[0])
    size_at_t, lengths, indices = Xp.size_at_t, Xp.lengths, Xp.indices
    Xtorch = xp2torch(Xp.data, requires_grad=is_train, device=shim.device)

    def convert_from_torch_backward(d_inputs: ArgsKwargs) -> Padded:
        dX = torch2xp(d_inputs.args[0], ops=model.ops)
        return Padded(cast(Floats3d, dX), size_at_t, lengths, indices)

    return ArgsKwargs(args=(Xtorch, None), kwargs={}), convert_from_torch_backward


def convert_rnn_outputs(model: Model, inputs_outputs: Tuple, is_train):
    """The RNN returns (output, state): the output becomes Padded again."""
    Xp, (Ytorch, _) = inputs_outputs

    def convert_for_torch_backward(dYp: Padded) -> ArgsKwargs:
        dYtorch = xp2torch(dYp.data, device=Ytorch.device)
        return ArgsKwargs(args=((Ytorch,),), kwargs={"grad_tensors": (dYtorch,)})

    Y = cast(Floats3d, torch2xp(Ytorch, ops=model.ops))
    return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices), convert_for_torch_backward
