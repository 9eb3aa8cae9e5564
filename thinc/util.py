"""Helpers shared across thinc: seeding, widths and one-hot labels, recursion over
nested data, conversions to and from PyTorch/TensorFlow/MXNet that follow an Ops.

It sits above thinc.backends (it imports them; nothing in thinc.backends imports
it), and gathers thinc 8.3's public names: array detection (thinc._frameworks),
device selection (thinc.backends._devices) and data validation (thinc._validation)."""

import contextlib
import functools
import os
import random
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar, Union, cast

import numpy
from packaging.version import Version  # noqa: F401  (re-exported like thinc 8.3)

from . import (
    compat,
    types,  # noqa: F401  (thinc 8.3 exposes the module here)
)
from ._frameworks import (  # noqa: F401  (thinc 8.3's names)
    _cupy_to_torch,
    _torch_to_cupy,
    assert_mxnet_installed,
    assert_pytorch_installed,
    assert_tensorflow_installed,
    get_array_module,
    is_cupy_array,
    is_mxnet_array,
    is_mxnet_gpu_array,
    is_numpy_array,
    is_tensorflow_array,
    is_tensorflow_gpu_array,
    is_torch_array,
    is_torch_cuda_array,
    is_torch_gpu_array,
    is_torch_mps_array,
    is_xp_array,
    mxnet_to_xp,
    tensorflow_to_xp,
    to_numpy,
    torch_to_xp,
)
from ._validation import (  # noqa: F401  (thinc 8.3's names)
    DATA_VALIDATION,
    DataValidationError,
    data_validation,
    validate_fwd_input_output,
)
from .backends._devices import (  # noqa: F401  (thinc 8.3's names)
    get_torch_default_device,
    prefer_gpu,
    require_cpu,
    require_gpu,
    set_active_gpu,
)
from .backends.cupy_ops import CupyOps
from .backends.ops import Ops
from .compat import (  # noqa: F401  (re-exported as in thinc 8.3; read compat.* at call time)
    cupy,
    cupy_from_dlpack,
    has_cupy,
    has_cupy_gpu,
    has_gpu,
    has_mxnet,
    has_tensorflow,
    has_torch,
    has_torch_cuda_gpu,
    has_torch_mps,
    has_torch_mps_gpu,
    torch,
)
from .types import ArgsKwargs, ArrayXd, DTypes, FloatsXd, IntsXd, Padded, Ragged, Shape

__all__ = [
    "ArrayInfo",
    "DATA_VALIDATION",
    "DataValidationError",
    "assert_mxnet_installed",
    "assert_pytorch_installed",
    "assert_tensorflow_installed",
    "convert_recursive",
    "copy_array",
    "data_validation",
    "fix_random_seed",
    "get_array_module",
    "get_torch_default_device",
    "get_width",
    "gpu_is_available",
    "has_cupy",
    "has_torch",
    "is_cupy_array",
    "is_mxnet_array",
    "is_mxnet_gpu_array",
    "is_numpy_array",
    "is_tensorflow_array",
    "is_tensorflow_gpu_array",
    "is_torch_array",
    "is_torch_cuda_array",
    "is_torch_gpu_array",
    "is_torch_mps_array",
    "is_xp_array",
    "iterate_recursive",
    "make_tempfile",
    "mxnet2xp",
    "partial",
    "prefer_gpu",
    "require_cpu",
    "require_gpu",
    "set_active_gpu",
    "smooth_one_hot",
    "tensorflow2xp",
    "to_categorical",
    "to_numpy",
    "torch2xp",
    "use_nvtx_range",
    "validate_fwd_input_output",
    "xp2mxnet",
    "xp2tensorflow",
    "xp2torch",
]

# TensorFlow and MXNet load on request (compat.enable_*), so read them from compat
# at call time; these module attributes only mirror thinc 8.3's names.
tf = compat.tensorflow
mx = compat.mxnet

PartialT = TypeVar("PartialT")


def gpu_is_available() -> bool:
    """Whether a GPU usable by thinc (CUDA through cupy, or Apple MPS) is present."""
    return has_gpu


