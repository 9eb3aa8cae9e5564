"""The public API in one namespace: ``from thinc.api import chain, Linear, Adam``.

Every name here is importable from its defining module too."""

from .backends import (
    CupyOps,
    MPSOps,
    NumpyOps,
    Ops,
    get_current_ops,
    get_ops,
    set_current_ops,
    set_gpu_allocator,
    use_ops,
    use_pytorch_for_gpu_memory,
    use_tensorflow_for_gpu_memory,
)
from .compat import enable_mxnet, enable_tensorflow, has_cupy
from .config import Config, ConfigValidationError, registry
from .initializers import (
    configure_normal_init,
    glorot_uniform_init,
    normal_init,
    uniform_init,
    zero_init,
)
from .layers import *  # noqa: F401,F403  (the layers' own __all__ lists them)
from .layers import __all__ as _layer_names
from .loss import (
    CategoricalCrossentropy,
    CosineDistance,
    L2Distance,
    SequenceCategoricalCrossentropy,
)
from .model import (
    Model,
    change_attr_values,
    deserialize_attr,
    serialize_attr,
    set_dropout_rate,
    wrap_model_recursive,
)
from .optimizers import SGD, Adam, Optimizer, RAdam
from .schedules import (
    compounding,
    constant,
    constant_then,
    cyclic_triangular,
    decaying,
    slanted_triangular,
    warmup_linear,
)
from .shims import (
    MXNetShim,
    PyTorchGradScaler,
    PyTorchShim,
    Shim,
    TensorFlowShim,
    TorchScriptShim,
    keras_model_fns,
    maybe_handshake_model,
)
from .types import ArgsKwargs, Padded, Ragged, Unserializable
from .util import (
    DataValidationError,
    data_validation,
    fix_random_seed,
    get_array_module,
    get_torch_default_device,
    get_width,
    is_cupy_array,
    mxnet2xp,
    prefer_gpu,
    require_cpu,
    require_gpu,
    set_active_gpu,
    tensorflow2xp,
    to_categorical,
    to_numpy,
    torch2xp,
    xp2mxnet,
    xp2tensorflow,
    xp2torch,
)

__all__ = [
    # .config
    "Config", "registry", "ConfigValidationError",
    # .initializers
    "normal_init", "uniform_init", "glorot_uniform_init", "zero_init", "configure_normal_init",
    # .loss
    "CategoricalCrossentropy", "L2Distance", "CosineDistance",
    "SequenceCategoricalCrossentropy",
    # .model
    "Model", "serialize_attr", "deserialize_attr", "change_attr_values", "set_dropout_rate",
    "wrap_model_recursive",
    # .shims
    "Shim", "PyTorchGradScaler", "PyTorchShim", "TorchScriptShim", "TensorFlowShim",
    "MXNetShim", "keras_model_fns", "maybe_handshake_model",
    # .optimizers
    "Adam", "RAdam", "SGD", "Optimizer",
    # .schedules
    "cyclic_triangular", "warmup_linear", "constant", "constant_then", "decaying",
    "slanted_triangular", "compounding",
    # .types
    "Ragged", "Padded", "ArgsKwargs", "Unserializable",
    # .util
    "fix_random_seed", "is_cupy_array", "set_active_gpu", "prefer_gpu", "require_gpu",
    "require_cpu", "DataValidationError", "to_categorical", "get_width", "get_array_module",
    "to_numpy", "torch2xp", "xp2torch", "tensorflow2xp", "xp2tensorflow", "mxnet2xp",
    "xp2mxnet", "get_torch_default_device", "data_validation",
    # .compat
    "has_cupy", "enable_mxnet", "enable_tensorflow",
    # .backends
    "get_ops", "set_current_ops", "get_current_ops", "use_ops", "Ops", "CupyOps", "MPSOps",
    "NumpyOps", "set_gpu_allocator", "use_pytorch_for_gpu_memory",
    "use_tensorflow_for_gpu_memory",
    # .layers
    *_layer_names,
]  # fmt: skip
