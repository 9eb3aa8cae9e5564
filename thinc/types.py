"""Array type aliases for annotations and data validation, and the containers that
layers pass around: Ragged, Padded, Pairs, ArgsKwargs and SizedGenerator."""

# mypy: disable-error-code="empty-body"
# (the array classes below are typing stubs whose methods have no bodies)
from collections.abc import Container, Iterator, Sized
from dataclasses import dataclass
from types import ModuleType
from typing import (
    Any,
    Callable,
    Dict,
    Generic,
    Iterable,
    List,
    Literal,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

import numpy

from ._validation import DATA_VALIDATION
from .compat import cupy, has_cupy

__all__ = [
    "ArgsKwargs",
    "Array1d",
    "Array1dT",
    "Array2d",
    "Array3d",
    "Array4d",
    "ArrayT",
    "ArrayXd",
    "Batchable",
    "DTypes",
    "DTypesFloat",
    "DTypesInt",
    "Decorator",
    "DeviceTypes",
    "Fal",
    "Floats1d",
    "Floats2d",
    "Floats3d",
    "Floats4d",
    "FloatsXd",
    "FloatsXdT",
    "FourAx",
    "Generator",
    "Ints1d",
    "Ints2d",
    "Ints3d",
    "Ints4d",
    "IntsXd",
    "List1d",
    "List2d",
    "List3d",
    "List4d",
    "ListXd",
    "OneAx",
    "Padded",
    "Pairs",
    "Ragged",
    "SelfT",
    "Shape",
    "SizedGenerator",
    "Slicish",
    "ThreeAx",
    "Tru",
    "TwoAx",
    "Unserializable",
    "XY_XY_OutT",
    "XY_YZ_OutT",
    "Xp",
    "validate_array",
]

# util.get_array_module is the public one; types sits below util in the import order.
if has_cupy:

    def get_array_module(obj: Any) -> ModuleType:
        return cupy.get_array_module(obj)

else:

    def get_array_module(obj: Any) -> ModuleType:
        return numpy


Xp = ModuleType
Shape = Tuple[int, ...]
DTypes = Literal["f", "i", "float16", "float32", "float64", "int32", "int64", "uint32", "uint64"]
DTypesFloat = Literal["f", "float32", "float16", "float64"]
DTypesInt = Literal["i", "int32", "int64", "uint32", "uint64"]
DeviceTypes = Literal["cpu", "gpu", "tpu"]
Tru = Literal[True]
Fal = Literal[False]
OneAx = Union[int, Tuple[int]]
TwoAx = Union[int, Tuple[int, int]]
ThreeAx = Union[int, Tuple[int, int, int]]
FourAx = Union[int, Tuple[int, int, int, int]]

SelfT = TypeVar("SelfT")
XY_YZ_OutT = TypeVar("XY_YZ_OutT")
XY_XY_OutT = TypeVar("XY_XY_OutT")
_DIn = TypeVar("_DIn")
_P = TypeVar("_P")

_FLOAT_DTYPES = ("float32",)
_INT_DTYPES = ("int32", "int64", "uint32", "uint64")


def _is_xp_array(obj: Any) -> bool:
    return isinstance(obj, numpy.ndarray) or (has_cupy and isinstance(obj, cupy.ndarray))


def validate_array(
    obj: Any, ndim: Optional[int] = None, dtype: Optional[Sequence[str]] = None
) -> Any:
    """Return ``obj`` if it is a numpy/cupy array with the given number of
    dimensions and one of the given dtype names, else raise ValueError."""
    if not _is_xp_array(obj):
        raise ValueError("not a valid numpy or cupy array")
    problems = []
    if ndim is not None and obj.ndim != ndim:
        problems.append(f"wrong array dimensions (expected {ndim}, got {obj.ndim})")
    if dtype is not None:
        allowed = (dtype,) if isinstance(dtype, str) else tuple(dtype)
        if obj.dtype.name not in allowed:
            problems.append(
                f"wrong array data type (expected {'/'.join(allowed)}, got {obj.dtype.name})"
            )
    if problems:
        raise ValueError(", ".join(problems))
    return obj


class _Array(Sized, Container):
    """Static stand-in for an ndarray of some rank and dtype. Never instantiated:
    it exists for type checkers and for pydantic (see __get_pydantic_core_schema__)."""

    # Class-level expectations that validation checks; None means "any".
    _expected_ndim: Optional[int] = None
    _expected_dtypes: Optional[Tuple[str, ...]] = None

    @classmethod
    def _validate(cls, value: Any) -> Any:
        return validate_array(value, cls._expected_ndim, cls._expected_dtypes)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(cls._validate)

    # The members below are typing stubs mirroring the ndarray interface.
    @property
    def dtype(self) -> Any: ...
    @property
    def data(self) -> memoryview: ...
    @property
    def flags(self) -> Any: ...
    @property
    def size(self) -> int: ...
    @property
    def itemsize(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def ndim(self) -> int: ...
    @property
    def shape(self) -> Shape: ...
    @property
    def strides(self) -> Tuple[int, ...]: ...
    @property
    def T(self) -> Any: ...
    def astype(self, dtype: Any, order: str = ..., casting: str = ..., copy: bool = ...) -> Any: ...
    def copy(self, order: str = ...) -> Any: ...
    def fill(self, value: Any) -> None: ...
    def reshape(self, *shape: Any, order: str = ...) -> Any: ...
    def transpose(self, *axes: Any) -> Any: ...
    def flatten(self, order: str = ...) -> Any: ...
    def ravel(self, order: str = ...) -> Any: ...
    def squeeze(self, axis: Any = ...) -> Any: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: Any) -> bool: ...
    def __iter__(self) -> Any: ...
    def __getitem__(self, key: Any) -> Any: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
    def get(self, stream: Any = None) -> Any: ...
    def all(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any: ...
    def any(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any: ...
    def argmax(self, axis: Any = None, out: Any = None) -> Any: ...
    def argmin(self, axis: Any = None, out: Any = None) -> Any: ...
    def clip(self, a_min: Any, a_max: Any, out: Any = None) -> Any: ...
    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any: ...
    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any: ...
    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any: ...
    def mean(self, axis: Any = None, dtype: Any = None, **kwargs: Any) -> Any: ...
    def sum(self, axis: Any = None, dtype: Any = None, **kwargs: Any) -> Any: ...
    def nonzero(self) -> Any: ...
    def prod(self, axis: Any = None, dtype: Any = None, **kwargs: Any) -> Any: ...
    def round(self, decimals: int = 0, out: Any = None) -> Any: ...
    def tobytes(self, order: str = "C") -> bytes: ...
    def tolist(self) -> Any: ...
    def var(self, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0) -> Any: ...
    def __add__(self, other: Any) -> Any: ...
    def __radd__(self, other: Any) -> Any: ...
    def __iadd__(self, other: Any) -> Any: ...
    def __sub__(self, other: Any) -> Any: ...
    def __rsub__(self, other: Any) -> Any: ...
    def __isub__(self, other: Any) -> Any: ...
    def __mul__(self, other: Any) -> Any: ...
    def __rmul__(self, other: Any) -> Any: ...
    def __imul__(self, other: Any) -> Any: ...
    def __truediv__(self, other: Any) -> Any: ...
    def __rtruediv__(self, other: Any) -> Any: ...
    def __itruediv__(self, other: Any) -> Any: ...
    def __floordiv__(self, other: Any) -> Any: ...
    def __mod__(self, other: Any) -> Any: ...
    def __pow__(self, other: Any) -> Any: ...
    def __rpow__(self, other: Any) -> Any: ...
    def __matmul__(self, other: Any) -> Any: ...
    def __neg__(self) -> Any: ...
    def __pos__(self) -> Any: ...
    def __abs__(self) -> Any: ...
    def __lt__(self, other: Any) -> Any: ...
    def __le__(self, other: Any) -> Any: ...
    def __gt__(self, other: Any) -> Any: ...
    def __ge__(self, other: Any) -> Any: ...
    def __eq__(self, other: Any) -> Any: ...  # type: ignore[override]
    def __ne__(self, other: Any) -> Any: ...  # type: ignore[override]
    def __and__(self, other: Any) -> Any: ...
    def __or__(self, other: Any) -> Any: ...
    def __invert__(self) -> Any: ...
    def __float__(self) -> float: ...
    def __int__(self) -> int: ...
    def __bool__(self) -> bool: ...


class _Floats(_Array):
    _expected_dtypes: Optional[Tuple[str, ...]] = _FLOAT_DTYPES


class _Ints(_Array):
    _expected_dtypes: Optional[Tuple[str, ...]] = _INT_DTYPES


class _Array1d(_Array):
    _expected_ndim: Optional[int] = 1

    @property
    def shape(self) -> Tuple[int]: ...


class _Array2d(_Array):
    _expected_ndim: Optional[int] = 2

    @property
    def shape(self) -> Tuple[int, int]: ...


class _Array3d(_Array):
    _expected_ndim: Optional[int] = 3

    @property
    def shape(self) -> Tuple[int, int, int]: ...


class _Array4d(_Array):
    _expected_ndim: Optional[int] = 4

    @property
    def shape(self) -> Tuple[int, int, int, int]: ...


class Floats1d(_Array1d, _Floats):
    """A one-dimensional float32 array."""


class Floats2d(_Array2d, _Floats):
    """A two-dimensional float32 array."""


class Ints1d(_Array1d, _Ints):
    """A one-dimensional array of int32, int64, uint32 or uint64."""


class Ints2d(_Array2d, _Ints):
    """A two-dimensional array of int32, int64, uint32 or uint64."""


# thinc 8.3 validates 3d and 4d annotations only for being an array (any rank or
# dtype); we keep that so data accepted there is accepted here.
class Floats3d(_Array3d, _Floats):
    """A three-dimensional float32 array."""

    _expected_ndim = None
    _expected_dtypes = None


class Floats4d(_Array4d, _Floats):
    """A four-dimensional float32 array."""

    _expected_ndim = None
    _expected_dtypes = None


class Ints3d(_Array3d, _Ints):
    """A three-dimensional integer array."""

    _expected_ndim = None
    _expected_dtypes = None


class Ints4d(_Array4d, _Ints):
    """A four-dimensional integer array."""

    _expected_ndim = None
    _expected_dtypes = None


FloatsXd = Union[Floats1d, Floats2d, Floats3d, Floats4d]
IntsXd = Union[Ints1d, Ints2d, Ints3d, Ints4d]
Array1d = Union[Floats1d, Ints1d]
Array2d = Union[Floats2d, Ints2d]
Array3d = Union[Floats3d, Ints3d]
Array4d = Union[Floats4d, Ints4d]
ArrayXd = Union[Floats1d, Floats2d, Floats3d, Floats4d, Ints1d, Ints2d, Ints3d, Ints4d]
List1d = Union[List[Floats1d], List[Ints1d]]
List2d = Union[List[Floats2d], List[Ints2d]]
List3d = Union[List[Floats3d], List[Ints3d]]
List4d = Union[List[Floats4d], List[Ints4d]]
ListXd = Union[
    List[Floats1d],
    List[Ints1d],
    List[Floats2d],
    List[Ints2d],
    List[Floats3d],
    List[Ints3d],
    List[Floats4d],
    List[Ints4d],
]
Slicish = Union[slice, List[int], ArrayXd]

ArrayT = TypeVar("ArrayT", bound=_Array)
Array1dT = TypeVar("Array1dT", bound=_Array1d)
FloatsXdT = TypeVar("FloatsXdT", Floats1d, Floats2d, Floats3d, Floats4d)


class Generator(Iterator):
    """An annotation for generator arguments that pydantic accepts any iterator for."""

    @classmethod
    def _validate(cls, value: Any) -> Any:
        if not hasattr(value, "__iter__") or not hasattr(value, "__next__"):
            # ValueError, so that pydantic reports it as a validation error.
            raise ValueError(
                f"wrong value type for Generator: expected an iterator, got {type(value).__name__}"
            )
        return value

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(cls._validate)


class Decorator(Protocol):
    """The type of a registry decorator such as ``registry.layers("Name.v1")``."""

    def __call__(self, name: str, **kwargs: Any) -> Callable[[_DIn], _DIn]: ...


def _as_int(index: Any) -> Optional[int]:
    """``index`` as a Python int if it is an integer scalar, else None."""
    if isinstance(index, (bool, numpy.bool_)):
        return None
    if isinstance(index, (int, numpy.integer)):
        return int(index)
    if _is_xp_array(index) and index.ndim == 0 and index.dtype.kind in "iu":
        return int(index)
    return None


def _normalize_position(index: int, length: int, what: str) -> int:
    position = index + length if index < 0 else index
    if not 0 <= position < length:
        raise IndexError(f"index {index} is out of bounds for {what} with {length} sequences")
    return position


def _index_array(index: Any, length: int, what: str) -> numpy.ndarray:
    """A numpy array of non-negative positions from a slice, list, or int/bool array."""
    if isinstance(index, slice):
        return numpy.arange(*index.indices(length))
    if _is_xp_array(index) and not isinstance(index, numpy.ndarray):
        index = index.get()
    positions = numpy.asarray(index)
    if positions.size == 0:
        return numpy.zeros((0,), dtype="int64")
    if positions.ndim != 1:
        raise IndexError(f"{what} indices must be one-dimensional, got shape {positions.shape}")
    if positions.dtype.kind == "b":
        if positions.shape[0] != length:
            raise IndexError(
                f"boolean index of length {positions.shape[0]} does not match {what} "
                f"with {length} sequences"
            )
        return numpy.flatnonzero(positions)
    if positions.dtype.kind not in "iu":
        raise IndexError(
            f"{what} indices must be integers or booleans, got dtype {positions.dtype}"
        )
    positions = positions.astype("int64")
    out_of_range = (positions < -length) | (positions >= length)
    if out_of_range.any():
        bad = int(positions[out_of_range][0])
        raise IndexError(f"index {bad} is out of bounds for {what} with {length} sequences")
    return numpy.where(positions < 0, positions + length, positions)


def _validating() -> bool:
    return DATA_VALIDATION.get()


def _check_lengths(lengths: Any, n_rows: int, xp: ModuleType) -> Any:
    """Ragged lengths as an array (lists are converted). Under data_validation
    they must also be integers, one-dimensional, non-negative and sum to at most
    the number of data rows; otherwise, as in thinc 8.3, the ops that read them
    check them (8.3 code builds placeholders with float lengths)."""
    strict = _validating()
    if not _is_xp_array(lengths):
        if isinstance(lengths, (list, tuple)):
            as_array = numpy.asarray(lengths)
            if as_array.size == 0:
                as_array = as_array.astype("int32")
            if as_array.dtype.kind not in "iu":
                if strict:
                    raise ValueError(f"Ragged lengths must be integers, got {lengths!r}")
                return xp.asarray(as_array)
            lengths = xp.asarray(as_array, dtype="int32")
        else:
            raise TypeError(
                f"Ragged lengths must be an integer array, got {type(lengths).__name__}"
            )
    if not strict:
        return lengths
    if lengths.ndim != 1:
        raise ValueError(f"Ragged lengths must be one-dimensional, got shape {lengths.shape}")
    kind = lengths.dtype.kind
    if kind not in "iu":
        raise ValueError(f"Ragged lengths must have an integer dtype, got {lengths.dtype}")
    if lengths.shape[0] == 0:
        return lengths
    # The ufuncs' reduce skips ndarray.min/sum's Python wrappers: Ragged is built
    # on every forward pass, so this check has to stay cheap.
    if kind == "i" and int(_minimum_reduce(lengths)) < 0:
        raise ValueError(f"Ragged lengths must not be negative, got {lengths}")
    total = int(_add_reduce(lengths))
    # Trailing rows owned by no sequence are tolerated: spaCy's extract_spans builds
    # Ragged(zeros like X, zero lengths) for batches without spans.
    if total > n_rows:
        raise ValueError(f"Ragged lengths sum to {total} but the data has only {n_rows} rows")
    return lengths


def _add_reduce(array: Any) -> Any:
    return numpy.add.reduce(array) if isinstance(array, numpy.ndarray) else array.sum()


def _minimum_reduce(array: Any) -> Any:
    return numpy.minimum.reduce(array) if isinstance(array, numpy.ndarray) else array.min()


@dataclass(eq=False)
class Ragged:
    """Variable-length sequences stored back to back: ``data`` holds every row of
    every sequence, ``lengths[i]`` says how many rows sequence i has."""

    data: Array2d
    lengths: Ints1d
    data_shape: Tuple[int, ...]
    starts_ends: Optional[Ints1d] = None

    def __init__(self, data: "_Array", lengths: "Ints1d"):
        if not _is_xp_array(data):
            raise TypeError(f"Ragged data must be a numpy or cupy array, got {type(data).__name__}")
        if data.ndim == 0:
            raise ValueError("Ragged data must have at least one dimension, got a 0-d array")
        xp = numpy if isinstance(data, numpy.ndarray) else get_array_module(data)
        self._assign(data, _check_lengths(lengths, data.shape[0], xp))

    def _assign(self, data: Any, lengths: Any) -> None:
        self.lengths = lengths
        self.data_shape = (-1,) + tuple(data.shape[1:])
        width = 1
        for size in data.shape[1:]:
            width *= size
        # A two-dimensional view, whatever the rank of the rows.
        self.data = data.reshape((data.shape[0], width))
        self.starts_ends = None

    @classmethod
    def _from_checked(cls, data: Any, lengths: Any) -> "Ragged":
        """A Ragged from parts already known to be consistent (no validation)."""
        ragged = cls.__new__(cls)
        ragged._assign(data, lengths)
        return ragged

    @property
    def dataXd(self) -> "ArrayXd":
        """The data in its original rank: (n_rows, *row_shape)."""
        return self.data.reshape((self.data.shape[0],) + tuple(self.data_shape[1:]))

    def __len__(self) -> int:
        return self.lengths.shape[0]

    def __getitem__(self, index: Union[int, slice, "Ints1d", List[int]]) -> "Ragged":
        """Select sequences: an int gives a Ragged of one sequence, a step-1 slice
        gives a view, other slices and int/bool arrays gather copies."""
        if isinstance(index, tuple):
            raise IndexError("Ragged arrays do not support 2d indexing.")
        n_seqs = len(self)
        position = _as_int(index)
        if position is not None:
            position = _normalize_position(position, n_seqs, "Ragged")
            index = slice(position, position + 1)
        elif isinstance(index, (float, str, bool, numpy.bool_)) or index is None:
            raise TypeError(f"Ragged indices must be ints, slices or int arrays, got {index!r}")
        if isinstance(index, slice) and index.step in (None, 1):
            start, stop, _ = index.indices(n_seqs)
            stop = max(start, stop)
            row_start = int(_add_reduce(self.lengths[:start])) if start else 0
            row_stop = row_start + int(_add_reduce(self.lengths[start:stop]))
            return Ragged._from_checked(self.dataXd[row_start:row_stop], self.lengths[start:stop])
        positions = _index_array(index, n_seqs, "Ragged")
        xp = get_array_module(self.lengths)
        lengths_np = _to_numpy_array(self.lengths)
        starts_np = numpy.zeros((n_seqs,), dtype="int64")
        if n_seqs:
            starts_np[1:] = numpy.cumsum(lengths_np[:-1])
        picked_lengths = lengths_np[positions].astype("int64")
        offsets = numpy.cumsum(picked_lengths) - picked_lengths
        total = int(picked_lengths.sum())
        rows = numpy.repeat(starts_np[positions] - offsets, picked_lengths) + numpy.arange(total)
        data_xp = get_array_module(self.data)
        gathered = self.dataXd[data_xp.asarray(rows)]
        new_lengths = xp.asarray(lengths_np[positions], dtype=self.lengths.dtype)
        return Ragged._from_checked(gathered, new_lengths)

    def _get_starts_ends(self) -> "Ints1d":
        """Offsets of every sequence boundary: [0, l0, l0+l1, ..., n_rows] (int32).
        Cached in ``starts_ends`` on first use, as thinc 8.3 does, so lengths must
        not be modified in place afterwards."""
        if self.starts_ends is None:
            xp = get_array_module(self.lengths)
            starts_ends = xp.zeros((self.lengths.shape[0] + 1,), dtype="int32")
            if self.lengths.shape[0]:
                starts_ends[1:] = xp.cumsum(self.lengths)
            self.starts_ends = starts_ends
        return self.starts_ends

    def _get_starts(self) -> "Ints1d":
        return self._get_starts_ends()[:-1]

    def _get_ends(self) -> "Ints1d":
        return self._get_starts_ends()[1:]


def _to_numpy_array(array: Any) -> numpy.ndarray:
    if isinstance(array, numpy.ndarray):
        return array
    return array.get()


@dataclass(eq=False)
class Padded:
    """Sequences padded to one length, time-major: ``data`` is (T, batch, ...).

    ``size_at_t[t]`` counts the sequences still running at step t, ``lengths``
    gives each column's length and ``indices`` each column's original position."""

    data: Union[Floats3d, Ints3d]
    size_at_t: Ints1d
    lengths: Ints1d
    indices: Ints1d

    def __post_init__(self) -> None:
        # thinc 8.3 accepts any parts (tests build placeholders); the checks run
        # under data_validation. Only shapes: wrappers may hold other array types.
        if not _validating():
            return
        lengths_shape = getattr(self.lengths, "shape", None)
        indices_shape = getattr(self.indices, "shape", None)
        data_shape = getattr(self.data, "shape", None)
        both_known = lengths_shape is not None and indices_shape is not None
        if both_known and lengths_shape != indices_shape:
            raise ValueError(
                f"Padded lengths and indices must have the same shape, got "
                f"{lengths_shape} and {indices_shape}"
            )
        if data_shape is not None and lengths_shape and len(data_shape) >= 2:
            if data_shape[1] != lengths_shape[0]:
                raise ValueError(
                    f"Padded data has {data_shape[1]} columns (axis 1) but "
                    f"{lengths_shape[0]} lengths"
                )

    def copy(self) -> "Padded":
        return Padded(
            self.data.copy(), self.size_at_t.copy(), self.lengths.copy(), self.indices.copy()
        )

    def __len__(self) -> int:
        return self.lengths.shape[0]

    def __getitem__(self, index: Union[int, slice, "Ints1d", List[int]]) -> "Padded":
        """Select sequences (columns of ``data``); size_at_t is recomputed."""
        n_seqs = len(self)
        selection: Any = index
        position = _as_int(index)
        if position is not None:
            position = _normalize_position(position, n_seqs, "Padded")
            selection = slice(position, position + 1)
        elif isinstance(index, tuple):
            raise IndexError("Padded arrays do not support multi-dimensional indexing.")
        if not (isinstance(selection, slice) and selection.step in (None, 1)):
            positions = _index_array(selection, n_seqs, "Padded")
            selection = get_array_module(self.lengths).asarray(positions)
        lengths = self.lengths[selection]
        xp = get_array_module(lengths)
        steps = xp.arange(self.data.shape[0])
        alive = lengths[None, :] > steps[:, None]
        size_at_t = alive.sum(axis=1).astype(self.size_at_t.dtype)
        if isinstance(selection, slice):
            data_selection = selection
        else:
            data_selection = get_array_module(self.data).asarray(selection)
        return Padded(self.data[:, data_selection], size_at_t, lengths, self.indices[selection])


@dataclass
class Pairs(Generic[_P]):
    """Two aligned sequences (e.g. inputs and outputs) indexed together."""

    one: _P
    two: _P

    def __getitem__(self, index: Any) -> "Pairs[_P]":
        if _as_int(index) is None and not isinstance(index, slice):
            return Pairs(_gather(self.one, index), _gather(self.two, index))
        return Pairs(self.one[index], self.two[index])  # type: ignore[index]

    def __len__(self) -> int:
        return len(self.one)  # type: ignore[arg-type]


def _gather(items: Any, positions: Any) -> Any:
    if _is_xp_array(items) or isinstance(items, (Ragged, Padded)):
        return items[positions]
    picked = _index_array(positions, len(items), "Pairs")
    return [items[int(i)] for i in picked]


@dataclass
class ArgsKwargs:
    """Positional and keyword arguments held together, e.g. a torch module's inputs."""

    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]

    @classmethod
    def from_items(cls, items: Sequence[Tuple[Union[int, str], Any]]) -> "ArgsKwargs":
        """Build from (key, value) pairs: int keys become positional arguments
        (in the order given), str keys keyword arguments."""
        args = []
        kwargs = {}
        for key, value in items:
            if isinstance(key, int):
                args.append(value)
            else:
                kwargs[key] = value
        return cls(args=tuple(args), kwargs=kwargs)

    def keys(self) -> Iterable[Union[int, str]]:
        """Positions of the args, then the kwargs' names."""
        yield from range(len(self.args))
        yield from self.kwargs.keys()

    def values(self) -> Iterable[Any]:
        yield from self.args
        yield from self.kwargs.values()

    def items(self) -> Iterable[Tuple[Union[int, str], Any]]:
        yield from enumerate(self.args)
        yield from self.kwargs.items()


@dataclass
class SizedGenerator:
    """A re-iterable stream with a known length: each iteration calls get_items()."""

    get_items: Callable[[], Generator]
    length: int

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator:
        yield from self.get_items()


@dataclass
class Unserializable:
    """Wraps a value that must be skipped when a model's attrs are serialized."""

    obj: Any


Batchable = Union[Pairs, Ragged, Padded, ArrayXd, List, Tuple]
