"""A mypy plugin that checks that layers composed by combinators fit together.

Enable it with ``plugins = thinc.mypy`` in the [mypy] section of a config."""

from typing import Callable, List, Optional, Tuple

from mypy.errorcodes import ErrorCode
from mypy.nodes import CallExpr, Context, Decorator, FuncDef, RefExpr
from mypy.plugin import FunctionContext, Plugin
from mypy.subtypes import is_subtype
from mypy.types import CallableType, Instance, Type, TypeVarType, get_proper_type

MODEL_FULLNAME = "thinc.model.Model"
# A combinator declares its kind by its return type's output type variable.
CHAINED_OUTPUT = "thinc.types.XY_YZ_OutT"
SHARED_OUTPUT = "thinc.types.XY_XY_OutT"
# The codes are thinc 8.3's, so `# type: ignore[layer-mismatch-output]` keeps working.
LAYER_INPUT = ErrorCode("layer-mismatch-input", "Invalid layer input", "Thinc")
LAYER_OUTPUT = ErrorCode("layer-mismatch-output", "Invalid layer output", "Thinc")

Layer = Tuple[Tuple[Type, Type], Context]


class ThincPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Optional[Callable[[FunctionContext], Type]]:
        # Any function may be a combinator (users write their own); the hook
        # decides from the callee's declared return type.
        return combinator_type


def plugin(version: str) -> type:
    return ThincPlugin


def _model_io(typ: Type) -> Optional[Tuple[Type, Type]]:
    """(input type, output type) of a Model[InT, OutT] instance, else None."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and len(proper.args) == 2:
        if any(base.fullname == MODEL_FULLNAME for base in proper.type.mro):
            return proper.args[0], proper.args[1]
    return None


def _combinator_kind(ctx: FunctionContext) -> Optional[str]:
    """CHAINED_OUTPUT or SHARED_OUTPUT when the called function declares it
    returns Model[..., that type variable], else None."""
    call = ctx.context
    if not isinstance(call, CallExpr) or not isinstance(call.callee, RefExpr):
        return None
    node = call.callee.node
    if not isinstance(node, (FuncDef, Decorator)):
        return None
    signature = get_proper_type(node.type) if node.type is not None else None
    if not isinstance(signature, CallableType):
        return None
    returned = _model_io(signature.ret_type)
    if returned is None:
        return None
    output = get_proper_type(returned[1])
    if isinstance(output, TypeVarType) and output.fullname in (CHAINED_OUTPUT, SHARED_OUTPUT):
        return output.fullname
    return None


def combinator_type(ctx: FunctionContext) -> Type:
    kind = _combinator_kind(ctx)
    if kind is None:
        return ctx.default_return_type
    layers: List[Layer] = []
    for arg_types, args in zip(ctx.arg_types, ctx.args):
        for arg_type, arg in zip(arg_types, args):
            io = _model_io(arg_type)
            if io is None:
                # An argument that is not a typed Model: nothing can be inferred.
                return ctx.default_return_type
            layers.append((io, arg))
    if not layers:
        return ctx.default_return_type
    for previous, following in zip(layers, layers[1:]):
        if kind == CHAINED_OUTPUT:
            _check_chained(ctx, previous, following)
        else:
            _check_shared(ctx, previous, following)
    default = get_proper_type(ctx.default_return_type)
    if not isinstance(default, Instance):
        return ctx.default_return_type
    first, last = layers[0][0], layers[-1][0]
    output = last[1] if kind == CHAINED_OUTPUT else first[1]
    return default.copy_modified(args=[first[0], output])


def _check_chained(ctx: FunctionContext, previous: Layer, following: Layer) -> None:
    """Each layer's output must be acceptable as the next layer's input."""
    (_, produced), produced_at = previous
    (expected, _), expected_at = following
    if is_subtype(produced, expected):
        return
    ctx.api.fail(
        f"Layer outputs type ({produced}) but the next layer expects ({expected}) as an input",
        produced_at,
        code=LAYER_OUTPUT,
    )
    ctx.api.fail(
        f"Layer input type ({expected}) is not compatible with output ({produced}) "
        "from previous layer",
        expected_at,
        code=LAYER_INPUT,
    )


def _check_shared(ctx: FunctionContext, previous: Layer, following: Layer) -> None:
    """Layers that see one input and whose outputs are combined must agree on both."""
    (in1, out1), at1 = previous
    (in2, out2), at2 = following
    for position, (first, second, code) in enumerate(
        [(in1, in2, LAYER_INPUT), (out1, out2, LAYER_OUTPUT)]
    ):
        if first == second:
            continue
        what = "input" if position == 0 else "output"
        ctx.api.fail(
            f"Layer {what} ({first}) not compatible with next layer {what} ({second})",
            at1,
            code=code,
        )
        ctx.api.fail(
            f"Layer {what} ({second}) not compatible with previous layer {what} ({first})",
            at2,
            code=code,
        )
