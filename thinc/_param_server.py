"""Storage for a model tree's parameters and gradients, keyed by (model id, name).

Every node keeps its arrays here; optimizers see the same keys, so a shared
layer is updated once however often it appears in the tree."""

from typing import Any, Callable, Dict, Optional, Tuple

Key = Tuple[int, str]


def _numpy_add_declined(grad: Any, value: Any) -> bool:
    return False


# NumpyOps' compiled ``grad += value`` (numpy arrays of one float dtype and one
# shape; False where the caller must add), registered by thinc.backends.numpy_ops
# when it is imported: the backends import this module, so it cannot import them.
_compiled_add: Callable[[Any, Any], bool] = _numpy_add_declined


def register_compiled_add(add: Callable[[Any, Any], bool]) -> None:
    global _compiled_add
    _compiled_add = add


# thinc 8.3's name for the key type, which other packages import.
KeyT = Key


class ParamServer:
    """Serve parameters for a single process.

    With a ``proxy`` (an object with get_param/set_param/set_grad/inc_grad),
    reads and writes of params and writes of gradients go to the proxy
    instead, e.g. to a parameter server in another process."""

    def __init__(
        self,
        params: Dict[Key, Any] = {},
        grads: Dict[Key, Any] = {},
        *,
        proxy: Optional[Any] = None,
    ) -> None:
        # Copy the mappings: the defaults are shared objects.
        self._params: Dict[Key, Any] = dict(params)
        self._grads: Dict[Key, Any] = dict(grads)
        self.proxy = proxy

    @property
    def param_keys(self) -> Tuple[Key, ...]:
        """The (model id, name) keys that have a parameter."""
        return tuple(self._params.keys())

    @property
    def grad_keys(self) -> Tuple[Key, ...]:
        """The keys of the params held here that have a gradient, in param order
        (a gradient set for a key without a param is not reported, as in thinc 8.3)."""
        return tuple(key for key in self._params if key in self._grads)

    def has_param(self, model_id: int, name: str) -> bool:
        return (model_id, name) in self._params

    def has_grad(self, model_id: int, name: str) -> bool:
        return (model_id, name) in self._grads

    def get_param(self, model_id: int, name: str) -> Any:
        key = (model_id, name)
        if self.proxy is not None:
            # Kept, as thinc 8.3 does, so has_param and param_keys see it.
            self._params[key] = self.proxy.get_param(model_id, name)
        return self._params[key]

    def get_grad(self, model_id: int, name: str) -> Any:
        return self._grads[(model_id, name)]

    def set_param(self, model_id: int, name: str, value: Any) -> None:
        if self.proxy is not None:
            self.proxy.set_param(model_id, name, value)
        self._params[(model_id, name)] = value

    def set_grad(self, model_id: int, name: str, value: Any) -> None:
        if self.proxy is not None:
            self.proxy.set_grad(model_id, name, value)
        else:
            self._grads[(model_id, name)] = value

    def inc_grad(self, model_id: int, name: str, value: Any) -> None:
        """Add ``value`` to the gradient; the first increment stores a copy, so
        the caller's array is never modified by later increments."""
        key = (model_id, name)
        if self.proxy is not None:
            self.proxy.inc_grad(model_id, name, value)
        elif key not in self._grads:
            self._grads[key] = value.copy()
        else:
            grad = self._grads[key]
            # A compiled add for numpy arrays (spaCy's parser adds a transposed
            # view every step, which numpy would copy through a buffer first).
            if not _compiled_add(grad, value):
                grad += value
                # Stored again: a gradient set to a scalar (set_grad(name, 0.0)
                # to clear it) becomes an array here, as in thinc 8.3; an
                # array is the same object it was.
                self._grads[key] = grad
