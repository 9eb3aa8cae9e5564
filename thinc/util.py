"""Helpers shared across thinc: array-module and device detection, GPU selection,
conversions to and from PyTorch/TensorFlow/MXNet, seeding and data validation."""

import contextlib
import functools
import inspect
import os
import platform
import random
import tempfile
import typing
from contextvars import ContextVar
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

import numpy
from packaging.version import Version  # noqa: F401  (re-exported like thinc 8.3)

from . import (
    compat,
    types,  # noqa: F401  (thinc 8.3 exposes the module here)
)
from .compat import (
    cupy,
    cupy_from_dlpack,
    has_cupy,
    has_cupy_gpu,
    has_gpu,
    has_mxnet,  # noqa: F401  (re-exported as in thinc 8.3; read compat.* at call time)
    has_tensorflow,  # noqa: F401
    has_torch,
    has_torch_cuda_gpu,
    has_torch_mps,
    has_torch_mps_gpu,
    torch,
)
from .types import ArgsKwargs, ArrayXd, DTypes, FloatsXd, IntsXd, Padded, Ragged, Shape

try:
    from confection.validation import validate_type
except ImportError:  # older confection: fall back to pydantic directly
    validate_type = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .backends.ops import Ops

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

# Whether Model forward passes validate their inputs/outputs against annotations.
# A ContextVar, so each thread and asyncio task can switch it independently.
DATA_VALIDATION: ContextVar[bool] = ContextVar("DATA_VALIDATION", default=False)

PartialT = TypeVar("PartialT")


def get_array_module(arr: Any) -> Any:
    """The array module (numpy or cupy) that owns ``arr``; numpy for anything else."""
    if is_cupy_array(arr):
        return cupy.get_array_module(arr)
    return numpy


def gpu_is_available() -> bool:
    """Whether a GPU usable by thinc (CUDA through cupy, or Apple MPS) is present."""
    return has_gpu


def fix_random_seed(seed: int = 0) -> None:
    """Seed Python's, numpy's and (where present) PyTorch's and cupy's generators."""
    random.seed(seed)
    numpy.random.seed(seed)
    if has_torch:
        torch.manual_seed(seed)
    if has_cupy_gpu:
        cupy.random.seed(seed)
    if has_torch_cuda_gpu:
        torch.cuda.manual_seed_all(seed)
        # cuDNN picks kernels by timing unless told to stay deterministic.
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def is_xp_array(obj: Any) -> bool:
    """Whether ``obj`` is a numpy or cupy array."""
    return is_numpy_array(obj) or is_cupy_array(obj)


def is_cupy_array(obj: Any) -> bool:
    return has_cupy and isinstance(obj, cupy.ndarray)


def is_numpy_array(obj: Any) -> bool:
    return isinstance(obj, numpy.ndarray)


def is_torch_array(obj: Any) -> bool:
    return torch is not None and isinstance(obj, torch.Tensor)


def is_torch_cuda_array(obj: Any) -> bool:
    return is_torch_array(obj) and obj.is_cuda


def is_torch_mps_array(obj: Any) -> bool:
    return is_torch_array(obj) and getattr(obj, "is_mps", False)


def is_torch_gpu_array(obj: Any) -> bool:
    return is_torch_cuda_array(obj) or is_torch_mps_array(obj)


def is_tensorflow_array(obj: Any) -> bool:
    return compat.has_tensorflow and isinstance(obj, compat.tensorflow.Tensor)


def is_tensorflow_gpu_array(obj: Any) -> bool:
    return is_tensorflow_array(obj) and "GPU:" in obj.device


def is_mxnet_array(obj: Any) -> bool:
    return compat.has_mxnet and isinstance(obj, compat.mxnet.nd.NDArray)


def is_mxnet_gpu_array(obj: Any) -> bool:
    return is_mxnet_array(obj) and obj.context.device_type != "cpu"


