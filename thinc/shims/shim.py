"""The base class for wrapping a model from another framework inside a thinc Model.

A Shim holds the foreign model and translates calls, devices, optimizer steps
and serialization; subclasses (PyTorchShim, TensorFlowShim, ...) fill it in."""

import contextlib
import copy
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union


class Shim:
    """Interface for an external model. Subclasses override predict,
    begin_update, finish_update, to_device, to_bytes and from_bytes (and
    use_params where the framework can swap weights)."""

    global_id: int = 0
    global_id_lock: threading.Lock = threading.Lock()
    cfg: Dict
    _model: Any
    _optimizer: Optional[Any]

    def __init__(self, model: Any, config=None, optimizer: Any = None) -> None:
        with Shim.global_id_lock:
            Shim.global_id += 1
            self.id = Shim.global_id
        self.cfg = dict(config) if config is not None else {}
        self._model = model
        self._optimizer = optimizer

    def __call__(self, inputs, is_train: bool) -> Tuple[Any, Callable[..., Any]]:
        raise NotImplementedError

    def predict(self, fwd_args: Any) -> Any:
        """Run the wrapped model for inference."""
        raise NotImplementedError

    def begin_update(self, fwd_args: Any) -> Tuple[Any, Callable[..., Any]]:
        """Run the wrapped model for training: (output, backprop callback)."""
        raise NotImplementedError

    def finish_update(self, optimizer) -> None:
        """Apply the accumulated gradients with ``optimizer``."""
        raise NotImplementedError

    @contextlib.contextmanager
    def use_params(self, params) -> Iterator[None]:
        """Temporarily use other weights; the base class has none to swap."""
        yield None

    def copy(self) -> "Shim":
        """A deep copy, wrapped model included (it keeps this shim's id)."""
        return copy.deepcopy(self)

    def to_device(self, device_type: str, device_id: int) -> None:
        """Move the wrapped model to "cpu" or "gpu" number ``device_id``."""
        raise NotImplementedError

    def to_disk(self, path: Union[str, Path]) -> None:
        Path(path).write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "Shim":
        return self.from_bytes(Path(path).read_bytes())

    def to_bytes(self) -> bytes:
        raise NotImplementedError

    def from_bytes(self, data) -> "Shim":
        raise NotImplementedError
