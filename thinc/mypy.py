"""A mypy plugin that checks that layers composed with chain() fit together.

Enable it with ``plugins = thinc.mypy`` in the [mypy] section of a config."""
from typing import Callable, List, Optional, Tuple

from mypy.nodes import Context
from mypy.plugin import FunctionContext, Plugin
from mypy.subtypes import is_subtype
from mypy.types import Instance, Type, get_proper_type

MODEL_FULLNAME = "thinc.model.Model"
CHAIN_FULLNAMES = {"thinc.layers.chain.chain", "thinc.api.chain", "thinc.layers.chain"}


class ThincPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Optional[Callable[[FunctionContext], Type]]:
        if fullname in CHAIN_FULLNAMES:
            return check_chain
        return None


def plugin(version: str) -> type:
    return ThincPlugin


def _model_io(typ: Type) -> Optional[Tuple[Type, Type]]:
    """(input type, output type) of a Model[InT, OutT] instance, else None."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and len(proper.args) == 2:
        if any(base.fullname == MODEL_FULLNAME for base in proper.type.mro):
            return proper.args[0], proper.args[1]
    return None


def check_chain(ctx: FunctionContext) -> Type:
    """Report each adjacent pair whose output does not fit the next input, and
    type the result as Model[first input, last output]."""
    layers: List[Tuple[Optional[Tuple[Type, Type]], Context]] = []
    for arg_types, args in zip(ctx.arg_types, ctx.args):
        for arg_type, arg in zip(arg_types, args):
            layers.append((_model_io(arg_type), arg))
    for (previous, _), (following, context) in zip(layers, layers[1:]):
        if previous is None or following is None:
            continue
        produced, expected = previous[1], following[0]
        if not is_subtype(produced, expected):
            ctx.api.fail(
                f"Layer outputs type ({produced}) but the next layer expects "
                f"({expected}) as an input",
                context,
            )
    default = get_proper_type(ctx.default_return_type)
    first, last = (layers[0][0], layers[-1][0]) if layers else (None, None)
    if isinstance(default, Instance) and first is not None and last is not None:
        return default.copy_modified(args=[first[0], last[1]])
    return ctx.default_return_type
