"""Checks that a decoded model message fits the tree it loads into (from_dict
refuses a misfit before it changes anything; can_from_dict only asks), and the
param shapes that layers declare for those checks."""

import functools
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple

from ._msgpack import serialize_attr

if TYPE_CHECKING:
    from .model import Model

_MSG_KEYS = ("nodes", "attrs", "params", "shims")

# Param shapes as dim names, keyed by the layer's init function (each layer
# registers its own next to its init). from_dict checks loaded params against
# them, so a transposed or reshaped array of the right size is refused.
_PARAM_DIMS: Dict[Callable, Dict[str, Tuple[str, ...]]] = {}


def register_param_dims(init: Callable, shapes: Dict[str, Tuple[str, ...]]) -> Callable:
    """Declare that ``init`` allocates each named param with the shape of these
    dims (e.g. {"W": ("nO", "nI")}); returns ``init``."""
    _PARAM_DIMS[init] = dict(shapes)
    return init


def declared_param_dims(model: "Model") -> Dict[str, Tuple[str, ...]]:
    """The param shapes (as dim names) that model's init function declared."""
    init: Any = model.init
    while isinstance(init, functools.partial):
        init = init.func
    return _PARAM_DIMS.get(init, {})


def _check_msg_structure(msg: Any, nodes: List["Model"]) -> None:
    """Raise ValueError unless ``msg`` has to_dict's layout for ``len(nodes)`` nodes."""
    prefix = "Cannot deserialize model: mismatched structure"
    if not isinstance(msg, dict):
        raise ValueError(f"{prefix}: expected a dict, got {type(msg).__name__}")
    missing = [key for key in _MSG_KEYS if key not in msg]
    if missing:
        raise ValueError(f"{prefix}: missing {', '.join(missing)}")
    for key in _MSG_KEYS:
        if not isinstance(msg[key], list):
            raise ValueError(f"{prefix}: '{key}' is not a list")
        if len(msg[key]) != len(nodes):
            raise ValueError(
                f"{prefix}: the data has {len(msg[key])} entries in '{key}' but the "
                f"model '{nodes[0].name}' has {len(nodes)} nodes"
            )
    for position in range(len(nodes)):
        info = msg["nodes"][position]
        if not isinstance(info, dict) or not all(k in info for k in ("name", "dims", "refs")):
            raise ValueError(f"{prefix}: node {position} lacks name, dims or refs")
        if not isinstance(info["dims"], dict) or not isinstance(info["refs"], dict):
            raise ValueError(f"{prefix}: node {position} has malformed dims or refs")
        for key in ("attrs", "params"):
            if not isinstance(msg[key][position], dict):
                raise ValueError(f"{prefix}: {key} of node {position} is not a map")
        if not isinstance(msg["shims"][position], list):
            raise ValueError(f"{prefix}: shims of node {position} is not a list")


def _check_node_compatible(msg: Dict, position: int, node: "Model", nodes: List["Model"]) -> None:
    """Raise ValueError if node ``position`` of ``msg`` cannot load into ``node``."""
    info = msg["nodes"][position]
    where = f"node {position} ('{node.name}')"
    if info["name"] != node.name:
        raise ValueError(f"Cannot deserialize model: {where} is named '{info['name']}' in the data")
    for dim, value in info["dims"].items():
        if dim not in node._dims:
            raise ValueError(
                f"Cannot deserialize model: unknown dimension '{dim}' for model "
                f"'{node.name}' ({where})"
            )
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"Cannot deserialize model: dimension '{dim}' of {where} is {value!r}")
        current = node._dims[dim]
        if current is not None and current != value:
            raise ValueError(
                f"Cannot deserialize model: dimension '{dim}' for model '{node.name}' "
                f"is {current} but the data has {value}"
            )
    for name, ref_index in info["refs"].items():
        if ref_index is None:
            continue
        if (
            isinstance(ref_index, bool)
            or not isinstance(ref_index, int)
            or not (0 <= ref_index < len(nodes))
        ):
            raise ValueError(
                f"Cannot deserialize model: ref '{name}' of {where} points at "
                f"node {ref_index!r}, outside the {len(nodes)} nodes"
            )
    # The dims the node will have once loaded: the data's, where it sets them.
    dims = dict(node._dims)
    dims.update({dim: value for dim, value in info["dims"].items() if value is not None})
    declared = declared_param_dims(node)
    for name, value in msg["params"][position].items():
        if value is None:
            continue
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            raise ValueError(f"Cannot deserialize model: param '{name}' of {where} is not an array")
        if name in declared:
            _check_param_dims(name, tuple(value.shape), declared[name], dims, where)
        if node.has_param(name):
            current_shape = tuple(node.get_param(name).shape)
            if current_shape != tuple(value.shape):
                raise ValueError(
                    f"Cannot deserialize model: param '{name}' of {where} has shape "
                    f"{current_shape} but the data has {tuple(value.shape)}"
                )
    if len(msg["shims"][position]) != len(node.shims):
        raise ValueError(
            f"Cannot deserialize model: {where} has {len(node.shims)} shims but the "
            f"data has {len(msg['shims'][position])}"
        )
    for name, value in msg["attrs"][position].items():
        if not isinstance(value, bytes):
            raise ValueError(
                f"Cannot deserialize model: attr '{name}' of {where} is not serialized bytes"
            )


def _check_param_dims(
    name: str, shape: Tuple[int, ...], dim_names: Tuple[str, ...], dims: Dict, where: str
) -> None:
    """Raise ValueError unless ``shape`` is what the dims imply (unset dims match any size)."""
    implied = tuple(dims.get(dim) for dim in dim_names)
    if len(shape) == len(implied) and all(
        size is None or size == actual for size, actual in zip(implied, shape)
    ):
        return
    spelled = ", ".join(
        f"{dim}={size if size is not None else '?'}" for dim, size in zip(dim_names, implied)
    )
    raise ValueError(
        f"Cannot deserialize model: param '{name}' of {where} has shape {shape} in the "
        f"data, but the model's dims imply ({spelled})"
    )


def _message_fits(msg: Dict, nodes: List["Model"], *, strict: bool) -> bool:
    """Whether from_dict would load ``msg`` into the tree ``nodes`` (in walk order).
    strict=False ignores differing node names and attr values."""
    try:
        _check_msg_structure(msg, nodes)
    except ValueError:
        return False
    for position, node in enumerate(nodes):
        info = msg["nodes"][position]
        if strict and info["name"] != node.name:
            return False
        if len(msg["shims"][position]) != len(node.shims):
            return False
        for dim, value in info["dims"].items():
            has_dim = node.has_dim(dim)
            if has_dim is False:
                return False
            if has_dim and node.get_dim(dim) != value:
                return False
        dims = dict(node._dims)
        dims.update({dim: size for dim, size in info["dims"].items() if size is not None})
        declared = declared_param_dims(node)
        for name, value in msg["params"][position].items():
            has_param = node.has_param(name)
            if has_param is False:
                return False
            if name in declared and value is not None:
                try:
                    _check_param_dims(name, tuple(value.shape), declared[name], dims, "")
                except ValueError:
                    return False
            if has_param and value is not None:
                if tuple(node.get_param(name).shape) != tuple(value.shape):
                    return False
        if strict:
            for name, value in msg["attrs"][position].items():
                if name not in node.attrs:
                    continue
                try:
                    current = serialize_attr(node.attrs[name], node.attrs[name], name, node)
                except TypeError:
                    continue
                if current != value:
                    return False
    return True