def to_numpy(data: Any) -> numpy.ndarray:
    """A numpy copy or view of an array from any supported framework."""
    if isinstance(data, numpy.ndarray):
        return data
    if is_cupy_array(data):
        return data.get()
    if is_torch_array(data):
        return data.detach().cpu().numpy()
    if is_tensorflow_array(data) or is_mxnet_array(data):
        return data.numpy() if hasattr(data, "numpy") else data.asnumpy()
    return numpy.array(data)


def set_active_gpu(gpu_id: int) -> "cupy.cuda.Device":  # type: ignore[name-defined]
    """Make CUDA device ``gpu_id`` current for cupy (and PyTorch, where present)."""
    if not has_cupy_gpu:
        raise ValueError("No CUDA GPU devices detected")
    device = cupy.cuda.device.Device(gpu_id)
    device.use()
    if has_torch_cuda_gpu:
        torch.cuda.set_device(gpu_id)
    return device


def require_cpu() -> bool:
    """Make the CPU backend current. Always returns True."""
    from .backends import get_ops, set_current_ops

    set_current_ops(get_ops("cpu"))
    return True


def prefer_gpu(gpu_id: int = 0) -> bool:
    """Use the GPU if there is one; returns whether it does."""
    if has_gpu:
        require_gpu(gpu_id)
    return has_gpu


def require_gpu(gpu_id: int = 0) -> bool:
    """Make a GPU backend current (CupyOps, or MPSOps on Apple silicon); raise
    ValueError when no usable GPU exists."""
    from .backends import CupyOps, MPSOps, set_current_ops

    if has_cupy_gpu:
        set_current_ops(CupyOps())
        set_active_gpu(gpu_id)
    elif has_torch_mps_gpu:
        set_current_ops(MPSOps())
    elif platform.system() == "Darwin":
        if not has_torch:
            raise ValueError("Cannot use GPU, PyTorch is not installed")
        if not has_torch_mps:
            raise ValueError("Cannot use GPU, installed PyTorch does not support MPS")
        raise ValueError("No GPU devices detected")
    elif not has_cupy:
        raise ValueError("Cannot use GPU, CuPy is not installed")
    else:
        raise ValueError("No CUDA GPU devices detected")
    return True


def copy_array(dst: ArrayXd, src: ArrayXd) -> None:
    """Copy ``src`` into ``dst`` in place (shapes must broadcast)."""
    xp = get_array_module(dst)
    xp.copyto(dst, src)


def get_width(X: Union[ArrayXd, Ragged, Padded, Sequence[ArrayXd]], *, dim: int = -1) -> int:
    """The size of ``X``'s feature dimension (``dim``, the last by default).

    Ragged and Padded look at their data; a sequence at its first item (0 if empty);
    a 1d array holds class ids, so its width is its largest id plus one; scalars
    have width 0. Strings have no width."""
    if isinstance(X, (str, bytes)):
        # A one-character string is its own first item: recursing never ends.
        raise ValueError(f"Cannot get width of {type(X).__name__} {X[:20]!r}: expected arrays")
    if isinstance(X, Ragged):
        return get_width(X.data, dim=dim)
    if isinstance(X, Padded):
        return get_width(X.data, dim=dim)
    shape = getattr(X, "shape", None)
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
    if hasattr(X, "__len__") and hasattr(X, "__getitem__"):
        if len(X) == 0:
            return 0
        return get_width(X[0], dim=dim)
    raise ValueError("Cannot get width of object: has neither shape nor __getitem__")


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
        raise ValueError(f"to_categorical expects integer labels, got dtype {labels.dtype}")
    if n_classes is None:
        if labels.size == 0:
            raise ValueError("Cannot infer n_classes from an empty label array: pass n_classes")
        n_classes = int(labels.max()) + 1
    elif n_classes < 0:
        raise ValueError(f"n_classes must not be negative, got {n_classes}")
    if labels.size:
        lowest, highest = int(labels.min()), int(labels.max())
        if lowest < 0 or highest >= n_classes:
            bad = lowest if lowest < 0 else highest
            raise IndexError(f"label {bad} is out of range for {n_classes} classes")
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


