# cython: binding=True, boundscheck=False, wraparound=False
"""premap_ids: replaces integer ids with their values in a fixed table (e.g. a
vocabulary), unknown ids becoming ``default``. Registered as "premap_ids.v1"."""
from typing import Callable, Mapping, Optional, Tuple

import numpy

from libc.stdint cimport int32_t, uint64_t
from preshed.maps cimport MapStruct, PreshMap, Result, map_get_unless_missing

from ..config import registry
from ..model import Model
from ..types import Ints2d

INT32_MAX = 2 ** 31 - 1


@registry.layers("premap_ids.v1")
def premap_ids(
    mapping_table: Mapping[int, int], default: int = 0, *, column: Optional[int] = None
) -> Model:
    """Map each id (column ``column`` of a 2d input, if given) through
    ``mapping_table``; the output is an int32 array of shape (N, 1)."""
    _check_value("default", default)
    return Model(
        "premap_ids",
        forward,
        attrs={"mapping_table": _to_preshmap(mapping_table), "default": default, "column": column},
    )


def forward(model: Model, inputs, is_train: bool) -> Tuple[Ints2d, Callable]:
    table = model.attrs["mapping_table"]
    if not isinstance(table, PreshMap):
        table = model.attrs["mapping_table"] = _to_preshmap(table)
    ids = _select_ids(inputs, model.attrs["column"])
    mapped = numpy.empty((ids.shape[0], 1), dtype="int32")
    _lookup(table, ids, mapped[:, 0], int(model.attrs["default"]))
    output = model.ops.asarray(mapped, dtype="int32")
    input_shape = inputs.shape

    def backprop(d_output: Ints2d):
        # Ids are not differentiable; the gradient is all zeros.
        return model.ops.alloc(input_shape, dtype="float32")

    return output, backprop


def _lookup(PreshMap table, const uint64_t[::1] ids, int32_t[::1] out, int32_t default) -> None:
    cdef MapStruct* c_map = table.c_map
    cdef Result result
    cdef Py_ssize_t i
    with nogil:
        for i in range(ids.shape[0]):
            result = map_get_unless_missing(c_map, ids[i])
            out[i] = <int32_t><size_t>result.value if result.found else default


def _select_ids(inputs, column: Optional[int]):
    array = inputs.get() if hasattr(inputs, "get") and not isinstance(inputs, numpy.ndarray) else numpy.asarray(inputs)
    if array.dtype.kind not in "iu":
        raise TypeError(f"premap_ids expects integer ids, got dtype {array.dtype}")
    if column is not None:
        if array.ndim != 2 or not -array.shape[1] <= column < array.shape[1]:
            raise IndexError(f"premap_ids: cannot take column {column} of an array of shape {array.shape}")
        array = array[:, column]
    elif array.ndim != 1:
        raise ValueError(f"premap_ids expects a 1d array of ids (or set column), got shape {array.shape}")
    if array.size and array.dtype.kind == "i" and int(array.min()) < 0:
        raise ValueError("premap_ids: ids must not be negative")
    return numpy.require(array, dtype="uint64", requirements="CA")


def _to_preshmap(mapping_table) -> PreshMap:
    if isinstance(mapping_table, PreshMap):
        return mapping_table
    table = PreshMap(max(8, len(mapping_table) * 2))
    for key, value in mapping_table.items():
        if not isinstance(key, (int, numpy.integer)) or isinstance(key, bool) or key < 0:
            raise ValueError(f"premap_ids: mapping_table keys must be non-negative ints, got {key!r}")
        _check_value(f"the value for key {key}", value)
        table[int(key)] = int(value)
    return table


def _check_value(what: str, value) -> None:
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or not 0 <= value <= INT32_MAX:
        raise ValueError(f"premap_ids: {what} must be an int in [0, 2**31), got {value!r}")