def fix_random_seed(seed: int = 0) -> None:
    """Seed Python's, numpy's and (where present) PyTorch's and cupy's generators."""
    random.seed(seed)
    # Any int is a seed: numpy takes [0, 2**32) and torch at most 2**64 - 1, so
    # the seed is wrapped into their ranges (negative and huge seeds included).
    numpy.random.seed(seed % 2**32)
    if has_torch:
        torch.manual_seed(seed % 0xFFFF_FFFF_FFFF_FFFF)
    if has_cupy_gpu:
        cupy.random.seed(seed)
    if has_torch_cuda_gpu:
        torch.cuda.manual_seed_all(seed)
        # cuDNN picks kernels by timing unless told to stay deterministic.
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def copy_array(dst: ArrayXd, src: ArrayXd) -> None:
    """Copy ``src`` into ``dst`` in place (shapes must broadcast). Between numpy
    arrays this is an assignment, so values are cast to dst's dtype whatever the
    kinds (float into int truncates)."""
    if isinstance(dst, numpy.ndarray) and isinstance(src, numpy.ndarray):
        dst[...] = src
    elif is_cupy_array(dst):
        cupy.copyto(dst, cupy.asarray(src))
    else:
        # Anything else (a list src, a non-array dst) goes through numpy's own
        # checks: TypeError for a dst that is not an array.
        numpy.copyto(dst, src)  # type: ignore[arg-type]


def get_width(X: Union[ArrayXd, Ragged, Padded, Sequence[ArrayXd]], *, dim: int = -1) -> int:
    """The size of ``X``'s feature dimension (``dim``, the last by default).

    Ragged and Padded look at their data; a list or tuple at its first item (0 if
    empty); anything with ``shape`` and ``ndim`` is an array: a 1d array holds
    class ids, so its width is its largest id plus one, and scalars have width 0.
    Other objects (strings, mappings, other sequences) have no width."""
    if isinstance(X, (str, bytes)):
        # A one-character string is its own first item: recursing never ends.
        raise ValueError(f"Cannot get width of {type(X).__name__} {X[:20]!r}: expected arrays")
    if isinstance(X, Ragged):
        return get_width(X.data, dim=dim)
    if isinstance(X, Padded):
        return get_width(X.data, dim=dim)
    shape = getattr(X, "shape", None) if hasattr(X, "ndim") else None
    if isinstance(shape, int):
        # Not an array shape (spaCy's Token has an int .shape attribute).
        raise ValueError(f"Cannot get width of {type(X).__name__}: its shape is an int")
    if shape is not None:
        if len(shape) == 0:
            return 0
        if len(shape) == 1:
            if shape[0] == 0:
                raise ValueError("Cannot get width of an empty 1d array: it holds no class ids")
            return int(cast(ArrayXd, X).max()) + 1
        return int(shape[dim])
    if isinstance(X, Mapping):
        # Indexing a mapping by 0 looks up a key, not a first item.
        raise ValueError(f"Cannot get width of a mapping ({type(X).__name__}): expected arrays")
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            return 0
        return get_width(X[0], dim=dim)
    raise ValueError(
        f"Cannot get width of object: has neither shape nor __getitem__ ({type(X).__name__}: "
        "expected an array, Ragged, Padded, or a list or tuple of them)"
    )


class LabelTypeError(ValueError, IndexError):
    """Labels or truths that should be class indices are not integers (floats,
    strings). It is also an IndexError because thinc 8.3 raised one (indexing
    its one-hot table with them), and callers may catch that."""


def to_categorical(
    Y: IntsXd, n_classes: Optional[int] = None, *, label_smoothing: float = 0.0
) -> FloatsXd:
    """One-hot float32 encoding of integer labels, with an extra last axis of
    ``n_classes``. With label smoothing, the gold class gets 1 - label_smoothing
    and the rest share label_smoothing equally."""
    if label_smoothing < 0:
        raise ValueError("Label-smoothing parameter has to be greater than or equal to 0")
    xp = get_array_module(Y)
    labels = xp.asarray(Y)
    if labels.size and labels.dtype.kind not in "iu":
        raise LabelTypeError(f"to_categorical expects integer labels, got dtype {labels.dtype}")
    if n_classes is None:
        if labels.size == 0:
            raise ValueError("Cannot infer n_classes from an empty label array: pass n_classes")
        n_classes = int(labels.max()) + 1
    elif n_classes < 1:
        raise ValueError(f"n_classes should be at least 1, got {n_classes}")
    # The arguments are checked before the labels, in thinc 8.3's order: too
    # few classes for smoothing is a ValueError even where a label is too big.
    if label_smoothing:
        if n_classes < 2:
            raise ValueError(
                "n_classes should be greater than 1 when label smoothing is enabled, "
                f"but {n_classes} was provided."
            )
        upper = (n_classes - 1) / n_classes
        if label_smoothing >= upper:
            raise ValueError(
                f"For {n_classes} classes label_smoothing parameter has to be less than "
                f"{upper}, but found {label_smoothing}."
            )
        off_value = label_smoothing / (n_classes - 1)
    else:
        off_value = 0.0
    if labels.size:
        lowest, highest = int(labels.min()), int(labels.max())
        if lowest < 0 or highest >= n_classes:
            bad = lowest if lowest < 0 else highest
            raise IndexError(f"label {bad} is out of range for {n_classes} classes")
    flat = labels.reshape(-1).astype("int64")
    out = xp.full((flat.shape[0], n_classes), off_value, dtype="float32")
    out[xp.arange(flat.shape[0]), flat] = 1.0 - label_smoothing
    return cast(FloatsXd, out.reshape(labels.shape + (n_classes,)))