def _cupy_to_torch(array: Any) -> Any:
    if hasattr(array, "__dlpack__"):
        return torch.utils.dlpack.from_dlpack(array)
    return torch.utils.dlpack.from_dlpack(array.toDlpack())


def _torch_to_cupy(torch_tensor: Any) -> Any:
    tensor = torch_tensor.detach()
    if hasattr(cupy, "from_dlpack"):
        return cupy.from_dlpack(tensor)
    return cupy_from_dlpack(torch.utils.dlpack.to_dlpack(tensor))


def _wants_numpy(ops: Optional["Ops"]) -> bool:
    from .backends.cupy_ops import CupyOps

    return not isinstance(ops, CupyOps)


def torch2xp(
    torch_tensor: "torch.Tensor", *, ops: Optional["Ops"] = None  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for a torch tensor: cupy for CUDA tensors unless
    ``ops`` is a CPU backend, numpy otherwise (or ``ops.asarray`` of it)."""
    assert_pytorch_installed()
    if not is_torch_array(torch_tensor):
        raise TypeError(f"torch2xp expects a torch.Tensor, got {type(torch_tensor).__name__}")
    if is_torch_cuda_array(torch_tensor):
        if ops is not None and _wants_numpy(ops):
            return ops.asarray(torch_tensor.detach().cpu().numpy())
        return _torch_to_cupy(torch_tensor)
    array = torch_tensor.detach().cpu().numpy()
    if ops is None:
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
    tf_tensor: "tf.Tensor", *, ops: Optional["Ops"] = None  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for a TensorFlow tensor."""
    assert_tensorflow_installed()
    if is_tensorflow_gpu_array(tf_tensor) and not (ops is not None and _wants_numpy(ops)):
        dlpack = compat.tensorflow.experimental.dlpack.to_dlpack(tf_tensor)
        return cupy_from_dlpack(dlpack)
    array = tf_tensor.numpy()
    return array if ops is None else ops.asarray(array)


def xp2mxnet(
    xp_tensor: ArrayXd, requires_grad: bool = False
) -> "mx.nd.NDArray":  # type: ignore[name-defined]
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
    mx_tensor: "mx.nd.NDArray", *, ops: Optional["Ops"] = None  # type: ignore[name-defined]
) -> ArrayXd:
    """A numpy or cupy array for an MXNet NDArray."""
    assert_mxnet_installed()
    if is_mxnet_gpu_array(mx_tensor) and not (ops is not None and _wants_numpy(ops)):
        return cupy_from_dlpack(mx_tensor.to_dlpack_for_write())
    array = mx_tensor.detach().asnumpy()
    return array if ops is None else ops.asarray(array)


def get_torch_default_device() -> "torch.device":  # type: ignore[name-defined]
    """The torch device matching the current ops: cuda for CupyOps, mps for MPSOps,
    else cpu."""
    if torch is None:
        raise ValueError("Cannot get default Torch device when Torch is not available.")
    from .backends import get_current_ops
    from .backends.cupy_ops import CupyOps
    from .backends.mps_ops import MPSOps

    ops = get_current_ops()
    if isinstance(ops, CupyOps):
        return torch.device("cuda", torch.cuda.current_device())
    if isinstance(ops, MPSOps):
        return torch.device("mps")
    return torch.device("cpu")


def assert_pytorch_installed() -> None:
    """Raise ImportError unless PyTorch is importable."""
    if not has_torch:
        raise ImportError("PyTorch support requires torch: pip install thinc[torch]")


def assert_tensorflow_installed() -> None:
    """Raise ImportError unless TensorFlow support was enabled."""
    if not compat.has_tensorflow:
        raise ImportError(
            "TensorFlow support requires tensorflow: pip install thinc[tensorflow]\n\n"
            "Enable TensorFlow support with thinc.api.enable_tensorflow()"
        )


