"""Wrap a Keras model as a thinc Model: arrays in and out are converted to and
from tf tensors, and gradients come from a tf.GradientTape."""

from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar

import srsly

from .. import compat
from ..model import Model
from ..shims.tensorflow import TensorFlowShim, keras_model_fns, maybe_handshake_model
from ..types import ArgsKwargs
from ..util import (
    assert_tensorflow_installed,
    convert_recursive,
    is_tensorflow_array,
    is_xp_array,
    partial,
    tensorflow2xp,
    xp2tensorflow,
)

InT = TypeVar("InT")
OutT = TypeVar("OutT")
InFunc = TypeVar("InFunc")
XType = TypeVar("XType")
YType = TypeVar("YType")

# What maybe_handshake_model compiles a keras_subclass model with, unless told otherwise.
_DEFAULT_COMPILE_ARGS: Dict[str, Any] = {"optimizer": "adam", "loss": "mse"}


def keras_subclass(
    name: str,
    X: XType,
    Y: YType,
    input_shape: Tuple[int, ...],
    compile_args: Optional[Dict[str, Any]] = None,
) -> Callable[[InFunc], InFunc]:
    """Class decorator for subclassed Keras models, which Keras cannot save
    whole: registers a factory under ``name`` in keras_model_fns and records
    example data (X, Y, input_shape) so a fresh instance can build its weights.
    The constructor's arguments must be JSON-serializable, because they are
    kept (as ``eg_args``) to rebuild the model."""
    compile_defaults = dict(_DEFAULT_COMPILE_ARGS)
    if compile_args is not None:
        compile_defaults.update(compile_args)

    def decorate(cls: InFunc) -> InFunc:
        klass: Any = cls
        klass.catalogue_name = property(lambda self: name)
        klass.eg_x = property(lambda self: X)
        klass.eg_y = property(lambda self: Y)
        klass.eg_shape = property(lambda self: input_shape)
        klass.eg_compile = property(lambda self: dict(compile_defaults))

        @keras_model_fns(name)
        def create_component(*args: Any, **kwargs: Any) -> Any:
            return klass(*args, **kwargs)

        original_init = klass.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            try:
                srsly.json_dumps(args)
                srsly.json_dumps(kwargs)
            except (TypeError, ValueError, OverflowError) as error:
                raise ValueError(
                    f"keras_subclass model '{name}' must be constructed with "
                    f"JSON-serializable arguments so it can be rebuilt: {error}"
                ) from error
            # Keras tracks attributes it is given; store the arguments around it.
            object.__setattr__(self, "_thinc_eg_args", ArgsKwargs(args=args, kwargs=kwargs))

        klass.__init__ = __init__
        klass.eg_args = property(lambda self: self._thinc_eg_args)
        return cls

    return decorate


def TensorFlowWrapper(
    tensorflow_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    optimizer: Optional[Any] = None,
    model_class: Type[Model] = Model,
    model_name: str = "tensorflow",
) -> Model[InT, OutT]:
    """Wrap a tf.keras Model (call enable_tensorflow() first).
    convert_inputs(model, X, is_train) returns (ArgsKwargs of tensors,
    callback turning their gradients into dX); convert_outputs(model, Ytf,
    is_train) returns (Y, callback turning dY into the output's gradient)."""
    assert_tensorflow_installed()
    tensorflow = compat.tensorflow
    if not isinstance(tensorflow_model, tensorflow.keras.Model):
        raise ValueError(
            f"TensorFlowWrapper needs a tf.keras.Model, got {type(tensorflow_model).__name__}"
        )
    tensorflow_model = maybe_handshake_model(tensorflow_model)
    if convert_inputs is None:
        convert_inputs = _convert_inputs
    if convert_outputs is None:
        convert_outputs = _convert_outputs
    return model_class(
        model_name,
        forward,
        shims=[TensorFlowShim(tensorflow_model, optimizer=optimizer)],
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
    )


def forward(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    """Convert X to tensors, run the shim, convert the output back; backprop
    runs the same conversions in reverse."""
    convert_inputs = model.attrs["convert_inputs"]
    convert_outputs = model.attrs["convert_outputs"]
    Xtf, get_dX = convert_inputs(model, X, is_train)
    Ytf, tensorflow_backprop = model.shims[0](Xtf, is_train)
    Y, get_dYtf = convert_outputs(model, Ytf, is_train)

    def backprop(dY: OutT) -> InT:
        dYtf = get_dYtf(dY)
        dXtf = tensorflow_backprop(dYtf)
        return get_dX(dXtf)

    return Y, backprop


def _convert_inputs(model: Model, X: Any, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Arrays anywhere in X become tensors. A tuple becomes positional args,
    a dict keyword args, anything else the one positional arg; the callback
    returns gradients in X's structure."""
    to_tensorflow = partial(xp2tensorflow, requires_grad=is_train)
    converted = convert_recursive(is_xp_array, to_tensorflow, X)
    to_xp = partial(_grads_to_xp, model=model)
    if isinstance(converted, ArgsKwargs):
        return converted, to_xp
    if isinstance(converted, dict):
        return ArgsKwargs(args=tuple(), kwargs=converted), lambda dX: to_xp(dX).kwargs
    if isinstance(converted, (tuple, list)):
        return ArgsKwargs(args=tuple(converted), kwargs={}), lambda dX: to_xp(dX).args
    return ArgsKwargs(args=(converted,), kwargs={}), lambda dX: to_xp(dX).args[0]


def _grads_to_xp(dXtf: Any, model: Model) -> Any:
    return convert_recursive(is_tensorflow_array, partial(tensorflow2xp, ops=model.ops), dXtf)


def _convert_outputs(model: Model, Ytf: Any, is_train: bool) -> Tuple[Any, Callable]:
    """Tensors anywhere in the output become arrays; the callback turns dY
    (same structure) into tensors, checking each one's shape."""
    Y = convert_recursive(is_tensorflow_array, partial(tensorflow2xp, ops=model.ops), Ytf)

    def reverse_conversion(dY: Any) -> Any:
        dYtf = convert_recursive(is_xp_array, xp2tensorflow, dY)
        _check_grad_shapes(Ytf, dYtf)
        return dYtf

    return Y, reverse_conversion


def _check_grad_shapes(Ytf: Any, dYtf: Any) -> None:
    if is_tensorflow_array(Ytf):
        if not is_tensorflow_array(dYtf) or tuple(Ytf.shape) != tuple(dYtf.shape):
            got = tuple(dYtf.shape) if is_tensorflow_array(dYtf) else type(dYtf).__name__
            raise ValueError(
                f"TensorFlowWrapper: gradient {got} for an output of shape {tuple(Ytf.shape)}"
            )
    elif isinstance(Ytf, (list, tuple)):
        if not isinstance(dYtf, (list, tuple)) or len(dYtf) != len(Ytf):
            raise ValueError("TensorFlowWrapper: the gradient must match the output's structure")
        for output, grad in zip(Ytf, dYtf):
            _check_grad_shapes(output, grad)
    elif isinstance(Ytf, dict):
        if not isinstance(dYtf, dict) or set(dYtf) != set(Ytf):
            raise ValueError("TensorFlowWrapper: the gradient must match the output's structure")
        for key, output in Ytf.items():
            _check_grad_shapes(output, dYtf[key])


__all__ = ["TensorFlowWrapper", "keras_subclass", "keras_model_fns", "maybe_handshake_model"]
