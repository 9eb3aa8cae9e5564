"""Wrap an MXNet Gluon block as a thinc Model: arrays in and out are converted to
and from NDArrays, and gradients flow through mxnet.autograd."""

from typing import Any, Callable, Optional, Tuple, Type

from ..config import registry
from ..model import Model
from ..shims.mxnet import MXNetShim
from ..types import ArgsKwargs
from ..util import (
    assert_mxnet_installed,
    convert_recursive,
    is_mxnet_array,
    is_xp_array,
    mxnet2xp,
    partial,
    xp2mxnet,
)


@registry.layers("MXNetWrapper.v1")
def MXNetWrapper(
    mxnet_model: Any,
    convert_inputs: Optional[Callable] = None,
    convert_outputs: Optional[Callable] = None,
    model_class: Type[Model] = Model,
    model_name: str = "mxnet",
) -> Model[Any, Any]:
    """Wrap a mxnet.gluon.Block (call enable_mxnet() first).
    convert_inputs(model, X, is_train) returns (ArgsKwargs of NDArrays, callback
    turning their gradients into dX); convert_outputs(model, (X, Ymxnet),
    is_train) returns (Y, callback turning dY into ArgsKwargs for
    mxnet.autograd.backward)."""
    assert_mxnet_installed()
    if convert_inputs is None:
        convert_inputs = convert_mxnet_default_inputs
    if convert_outputs is None:
        convert_outputs = convert_mxnet_default_outputs
    return model_class(
        model_name,
        forward,
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[MXNetShim(mxnet_model)],
    )


def forward(model: Model, X: Any, is_train: bool) -> Tuple[Any, Callable]:
    """Convert X to NDArrays, run the shim, convert the output back; backprop
    runs the same conversions in reverse."""
    convert_inputs = model.attrs["convert_inputs"]
    convert_outputs = model.attrs["convert_outputs"]
    Xmxnet, get_dX = convert_inputs(model, X, is_train)
    Ymxnet, mxnet_backprop = model.shims[0](Xmxnet, is_train)
    Y, get_dYmxnet = convert_outputs(model, (X, Ymxnet), is_train)

    def backprop(dY: Any) -> Any:
        dYmxnet = get_dYmxnet(dY)
        dXmxnet = mxnet_backprop(dYmxnet)
        return get_dX(dXmxnet)

    return Y, backprop


def convert_mxnet_default_inputs(
    model: Model, X: Any, is_train: bool
) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Any]]:
    """Arrays anywhere in X become NDArrays (with gradient buffers when
    training). A tuple becomes positional args, a dict keyword args, anything
    else the one positional arg; the callback returns gradients in X's structure."""
    to_mxnet = partial(_xp2mxnet_copy, requires_grad=is_train)
    converted = convert_recursive(is_xp_array, to_mxnet, X)
    to_xp = partial(_grads_to_xp, model=model)
    if isinstance(converted, ArgsKwargs):
        return converted, to_xp
    if isinstance(converted, dict):
        return ArgsKwargs(args=tuple(), kwargs=converted), lambda dX: to_xp(dX).kwargs
    if isinstance(converted, (tuple, list)):
        return ArgsKwargs(args=tuple(converted), kwargs={}), lambda dX: to_xp(dX).args
    return ArgsKwargs(args=(converted,), kwargs={}), lambda dX: to_xp(dX).args[0]


def convert_mxnet_default_outputs(model: Model, X_Ymxnet: Any, is_train: bool):
    """NDArrays anywhere in the output become arrays; the callback pairs the
    output NDArrays with their gradients for mxnet.autograd.backward."""
    X, Ymxnet = X_Ymxnet
    Y = convert_recursive(is_mxnet_array, partial(mxnet2xp, ops=model.ops), Ymxnet)

    def reverse_conversion(dY: Any) -> ArgsKwargs:
        heads = list(_flatten_arrays(Ymxnet, is_mxnet_array))
        head_grads = [_xp2mxnet_copy(d) for d in _flatten_arrays(dY, is_xp_array)]
        if len(heads) != len(head_grads):
            raise ValueError(
                f"MXNetWrapper: the output has {len(heads)} arrays but the gradient "
                f"has {len(head_grads)}"
            )
        for head, grad in zip(heads, head_grads):
            if head.shape != grad.shape:
                raise ValueError(
                    f"MXNetWrapper: gradient of shape {grad.shape} for an output of "
                    f"shape {head.shape}"
                )
        return ArgsKwargs(args=(heads,), kwargs={"head_grads": head_grads})

    return Y, reverse_conversion


def _xp2mxnet_copy(array: Any, requires_grad: bool = False) -> Any:
    # The NDArray shares memory with what it is given, and MXNet marks that
    # numpy array read-only, so hand it a private contiguous copy.
    if not is_mxnet_array(array) and hasattr(array, "copy"):
        array = array.copy()
    return xp2mxnet(array, requires_grad=requires_grad)


def _grads_to_xp(dXmxnet: Any, model: Model) -> Any:
    return convert_recursive(is_mxnet_array, partial(mxnet2xp, ops=model.ops), dXmxnet)


def _flatten_arrays(obj: Any, is_match: Callable[[Any], bool]) -> Any:
    if is_match(obj):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _flatten_arrays(value, is_match)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _flatten_arrays(item, is_match)
