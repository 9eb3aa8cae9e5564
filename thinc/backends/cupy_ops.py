"""The CUDA backend: Ops over cupy arrays, with a CUDA kernel for every op that
thinc 8.3 runs as one, plus the fused layer steps. Importable without cupy
(``xp`` is then None); creating one needs cupy and a CUDA GPU."""

import inspect
from typing import Any, Dict, List, Optional, Tuple

import numpy

from .. import compat
from .._frameworks import (
    is_cupy_array,
    is_mxnet_gpu_array,
    is_tensorflow_gpu_array,
    is_torch_array,
    is_torch_cuda_array,
    mxnet_to_xp,
    tensorflow_to_xp,
    torch_to_xp,
)
from ..compat import cupy, cupyx
from ..types import DeviceTypes
from . import _custom_kernels
from ._checks import _check_layer_norm_gradient, _check_layer_norm_inputs, _check_maxout_inputs
from .ops import Ops

_KERNEL_DTYPES = (numpy.dtype("float32"), numpy.dtype("float64"))


def _forward_op(name: str) -> Any:
    """CupyOps' method for forward row ``name``, with the reference method's
    parameters: the row's kernel for float32 and float64 arrays of this backend,
    the reference method for anything else."""

    def run(self: "CupyOps", X: Any, params: Tuple, inplace: bool) -> Any:
        if self._on_device(X):
            return _custom_kernels.activation(name, X, params, inplace=inplace)
        return getattr(super(CupyOps, self), name)(X, *params, inplace=inplace)

    # One variant per parameter list the reference methods have.
    variants = {
        "X, inplace": lambda self, X, inplace=False: run(self, X, (), inplace),
        "X, *, inplace": lambda self, X, *, inplace=False: run(self, X, (), inplace),
        "Y, *, inplace": lambda self, Y, *, inplace=False: run(self, Y, (), inplace),
        "X, threshold, inplace": lambda self, X, threshold=20.0, inplace=False: run(
            self, X, (threshold,), inplace
        ),
    }
    return _named(variants, name)


def _backward_op(name: str) -> Any:
    """CupyOps' method for backward row ``name``: dY and the saved array (of one
    shape and dtype) to the row's kernel, anything else to the reference."""

    def run(self: "CupyOps", dY: Any, saved: Any, params: Tuple, inplace: bool) -> Any:
        if self._same_shape(dY, saved):
            return _custom_kernels.activation_backward(name, dY, saved, params, inplace=inplace)
        return getattr(super(CupyOps, self), name)(dY, saved, *params, inplace=inplace)

    variants = {
        "dY, X, inplace": lambda self, dY, X, inplace=False: run(self, dY, X, (), inplace),
        "dY, Y, inplace": lambda self, dY, Y, inplace=False: run(self, dY, Y, (), inplace),
        "dY, Y, *, inplace": lambda self, dY, Y, *, inplace=False: run(self, dY, Y, (), inplace),
        "dY, X, threshold, inplace": lambda self, dY, X, threshold=20.0, inplace=False: run(
            self, dY, X, (threshold,), inplace
        ),
    }
    return _named(variants, name)


def _parameter_list(function: Any) -> str:
    """ "X, *, inplace" for f(self, X, *, inplace=False), defaults aside."""
    names = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in names:
            names.append("*")
        names.append(parameter.name)
    return ", ".join(names)


def _named(variants: Dict[str, Any], name: str) -> Any:
    """The variant with the reference method's parameters (and defaults), named
    and documented as it is."""
    reference = getattr(Ops, name)
    method = variants[_parameter_list(reference)]
    defaults = {
        key: value.default
        for key, value in inspect.signature(reference).parameters.items()
        if value.default is not inspect.Parameter.empty
    }
    if method.__defaults__:
        positional = [key for key in inspect.signature(method).parameters][
            -len(method.__defaults__) :
        ]
        method.__defaults__ = tuple(defaults[key] for key in positional)
    if method.__kwdefaults__:
        method.__kwdefaults__ = {key: defaults[key] for key in method.__kwdefaults__}
    method.__name__ = name
    method.__qualname__ = f"CupyOps.{name}"
    method.__doc__ = reference.__doc__
    return method