def smooth_one_hot(X: Any, label_smoothing: float) -> Any:
    """Apply label smoothing to one-hot rows of a 2d array (returns a new array)."""
    if X.ndim != 2:
        raise ValueError(f"smooth_one_hot expects a 2d array, got {X.ndim} dimensions")
    n_classes = X.shape[1]
    if label_smoothing < 0:
        raise ValueError("Label-smoothing parameter has to be greater than or equal to 0")
    if n_classes < 2:
        raise ValueError(f"n_classes should be greater than 1, but {n_classes} was provided.")
    upper = (n_classes - 1) / n_classes
    if label_smoothing >= upper:
        raise ValueError(
            f"For {n_classes} classes label_smoothing parameter has to be less than "
            f"{upper}, but found {label_smoothing}."
        )
    off_value = label_smoothing / (n_classes - 1)
    out = X.astype("float32", copy=True)
    out[X == 1] = 1.0 - label_smoothing
    out[X == 0] = off_value
    return out


def partial(func: Callable[..., PartialT], *args: Any, **kwargs: Any) -> Callable[..., PartialT]:
    """functools.partial that keeps the wrapped function's docstring."""
    bound = functools.partial(func, *args, **kwargs)
    bound.__doc__ = func.__doc__
    return bound


def convert_recursive(
    is_match: Callable[[Any], bool], convert_item: Callable[[Any], Any], obj: Any
) -> Any:
    """Rebuild ``obj`` (lists, tuples, dicts and ArgsKwargs, nested), converting
    every item for which ``is_match`` holds, dict keys included."""
    if is_match(obj):
        return convert_item(obj)
    if isinstance(obj, ArgsKwargs):
        converted = convert_recursive(is_match, convert_item, list(obj.items()))
        return ArgsKwargs.from_items(converted)
    if isinstance(obj, dict):
        return {
            convert_recursive(is_match, convert_item, key): convert_recursive(
                is_match, convert_item, value
            )
            for key, value in obj.items()
        }
    if isinstance(obj, list):
        return [convert_recursive(is_match, convert_item, item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(convert_recursive(is_match, convert_item, item) for item in obj)
    return obj


def iterate_recursive(is_match: Callable[[Any], bool], obj: Any) -> Any:
    """Yield every item of ``obj`` (nested lists, tuples, dicts, ArgsKwargs) for
    which ``is_match`` holds, dict keys included."""
    if is_match(obj):
        yield obj
    elif isinstance(obj, ArgsKwargs):
        yield from iterate_recursive(is_match, list(obj.items()))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from iterate_recursive(is_match, key)
            yield from iterate_recursive(is_match, value)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iterate_recursive(is_match, item)


def xp2torch(
    xp_tensor: ArrayXd,
    requires_grad: bool = False,
    device: Optional["torch.device"] = None,  # type: ignore[name-defined]
) -> "torch.Tensor":  # type: ignore[name-defined]
    """A torch tensor for a numpy or cupy array, sharing memory where possible
    (numpy on CPU, DLPack for cupy), on ``device`` (default: the current ops')."""
    assert_pytorch_installed()
    if device is None:
        device = get_torch_default_device()
    torch_tensor: Any
    if is_torch_array(xp_tensor):
        torch_tensor = xp_tensor
    elif is_cupy_array(xp_tensor):
        torch_tensor = _cupy_to_torch(xp_tensor)
    else:
        array = numpy.asarray(xp_tensor)
        # torch.from_numpy refuses negative strides and non-native byte order.
        if any(stride < 0 for stride in array.strides) or not array.dtype.isnative:
            array = numpy.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
        if not array.flags.writeable:
            array = array.copy()
        torch_tensor = torch.from_numpy(array)
    if torch_tensor.device != device:
        torch_tensor = torch_tensor.to(device)
    if requires_grad:
        torch_tensor.requires_grad_()
    return torch_tensor


def _wants_numpy(ops: Optional[Ops]) -> bool:
    # Only CupyOps keeps its arrays on the GPU; any other backend gets host arrays.
    return not isinstance(ops, CupyOps)


def torch2xp(
    torch_tensor: "torch.Tensor",
    *,
    ops: Optional[Ops] = None,  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for a torch tensor: cupy for CUDA tensors unless
    ``ops`` is a CPU backend, numpy otherwise (or ``ops.asarray`` of it)."""
    if ops is not None and is_torch_cuda_array(torch_tensor) and _wants_numpy(ops):
        return ops.asarray(torch_tensor.detach().cpu().numpy())
    array = torch_to_xp(torch_tensor)
    if ops is None or is_torch_cuda_array(torch_tensor):
        return array
    return ops.asarray(array)


def xp2tensorflow(
    xp_tensor: ArrayXd, requires_grad: bool = False, as_variable: bool = False
) -> "tf.Tensor":  # type: ignore[name-defined]
    """A TensorFlow tensor (or Variable) for a numpy or cupy array."""
    assert_tensorflow_installed()
    tensorflow = compat.tensorflow
    if is_cupy_array(xp_tensor):
        tf_tensor = tensorflow.experimental.dlpack.from_dlpack(cast(Any, xp_tensor).toDlpack())
    else:
        tf_tensor = tensorflow.convert_to_tensor(xp_tensor)
    if as_variable:
        with tensorflow.device(tf_tensor.device):
            tf_tensor = tensorflow.Variable(tf_tensor, trainable=requires_grad)
    elif not requires_grad:
        tf_tensor = tensorflow.stop_gradient(tf_tensor)
    return tf_tensor


def tensorflow2xp(
    tf_tensor: "tf.Tensor",
    *,
    ops: Optional[Ops] = None,  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for a TensorFlow tensor."""
    if ops is None or (is_tensorflow_gpu_array(tf_tensor) and not _wants_numpy(ops)):
        return tensorflow_to_xp(tf_tensor)
    assert_tensorflow_installed()
    return ops.asarray(tf_tensor.numpy())


def xp2mxnet(xp_tensor: ArrayXd, requires_grad: bool = False) -> "mx.nd.NDArray":  # type: ignore[name-defined]
    """An MXNet NDArray for a numpy or cupy array."""
    assert_mxnet_installed()
    mxnet = compat.mxnet
    if is_cupy_array(xp_tensor):
        mx_tensor = mxnet.nd.from_dlpack(cast(Any, xp_tensor).toDlpack())
    else:
        # A zero-copy view would mark the caller's numpy array read-only.
        mx_tensor = mxnet.nd.from_numpy(xp_tensor, zero_copy=False)
    if requires_grad:
        mx_tensor.attach_grad()
    return mx_tensor


def mxnet2xp(
    mx_tensor: "mx.nd.NDArray",
    *,
    ops: Optional[Ops] = None,  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for an MXNet NDArray."""
    if ops is None or (is_mxnet_gpu_array(mx_tensor) and not _wants_numpy(ops)):
        return mxnet_to_xp(mx_tensor)
    assert_mxnet_installed()
    return ops.asarray(mx_tensor.detach().asnumpy())


@contextlib.contextmanager
def make_tempfile(mode: str = "r") -> Iterator[Any]:
    """A named temporary file, closed and deleted when the block exits."""
    handle = tempfile.NamedTemporaryFile(mode=mode, delete=False)
    try:
        yield handle
    finally:
        handle.close()
        if os.path.exists(handle.name):
            os.remove(handle.name)


@contextlib.contextmanager
def use_nvtx_range(message: str, id_color: int = -1) -> Iterator[None]:
    """Mark the block as an NVTX range for GPU profilers; a no-op without a GPU."""
    nvtx = getattr(getattr(cupy, "cuda", None), "nvtx", None) if has_cupy_gpu else None
    if nvtx is None:
        yield
        return
    if id_color >= 0:
        nvtx.RangePush(message, id_color)
    else:
        nvtx.RangePush(message)
    try:
        yield
    finally:
        nvtx.RangePop()


@dataclass
class ArrayInfo:
    """The shape and dtype of a forward output, to check its gradient against."""

    shape: Shape
    dtype: DTypes

    @classmethod
    def from_array(cls, arr: ArrayXd) -> "ArrayInfo":
        return cls(shape=arr.shape, dtype=arr.dtype)

    def check_consistency(self, arr: ArrayXd) -> None:
        """Raise ValueError if ``arr`` differs in shape or dtype."""
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch in backprop. Y: {self.shape}, dY: {arr.shape}")
        if arr.dtype != self.dtype:
            raise ValueError(f"Type mismatch in backprop. Y: {self.dtype}, dY: {arr.dtype}")
