"""The shim that holds a torch.nn.Module: runs it forward and backward through
torch autograd, steps its parameters with a thinc optimizer, serializes it."""

import contextlib
import io
import pickle
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, cast

import srsly

from ..compat import torch
from ..types import ArgsKwargs, FloatsXd
from ..util import (
    convert_recursive,
    get_torch_default_device,
    torch2xp,
    xp2torch,
)
from .pytorch_grad_scaler import PyTorchGradScaler
from .shim import Shim


def default_serialize_torch_model(model: Any) -> bytes:
    """The module's state dict in torch.save's format."""
    filelike = io.BytesIO()
    torch.save(model.state_dict(), filelike)
    return filelike.getvalue()


def default_deserialize_torch_model(model: Any, state_bytes: bytes, device: Any) -> Any:
    """Load a state dict saved by default_serialize_torch_model. torch.load runs
    with weights_only=True: tensors and plain containers only, no arbitrary objects."""
    try:
        state_dict = torch.load(io.BytesIO(state_bytes), map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        raise ValueError(f"Cannot load PyTorch weights: {error}") from error
    if not isinstance(state_dict, dict):
        raise ValueError(f"PyTorch weights must be a state dict, got {type(state_dict).__name__}")
    model.load_state_dict(state_dict)
    model.to(device)
    return model


class PyTorchShim(Shim):
    """Holds a torch module. Inputs and output gradients arrive as ArgsKwargs
    of torch tensors; mixed_precision runs the forward pass under autocast,
    with grad_scaler guarding the backward pass against fp16 overflow."""

    def __init__(
        self,
        model: Any,
        config=None,
        optimizer: Any = None,
        mixed_precision: bool = False,
        grad_scaler: Optional[PyTorchGradScaler] = None,
        device: Optional["torch.device"] = None,
        serialize_model: Optional[Callable[[Any], bytes]] = None,
        deserialize_model: Optional[Callable[[Any, bytes, "torch.device"], Any]] = None,
    ) -> None:
        super().__init__(model, config, optimizer)
        if device is None:
            device = get_torch_default_device()
        if model is not None:
            model.to(device)
        if grad_scaler is None:
            grad_scaler = PyTorchGradScaler(enabled=mixed_precision)
        grad_scaler.to_(device)
        self._mixed_precision = mixed_precision
        self._grad_scaler = grad_scaler
        self._serialize_model = serialize_model or default_serialize_torch_model
        self._deserialize_model = deserialize_model or default_deserialize_torch_model

    @property
    def device(self) -> "torch.device":
        parameter = next(iter(self._model.parameters()), None) if self._model is not None else None
        return parameter.device if parameter is not None else get_torch_default_device()

    def _autocast(self):
        # Mixed precision means CUDA fp16; on the CPU autocast would produce
        # bfloat16, which numpy cannot hold, so it stays off there.
        on_cuda = self.device.type == "cuda"
        return torch.autocast(
            device_type="cuda" if on_cuda else "cpu", enabled=self._mixed_precision and on_cuda
        )

    def __call__(self, inputs: ArgsKwargs, is_train: bool) -> Tuple[Any, Callable]:
        if is_train:
            return self.begin_update(inputs)
        return self.predict(inputs), _no_backprop

    def predict(self, inputs: ArgsKwargs) -> Any:
        """Run the module in eval mode, without recording gradients."""
        self._model.eval()
        try:
            with torch.no_grad(), self._autocast():
                return self._model(*inputs.args, **inputs.kwargs)
        finally:
            self._model.train()

    def begin_update(self, inputs: ArgsKwargs) -> Tuple[Any, Callable]:
        """Run the module in train mode; the callback takes ArgsKwargs for
        torch.autograd.backward and returns the inputs' gradients."""
        self._model.train()
        with self._autocast():
            output = self._model(*inputs.args, **inputs.kwargs)

        def backprop(grads: ArgsKwargs) -> Any:
            if self._grad_scaler is not None and "grad_tensors" in grads.kwargs:
                kwargs = dict(grads.kwargs)
                kwargs["grad_tensors"] = self._grad_scaler.scale(
                    kwargs["grad_tensors"], inplace=True
                )
                grads = ArgsKwargs(args=grads.args, kwargs=kwargs)
            torch.autograd.backward(*grads.args, **grads.kwargs)
            return convert_recursive(
                lambda x: hasattr(x, "grad") and hasattr(x, "requires_grad"),
                lambda x: x.grad,
                inputs,
            )

        return output, backprop

    def finish_update(self, optimizer) -> None:
        """Step each parameter with a gradient through the thinc optimizer, keyed
        (shim id, parameter name); overflowing fp16 steps are skipped."""
        params = [(name, p) for name, p in self._model.named_parameters() if p.grad is not None]
        self._grad_scaler.unscale(p.grad for _, p in params)
        for name, torch_param in params:
            if not self._grad_scaler.found_inf:
                weights, _ = optimizer(
                    (self.id, name),
                    cast(FloatsXd, torch2xp(torch_param.data)),
                    cast(FloatsXd, torch2xp(torch_param.grad)),
                )
                torch_param.data = xp2torch(weights, device=torch_param.device)
            torch_param.grad.zero_()
        self._grad_scaler.update()

    @contextlib.contextmanager
    def use_params(self, params: Dict) -> Iterator[None]:
        """Temporarily load the arrays keyed (this shim's id, parameter name)."""
        own = {name: value for (key, name), value in _keyed(params) if key == self.id}
        if not own:
            yield
            return
        backup = {k: v.clone() for k, v in self._model.state_dict().items()}
        state = dict(backup)
        for name, value in own.items():
            state[name] = xp2torch(value, device=self.device)
        self._model.load_state_dict(state)
        try:
            yield
        finally:
            self._model.load_state_dict(backup)

    def to_device(self, device_type: str, device_id: int) -> None:
        if device_type == "cpu":
            self._model.cpu()
        elif device_type == "gpu":
            self._model.cuda(device_id)
        else:
            raise ValueError(f"Invalid device_type '{device_type}': expected 'cpu' or 'gpu'")
        self._grad_scaler.to_(self.device)

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps(
            {"config": self.cfg, "state": self._serialize_model(self._model)}
        )

    def from_bytes(self, bytes_data: bytes) -> "PyTorchShim":
        msg = _load_shim_msg(bytes_data, ("config", "state"), "PyTorchShim")
        self.cfg = msg["config"]
        self._model = self._deserialize_model(self._model, msg["state"], self.device)
        self._grad_scaler.to_(self.device)
        return self


def _keyed(params: Dict) -> Iterator[Tuple[Tuple[Any, Any], Any]]:
    for key, value in params.items():
        if isinstance(key, tuple) and len(key) == 2:
            yield key, value


def _load_shim_msg(bytes_data: bytes, keys: Tuple[str, ...], shim_name: str) -> Dict:
    try:
        msg = srsly.msgpack_loads(bytes_data)
    except Exception as error:
        raise ValueError(f"Corrupt {shim_name} bytes: {error}") from error
    if not isinstance(msg, dict) or any(key not in msg for key in keys):
        raise ValueError(f"{shim_name} bytes must be a map with keys {list(keys)}")
    return msg


def _no_backprop(grads: Any) -> Any:
    raise ValueError("This output was computed for inference (is_train=False): no backprop")
