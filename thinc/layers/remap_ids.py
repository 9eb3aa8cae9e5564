"""``remap_ids``: look each key up in a table to get a row id (or a default).

v1 maps a sequence of hashable keys; v2 also takes int arrays, or a column of one."""

from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence, Tuple, Union, cast

from ..config import registry
from ..model import Model
from ..types import DTypes, Ints1d, Ints2d
from ..util import is_xp_array, to_numpy

InT_v1 = Sequence[Any]
OutT_v1 = Ints2d
InT = Union[Sequence[Hashable], Ints1d, Ints2d]
OutT = Ints2d


@registry.layers("remap_ids.v1")
def remap_ids(
    mapping_table: Dict[Any, int] = {}, default: int = 0, dtype: DTypes = "i"
) -> Model[InT_v1, OutT_v1]:
    """Map keys to ids through ``mapping_table``, unknown keys to ``default``;
    the output is a column vector of ``dtype``."""
    return Model(
        "remap_ids",
        forward,
        attrs={"mapping_table": mapping_table, "dtype": dtype, "default": default},
    )


def forward(
    model: Model[InT_v1, OutT_v1], inputs: InT_v1, is_train: bool
) -> Tuple[OutT_v1, Callable]:
    table = model.attrs["mapping_table"]
    default = model.attrs["default"]
    dtype = model.attrs["dtype"]
    keys = _keys(inputs)
    values = [table.get(key, default) for key in keys]
    ids = model.ops.asarray(values, dtype=dtype)
    output = cast(Ints2d, model.ops.reshape2(ids, -1, 1))

    def backprop(dY: OutT_v1) -> List:
        return []

    return output, backprop


@registry.layers("remap_ids.v2")
def remap_ids_v2(
    mapping_table: Optional[Union[Dict[int, int], Dict[str, int]]] = None,
    default: int = 0,
    *,
    column: Optional[int] = None,
) -> Model[InT, OutT]:
    """Map keys to ids through ``mapping_table``, unknown keys to ``default``.
    With ``column``, keys are read from that column of a 2d array input."""
    return Model(
        "remap_ids",
        forward_v2,
        attrs={"mapping_table": mapping_table, "default": default, "column": column},
    )


def forward_v2(model: Model[InT, OutT], X: InT, is_train: bool) -> Tuple[OutT, Callable]:
    table = model.attrs["mapping_table"]
    if table is None:
        raise ValueError("remap_ids: 'mapping table' not set")
    default = model.attrs["default"]
    column = model.attrs["column"]
    if is_xp_array(X):
        array = to_numpy(X)
        if column is not None:
            if array.ndim != 2:
                # IndexError, as thinc 8.3's column selection raises.
                raise IndexError(
                    f"remap_ids: column={column} needs a 2d array input, got shape {tuple(array.shape)}"
                )
            if not -array.shape[1] <= column < array.shape[1]:
                raise IndexError(
                    f"remap_ids: column {column} out of range for input with {array.shape[1]} columns"
                )
            array = array[:, column]
        elif array.ndim != 1 and array.size:
            # TypeError, as thinc 8.3 raises looking up unhashable rows; an
            # empty batch has no rows to look up and maps to nothing.
            raise TypeError(
                f"remap_ids: a {array.ndim}d array input needs the 'column' setting "
                f"to pick its keys, got shape {tuple(array.shape)}"
            )
        keys: Sequence[Hashable] = array.tolist()
    else:
        keys = _keys(X)
    values = [table.get(key, default) for key in keys]
    output = cast(Ints2d, model.ops.reshape2(model.ops.asarray(values, dtype="i"), -1, 1))
    array_input = is_xp_array(X)

    def backprop(dY: OutT) -> Any:
        # Keys have no gradient; thinc 8.3.14 still answers an array input with
        # a float64 array shaped like dY (here zeros), and a list with [].
        if array_input:
            return model.ops.alloc(tuple(dY.shape), dtype="float64")
        return []

    return output, backprop


def _keys(inputs: Any) -> Sequence[Hashable]:
    if is_xp_array(inputs):
        return to_numpy(inputs).tolist()
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"remap_ids expects a sequence of keys, got {type(inputs).__name__}")
    keys = list(inputs)
    for key in keys:
        if not isinstance(key, Hashable):
            raise TypeError(f"remap_ids: keys must be hashable, got {type(key).__name__}")
    return keys