def assert_mxnet_installed() -> None:
    """Raise ImportError unless MXNet support was enabled."""
    if not compat.has_mxnet:
        raise ImportError(
            "MXNet support requires mxnet: pip install thinc[mxnet]\n\n"
            "Enable MXNet support with thinc.api.enable_mxnet()"
        )


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


class DataValidationError(ValueError):
    """A forward pass got or returned data that does not match its annotations."""

    def __init__(
        self,
        name: str,
        X: Any,
        Y: Any,
        errors: Union[Sequence[Mapping[str, Any]], List[Dict[str, Any]]] = [],
    ) -> None:
        rows = []
        for error in errors:
            location = " -> ".join(str(part) for part in error.get("loc", []))
            rows.append((location, str(error.get("msg", ""))))
        width = max((len(location) for location, _ in rows), default=0)
        table = "".join(f"{location:<{width}}   {msg}\n" for location, msg in rows)
        message = f"Data validation error in '{name}'\nX: {type(X)} Y: {type(Y)}\n\n"
        super().__init__(f"\n\n{message}{table}")


@contextlib.contextmanager
def data_validation(validation: bool) -> Iterator[None]:
    """Turn forward-pass data validation on or off within the block (this thread
    or task only)."""
    token = DATA_VALIDATION.set(validation)
    try:
        yield
    finally:
        DATA_VALIDATION.reset(token)


def _check_value(value: Any, annotation: Any) -> Optional[str]:
    """An error message if ``value`` does not match ``annotation``, else None.
    A TypeVar is checked against its bound (or constraints), if it has one."""
    target = annotation
    if isinstance(annotation, TypeVar):
        if annotation.__bound__ is not None:
            target = annotation.__bound__
        elif annotation.__constraints__:
            target = Union[annotation.__constraints__]  # type: ignore[assignment]
        else:
            return None
    if validate_type is not None:
        return validate_type(value, target)
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    try:
        adapter = TypeAdapter(target, config=ConfigDict(arbitrary_types_allowed=True))
        adapter.validate_python(value)
    except ValidationError:
        return f"at root: {value!r} is not {annotation}"
    except Exception:
        # An annotation pydantic cannot check says nothing about the data.
        return None
    return None


def _is_checkable(annotation: Any) -> bool:
    return annotation is not inspect.Parameter.empty and annotation is not Any


def _resolved_hints(func: Callable) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(func)
    except Exception:
        # Unresolvable forward references: keep whatever is already a real type.
        return {
            name: value
            for name, value in getattr(func, "__annotations__", {}).items()
            if not isinstance(value, str)
        }


def validate_fwd_input_output(
    name: str, func: Callable[[Any, Any, bool], Any], X: Any, Y: Any
) -> None:
    """Check X against the annotation of ``func``'s X argument and Y against the
    first element of its return annotation; raise DataValidationError on mismatch.
    None values and unannotated or Any slots are not checked; a TypeVar is
    checked against its bound."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return
    hints = _resolved_hints(func)
    x_annotation: Any = inspect.Parameter.empty
    if "X" in hints:
        x_annotation = hints["X"]
    elif len(parameters) > 1:
        x_annotation = hints.get(parameters[1].name, inspect.Parameter.empty)
    y_annotation: Any = inspect.Parameter.empty
    returned = hints.get("return", inspect.Parameter.empty)
    return_args = typing.get_args(returned)
    if typing.get_origin(returned) in (tuple, Tuple) and return_args:
        y_annotation = return_args[0]
    errors = []
    if X is not None and _is_checkable(x_annotation):
        message = _check_value(X, x_annotation)
        if message:
            errors.append({"loc": ["X"], "msg": message})
    if Y is not None and _is_checkable(y_annotation):
        message = _check_value(Y, y_annotation)
        if message:
            errors.append({"loc": ["Y"], "msg": message})
    if errors:
        raise DataValidationError(name, X, Y, errors)