class CupyOps(Ops):
    """Ops on the GPU. Array code inherited from Ops runs unchanged on cupy; the
    overrides here launch CUDA kernels (_custom_kernels) for float32 and float64
    arrays, after the same input checks as the CPU backend, and leave other
    dtypes and mixed inputs to the reference code."""

    name = "cupy"
    xp = cupy
    _xp2 = cupyx

    def __init__(self, device_type: DeviceTypes = "gpu", device_id: int = 0, **kwargs: Any) -> None:
        # Refused here rather than at the first op, which would fail on a None
        # array module (a subclass may bring its own array module).
        if type(self).xp is None:
            raise ValueError(
                "CupyOps needs CuPy, which is not installed: pip install cupy-cuda12x "
                "(or the wheel for your CUDA version), or use NumpyOps"
            )
        if type(self).xp is cupy and not compat.has_cupy_gpu:
            raise ValueError(
                "CupyOps needs a CUDA GPU, and CuPy found none (no device, or no working "
                "driver): use NumpyOps, or thinc.api.prefer_gpu() to fall back to the CPU"
            )
        super().__init__(device_type=device_type, device_id=device_id, **kwargs)

    @staticmethod
    def paths() -> dict:
        """What runs each op family on the GPU."""
        kernels = "CUDA kernels (thinc/backends/_custom_kernels.cu), float32 and float64"
        return {
            "isa": {"cpu": None, "active": None},
            "kernels": {
                "elementwise": kernels,
                "rows": kernels + " (maxout); softmax as cupy array code",
                "sequences": kernels,
                "tables": kernels + " (gather_add, hash); scatter_add through cupyx",
                "optimizers": kernels + " (adam)",
                "norm": kernels + " (layer norm, maxout with bias)",
                "other": "cupy array code (thinc.backends.ops.Ops)",
            },
            "gemm": {"all": "cuBLAS through cupy.dot", "forced": None},
            "threads": None,
        }

    def _on_device(self, *arrays: Any) -> bool:
        """Whether the kernels take these arrays: this backend's arrays, float32
        or float64, all of one dtype."""
        array_type = getattr(self.xp, "ndarray", None)
        if array_type is None or not all(isinstance(array, array_type) for array in arrays):
            return False
        dtype = arrays[0].dtype
        return dtype in _KERNEL_DTYPES and all(array.dtype == dtype for array in arrays)

    def _same_shape(self, *arrays: Any) -> bool:
        return self._on_device(*arrays) and all(a.shape == arrays[0].shape for a in arrays)

    # ------------------------------------------------------------- conversions

    def to_numpy(self, data: Any, *, byte_order: Optional[str] = None) -> numpy.ndarray:
        """Copy a device array to the host (optionally in the given byte order)."""
        if is_cupy_array(data):
            array = data.get()
        elif is_torch_array(data):
            array = data.detach().cpu().numpy()
        else:
            array = numpy.asarray(data)
        if byte_order:
            array = array.astype(array.dtype.newbyteorder(byte_order))
        return array

    def asarray(self, data: Any, dtype: Optional[Any] = None) -> Any:
        """A device array for ``data``: cupy arrays pass through, GPU tensors from
        other frameworks are shared through DLPack, anything else is copied over."""
        if is_cupy_array(data):
            array = data
        elif is_torch_cuda_array(data):
            array = torch_to_xp(data)
        elif is_torch_array(data):
            array = self.xp.asarray(data.detach().cpu().numpy())
        elif is_tensorflow_gpu_array(data):
            array = tensorflow_to_xp(data)
        elif is_mxnet_gpu_array(data):
            array = mxnet_to_xp(data)
        elif isinstance(data, (list, tuple)) and data and all(is_cupy_array(item) for item in data):
            array = self.xp.stack(data)
        else:
            return self.xp.asarray(data, dtype=dtype)
        if dtype is not None and array.dtype != numpy.dtype(dtype):
            array = array.astype(dtype)
        return array

    def gemm(
        self,
        x: Any,
        y: Any,
        out: Optional[Any] = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> Any:
        if self.xp is not numpy and (isinstance(x, numpy.ndarray) or isinstance(y, numpy.ndarray)):
            raise ValueError(
                "CupyOps.gemm got a numpy array: move inputs to the GPU first (model.ops.asarray)"
            )
        return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)

    # ------------------------------------------------------------- activations

    # One line per activation, with the reference's signature (see the
    # factories below the class); clipped_linear and swish's gradient differ.
    relu = _forward_op("relu")
    sigmoid = _forward_op("sigmoid")
    dsigmoid = _forward_op("dsigmoid")
    dtanh = _forward_op("dtanh")
    swish = _forward_op("swish")
    hard_swish = _forward_op("hard_swish")
    hard_swish_mobilenet = _forward_op("hard_swish_mobilenet")
    dish = _forward_op("dish")
    gelu = _forward_op("gelu")
    gelu_approx = _forward_op("gelu_approx")
    mish = _forward_op("mish")
    backprop_relu = _backward_op("backprop_relu")
    backprop_sigmoid = _backward_op("backprop_sigmoid")
    backprop_hard_swish = _backward_op("backprop_hard_swish")
    backprop_hard_swish_mobilenet = _backward_op("backprop_hard_swish_mobilenet")
    backprop_dish = _backward_op("backprop_dish")
    backprop_gelu = _backward_op("backprop_gelu")
    backprop_gelu_approx = _backward_op("backprop_gelu_approx")
    backprop_mish = _backward_op("backprop_mish")

    def clipped_linear(
        self,
        X: Any,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> Any:
        params = (slope, offset, min_val, max_val)
        # A NaN bound makes every output NaN in the reference: left to it.
        if self._on_device(X) and not any(value != value for value in params):
            return _custom_kernels.activation("clipped_linear", X, params, inplace=inplace)
        return super().clipped_linear(X, slope, offset, min_val, max_val, inplace=inplace)

    def backprop_clipped_linear(
        self,
        dY: Any,
        X: Any,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> Any:
        params = (slope, offset, min_val, max_val)
        # A zero slope (the reference divides by it) or a NaN goes to the reference.
        if self._same_shape(dY, X) and slope != 0 and not any(v != v for v in params):
            # The open interval of inputs where the output is not clipped, worked
            # out as the reference does.
            low = (min_val - offset) / slope
            high = (max_val - offset) / slope
            if slope < 0:
                low, high = high, low
            return _custom_kernels.activation_backward(
                "backprop_clipped_linear", dY, X, (slope, low, high), inplace=inplace
            )
        return super().backprop_clipped_linear(
            dY, X, slope, offset, min_val, max_val, inplace=inplace
        )

    def backprop_swish(self, dY: Any, X: Any, Y: Any, inplace: bool = False) -> Any:
        if self._same_shape(dY, X, Y):
            return _custom_kernels.backprop_swish(dY, X, Y, inplace=inplace)
        return super().backprop_swish(dY, X, Y, inplace=inplace)

    # ------------------------------------------------------------------ maxout

    def maxout(self, X: Any) -> Tuple[Any, Any]:
        if self._on_device(X) and X.ndim == 3:
            return _custom_kernels.maxout(X)
        return super().maxout(X)

    def backprop_maxout(self, dY: Any, which: Any, P: int) -> Any:
        if self._on_device(dY) and dY.ndim == 2 and getattr(which, "dtype", None) is not None:
            return _custom_kernels.backprop_maxout(dY, which, P)
        return super().backprop_maxout(dY, which, P)

    def _maxout_forward(
        self, X: Any, W: Any, b: Any, *, keep_which: bool = True
    ) -> Tuple[Any, Optional[Any]]:
        """The pieces by one gemm, then bias and max in one kernel."""
        _check_maxout_inputs(X, W, b)
        if not self._on_device(X, W, b):
            return Ops._maxout_forward(self, X, W, b, keep_which=keep_which)
        nO, nP, nI = W.shape
        pieces = self.gemm(X, W.reshape(nO * nP, nI), trans2=True)
        best, which = _custom_kernels.maxout_with_bias(pieces.reshape(X.shape[0], nO, nP), b)
        return best, (which if keep_which else None)

    def _maxout_piece_gradients(self, d_best: Any, which: Any, nP: int) -> Tuple[Any, Any]:
        d_pieces = self.backprop_maxout(d_best, which, nP)
        return d_pieces.reshape(d_pieces.shape[0], d_best.shape[1] * nP), d_pieces.sum(axis=0)

    # -------------------------------------------------------------- layer norm

    def _layer_norm_forward(
        self, X: Any, G: Any, b: Any, epsilon: float = 1e-08
    ) -> Tuple[Any, Tuple[Any, Any]]:
        _check_layer_norm_inputs(X, G, b)
        if not self._on_device(X, G, b):
            return Ops._layer_norm_forward(self, X, G, b, epsilon)
        Y, mean, inverse_std = _custom_kernels.layer_norm_forward(X, G, b, epsilon)
        return Y, (mean, inverse_std)

    def _layer_norm_backward(
        self, dY: Any, X: Any, G: Any, mean: Any, inverse_std: Any
    ) -> Tuple[Any, Any, Any]:
        _check_layer_norm_gradient(dY, X, G, mean, inverse_std)
        if not self._on_device(dY, X, G, mean, inverse_std):
            return Ops._layer_norm_backward(self, dY, X, G, mean, inverse_std)
        return _custom_kernels.layer_norm_backward(dY, X, G, mean, inverse_std)

    # --------------------------------------------------------------- sequences

    def seq2col(self, seq: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
        if self._on_device(seq) and seq.ndim == 2:
            return _custom_kernels.seq2col(seq, nW, lengths=lengths)
        return super().seq2col(seq, nW, lengths=lengths)

    def backprop_seq2col(self, dY: Any, nW: int, *, lengths: Optional[Any] = None) -> Any:
        if self._on_device(dY) and dY.ndim == 2:
            return _custom_kernels.backprop_seq2col(dY, nW, lengths=lengths)
        return super().backprop_seq2col(dY, nW, lengths=lengths)

    def reduce_sum(self, X: Any, lengths: Any) -> Any:
        if self._on_device(X) and X.ndim == 2:
            return _custom_kernels.reduce_sum(X, lengths)
        return super().reduce_sum(X, lengths)

    def reduce_mean(self, X: Any, lengths: Any) -> Any:
        if self._on_device(X) and X.ndim == 2:
            return _custom_kernels.reduce_mean(X, lengths)
        return super().reduce_mean(X, lengths)

    def reduce_max(self, X: Any, lengths: Any) -> Tuple[Any, Any]:
        if self._on_device(X) and X.ndim == 2:
            return _custom_kernels.reduce_max(X, lengths)
        return super().reduce_max(X, lengths)

    def backprop_reduce_sum(self, d_sums: Any, lengths: Any) -> Any:
        if self._on_device(d_sums):
            return _custom_kernels.backprop_reduce_sum(d_sums, lengths)
        return super().backprop_reduce_sum(d_sums, lengths)

    def backprop_reduce_mean(self, d_means: Any, lengths: Any) -> Any:
        if self._on_device(d_means):
            return _custom_kernels.backprop_reduce_mean(d_means, lengths)
        return super().backprop_reduce_mean(d_means, lengths)

    def backprop_reduce_max(self, d_maxes: Any, which: Any, lengths: Any) -> Any:
        if self._on_device(d_maxes) and getattr(which, "dtype", None) is not None:
            return _custom_kernels.backprop_reduce_max(d_maxes, which, lengths)
        return super().backprop_reduce_max(d_maxes, which, lengths)

    def pad(self, seqs: List[Any], round_to: int = 1) -> Any:
        array_type = getattr(self.xp, "ndarray", None)
        if (
            seqs
            and array_type is not None
            and all(isinstance(seq, array_type) for seq in seqs)
            and seqs[0].dtype in _custom_kernels.PAD_SUFFIXES
        ):
            return _custom_kernels.pad(seqs, round_to)
        return super().pad(seqs, round_to)

    # ------------------------------------------------------- tables, training

    def hash(self, ids: Any, seed: int) -> Any:
        if getattr(ids, "ndim", None) == 1 and ids.dtype.kind in "iu":
            # Signed ids hash as their two's-complement bytes, as in the reference.
            return _custom_kernels.hash(ids.astype("uint64", copy=False), seed)
        return super().hash(ids, seed)

    def gather_add(self, table: Any, indices: Any) -> Any:
        if self._on_device(table) and table.ndim == 2 and getattr(indices, "ndim", 0) == 2:
            return _custom_kernels.gather_add(table, indices)
        return super().gather_add(table, indices)

    def adam(
        self,
        weights: Any,
        gradient: Any,
        mom1: Any,
        mom2: Any,
        beta1: float,
        beta2: float,
        eps: float,
        learn_rate: float,
        mod_rate: float = 1.0,
    ) -> Tuple[Any, Any, Any, Any]:
        contiguous = all(
            getattr(getattr(a, "flags", None), "c_contiguous", False) for a in (weights, mom1, mom2)
        )
        if self._same_shape(weights, gradient, mom1, mom2) and contiguous:
            _custom_kernels.adam(
                weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate, mod_rate
            )
            result = (weights, gradient, mom1, mom2)
        else:
            result = super().adam(
                weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate, mod_rate
            )
        # The gradient comes back consumed (zeroed), as from NumpyOps and thinc 8.3.
        gradient.fill(0)
        return result
