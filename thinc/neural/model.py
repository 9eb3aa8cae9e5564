"""thinc 7's subclassing API: a Model subclass defines begin_update(X, drop)
returning (Y, backprop(dY, sgd=None)) and works inside thinc 8 combinators.

Inside a combinator, the legacy backprop is handed an `sgd` that records each
(weights, gradient) pair; finish_update(optimizer) then applies the optimizer
to them in place, through a shim, so the subclass keeps owning its arrays."""

import contextlib
import copy
from typing import Any, Callable, Dict, Hashable, Iterator, Optional, Tuple

import numpy

from ..model import Model as _Model
from ..shims.shim import Shim


def _overrides(model: "Model", method: str) -> bool:
    """Whether the legacy subclass defines ``method`` itself."""
    return getattr(type(model), method) is not getattr(Model, method)


class LegacyShim(Shim):
    """Carries a legacy model's optimizer steps and serialization through the
    thinc 8 machinery (which updates and serializes shims for every node)."""

    def __init__(self, model: "Model") -> None:
        super().__init__(model)
        self._pending: Dict[Hashable, Tuple[Any, Any]] = {}

    def record(self, weights, gradient, key: Optional[Hashable] = None, **_: Any) -> None:
        """A thinc 7 style `sgd(weights, gradient, key=...)`: the gradient is
        consumed (zeroed, as thinc 7 did) and applied at finish_update."""
        key = id(weights) if key is None else key
        if key in self._pending:
            self._pending[key][1][...] += gradient
        else:
            self._pending[key] = (weights, gradient.copy())
        gradient.fill(0)

    def finish_update(self, optimizer) -> None:
        for key, (weights, gradient) in self._pending.items():
            new_weights, _ = optimizer((self.id, f"legacy:{key}"), weights, gradient)
            if new_weights is not weights:
                weights[...] = new_weights
        self._pending.clear()

    def to_device(self, device_type: str, device_id: int) -> None:
        model = self._model
        if device_type == "gpu" and _overrides(model, "to_gpu"):
            model.to_gpu(device_id)
        elif device_type == "cpu" and _overrides(model, "to_cpu"):
            model.to_cpu()

    def to_bytes(self) -> bytes:
        return self._model.to_bytes() if _overrides(self._model, "to_bytes") else b""

    def from_bytes(self, data: bytes) -> "LegacyShim":
        if _overrides(self._model, "from_bytes"):
            self._model.from_bytes(data)
        return self

    @contextlib.contextmanager
    def use_params(self, params) -> Iterator[None]:
        yield None


def _legacy_forward(model: "Model", X: Any, is_train: bool) -> Tuple[Any, Callable]:
    if not is_train:
        return model.predict(X), _no_backprop
    drop = model.attrs.get("dropout_rate") or 0.0
    Y, legacy_backprop = model.begin_update(X, drop=drop)
    shim = model._legacy_shim

    def backprop(dY: Any) -> Any:
        if legacy_backprop is None:
            return None
        return legacy_backprop(dY, sgd=shim.record)

    return Y, backprop


def _no_backprop(dY: Any) -> Any:
    raise ValueError("This output was computed for inference (is_train=False): no backprop")


class Model(_Model):
    """Base class for thinc 7 style models. Subclasses need not call this
    __init__: the thinc 8 state is set up before theirs runs."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        self = object.__new__(cls)
        _Model.__init__(self, cls.__name__.lower(), _legacy_forward, attrs={"dropout_rate": 0.0})
        self._legacy_shim = LegacyShim(self)
        self._shims.append(self._legacy_shim)
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, X: Any, is_train: Optional[bool] = None) -> Any:
        # thinc 7 called model(X) for prediction; combinators pass is_train.
        if is_train is None:
            return self.predict(X)
        return _legacy_forward(self, X, is_train)

    def begin_update(self, X: Any, drop: Optional[float] = 0.0) -> Tuple[Any, Callable]:
        raise NotImplementedError(
            f"{type(self).__name__} must define begin_update(X, drop=0.) returning "
            "(Y, backprop) with backprop(dY, sgd=None)"
        )

    def predict(self, X: Any) -> Any:
        Y, _ = self.begin_update(X, drop=0.0)
        return Y

    def copy(self) -> "Model":
        duplicate = copy.deepcopy(self)
        with _Model.global_id_lock:
            _Model.global_id += 1
            duplicate.id = _Model.global_id
        return duplicate

    # Defaults for models that keep weights as array attributes, thinc 7 style:
    # W of shape (nO, nI) and b of shape (nO,), with nO/nI attributes.
    def resize_output(self, new_size: int) -> None:
        """Grow (zero-initialised) or shrink (from the end) the output."""
        old_size = self._legacy_dim("nO")
        for name, array in self._legacy_arrays():
            if array.shape and array.shape[0] == old_size:
                setattr(self, name, _resized(array, 0, new_size))
        self.nO = new_size

    def resize_input(self, new_size: int) -> None:
        """Grow (zero-initialised) or shrink (from the end) the input."""
        old_size = self._legacy_dim("nI")
        for name, array in self._legacy_arrays():
            if array.ndim >= 2 and array.shape[-1] == old_size:
                setattr(self, name, _resized(array, array.ndim - 1, new_size))
        self.nI = new_size

    def _legacy_dim(self, name: str) -> int:
        value = self.__dict__.get(name)
        if value is None:
            raise ValueError(f"{type(self).__name__} has no '{name}' attribute to resize")
        return int(value)

    def _legacy_arrays(self) -> Iterator[Tuple[str, Any]]:
        for name, value in list(self.__dict__.items()):
            if hasattr(value, "shape") and hasattr(value, "dtype") and not name.startswith("_"):
                yield name, value


def _resized(array, axis: int, new_size: int):
    xp = numpy if isinstance(array, numpy.ndarray) else __import__("cupy")
    shape = list(array.shape)
    keep = min(shape[axis], new_size)
    shape[axis] = new_size
    out = xp.zeros(shape, dtype=array.dtype)
    index = tuple(slice(0, keep) if i == axis else slice(None) for i in range(array.ndim))
    out[index] = array[index]
    return out
