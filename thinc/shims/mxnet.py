"""The shim that holds an MXNet Gluon block: runs it under mxnet.autograd, steps
its parameters with a thinc optimizer and serializes them in MXNet's own format."""

import contextlib
import copy
import os
import tempfile
from typing import Any, Callable, Dict, Iterator, Tuple, cast

import srsly

from .. import compat
from ..types import ArgsKwargs, FloatsXd
from ..util import (
    assert_mxnet_installed,
    convert_recursive,
    get_array_module,
    mxnet2xp,
    xp2mxnet,
)
from .shim import Shim


class MXNetShim(Shim):
    """Holds a mxnet.gluon.Block. Inputs arrive as ArgsKwargs of NDArrays; the
    backprop callback takes ArgsKwargs for mxnet.autograd.backward (heads and
    head_grads) and returns the inputs' gradients in the same structure."""

    def __init__(self, model: Any, config=None, optimizer: Any = None) -> None:
        assert_mxnet_installed()
        super().__init__(model, config, optimizer)

    def __call__(self, inputs: ArgsKwargs, is_train: bool) -> Tuple[Any, Callable]:
        if is_train:
            return self.begin_update(inputs)
        return self.predict(inputs), _no_backprop

    def predict(self, inputs: ArgsKwargs) -> Any:
        """Run the block in predict mode without recording a graph."""
        mx = compat.mxnet
        with mx.autograd.predict_mode(), mx.autograd.pause():
            return self._model(*inputs.args, **inputs.kwargs)

    def begin_update(self, inputs: ArgsKwargs) -> Tuple[Any, Callable]:
        """Run the block in train mode, recording the graph for backprop."""
        mx = compat.mxnet
        with mx.autograd.record(train_mode=True):
            output = self._model(*inputs.args, **inputs.kwargs)

        def backprop(grads: ArgsKwargs) -> Any:
            mx.autograd.backward(*grads.args, **grads.kwargs)
            return convert_recursive(
                lambda x: isinstance(x, mx.nd.NDArray), lambda x: x.grad, inputs
            )

        return output, backprop

    def finish_update(self, optimizer) -> None:
        """Step every parameter that has a gradient, keyed (shim id, parameter name)."""
        for name, param in self._named_params().items():
            if param.grad_req == "null":
                continue
            weights, _ = optimizer(
                (self.id, name),
                cast(FloatsXd, mxnet2xp(param.data())),
                cast(FloatsXd, mxnet2xp(param.grad())),
            )
            param.set_data(xp2mxnet(_private_copy(weights)))
            param.zero_grad()

    def _named_params(self) -> Dict[str, Any]:
        # Structural names ("0.weight") are stable across processes, unlike the
        # global-counter prefixes ("dense3_weight") of collect_params().
        collect = getattr(self._model, "_collect_params_with_prefix", None)
        if collect is not None:
            return dict(collect())
        return dict(self._model.collect_params().items())

    @contextlib.contextmanager
    def use_params(self, params: Dict) -> Iterator[None]:
        """Temporarily load the arrays keyed (this shim's id, parameter name)."""
        named = self._named_params()
        own = {
            key[1]: value
            for key, value in params.items()
            if isinstance(key, tuple) and len(key) == 2 and key[0] == self.id and key[1] in named
        }
        backup = {name: named[name].data().copy() for name in own}
        for name, value in own.items():
            named[name].set_data(xp2mxnet(_private_copy(value)))
        try:
            yield
        finally:
            for name, value in backup.items():
                named[name].set_data(value)

    def copy(self, ctx: Any = None) -> "MXNetShim":
        """A copy whose block has the same structure and weights (on ``ctx``)."""
        mx = compat.mxnet
        if ctx is None:
            ctx = mx.current_context()
        copied = copy.deepcopy(self)
        copied._load_params(self._params_bytes(), ctx)
        # Deep-copied gradient buffers are not registered with autograd:
        # switching gradients off and on again gives the copy fresh ones.
        for param in copied._named_params().values():
            request = param.grad_req
            if request != "null":
                param.grad_req = "null"
                param.grad_req = request
        return copied

    def to_device(self, device_type: str, device_id: int) -> None:
        mx = compat.mxnet
        if device_type == "cpu":
            self._model.collect_params().reset_ctx(mx.cpu())
        elif device_type == "gpu":
            self._model.collect_params().reset_ctx(mx.gpu(device_id))
        else:
            raise ValueError(f"Invalid device_type '{device_type}': expected 'cpu' or 'gpu'")

    def to_bytes(self) -> bytes:
        return srsly.msgpack_dumps({"config": self.cfg, "state": self._params_bytes()})

    def from_bytes(self, bytes_data: bytes) -> "MXNetShim":
        try:
            msg = srsly.msgpack_loads(bytes_data)
        except Exception as error:
            raise ValueError(f"Corrupt MXNetShim bytes: {error}") from error
        if not isinstance(msg, dict) or "config" not in msg or "state" not in msg:
            raise ValueError("MXNetShim bytes must be a map with keys ['config', 'state']")
        if not isinstance(msg["state"], bytes):
            raise ValueError("MXNetShim state must be the bytes of an MXNet parameter file")
        self.cfg = msg["config"]
        self._load_params(msg["state"])
        return self

    def _params_bytes(self) -> bytes:
        # Gluon writes parameters only to a path: MXNet's NDArray file format,
        # which holds arrays and names, nothing executable.
        with _temporary_path() as path:
            self._model.save_parameters(path)
            with open(path, "rb") as file_:
                return file_.read()

    def _load_params(self, params: bytes, ctx: Any = None) -> None:
        mx = compat.mxnet
        with _temporary_path() as path:
            with open(path, "wb") as file_:
                file_.write(params)
            try:
                self._model.load_parameters(path, ctx=ctx)
            except mx.base.MXNetError as error:
                raise ValueError(f"Cannot load MXNet parameters: {error}") from error
            except AssertionError as error:
                # Gluon reports missing or unexpected parameter names by assert.
                raise ValueError(f"MXNet parameters do not fit the block: {error}") from error


class _temporary_path:
    """A fresh file path, removed on exit (MXNet reads and writes by path only)."""

    def __enter__(self) -> str:
        handle, self.path = tempfile.mkstemp(suffix=".params")
        os.close(handle)
        return self.path

    def __exit__(self, *exc_info: Any) -> None:
        if os.path.exists(self.path):
            os.remove(self.path)


def _private_copy(array: Any) -> Any:
    # An NDArray made from a numpy array shares its memory and makes it
    # read-only, so MXNet gets a contiguous copy, never the optimizer's array.
    return get_array_module(array).array(array, order="C", copy=True)


def _no_backprop(grads: Any) -> Any:
    raise ValueError("This output was computed for inference (is_train=False): no backprop")
