"""The reference Ops backend: every array operation thinc's layers use, written as
plain array code through ``self.xp`` so that it is correct for numpy and cupy alike."""

import itertools
import math
from typing import (
    Any,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

import numpy

from ..types import (
    Array1d,
    Array2d,
    Array3d,
    Array4d,
    ArrayXd,
    Batchable,
    DeviceTypes,
    DTypes,
    DTypesFloat,
    DTypesInt,
    Floats1d,
    Floats2d,
    Floats3d,
    Floats4d,
    FloatsXd,
    Generator,
    Ints1d,
    Ints2d,
    Ints3d,
    Ints4d,
    IntsXd,
    List2d,
    ListXd,
    Padded,
    Pairs,
    Shape,
    SizedGenerator,
    Xp,
    _Floats,
)
from ..util import get_array_module, is_cupy_array, is_torch_array, is_xp_array

ArrayT = TypeVar("ArrayT")
FloatsT = TypeVar("FloatsT", bound=_Floats)
FloatsXdT = TypeVar("FloatsXdT", Floats1d, Floats2d, Floats3d, Floats4d)
SQRT2PI = math.sqrt(2.0 / math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# Coefficients of the Abramowitz & Stegun 7.1.26 rational approximation of erf
# (absolute error below 1.5e-7, i.e. exact at float32 precision).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


class LengthsMismatchError(IndexError, ValueError):
    """Sequence lengths that do not fit the rows of the data. thinc 8.3 raised
    IndexError here; ValueError is the natural type, so both catch it."""


# Each fused op of a library backend, and the overridable ops that thinc 8.3's
# layers call in its place. A user's subclass (or an instance attribute) that
# overrides one of those must see the calls, so the fused path then steps aside.
FUSED_OP_STEPS = {
    "affine": ("gemm",),
    "_maxout_forward": ("gemm", "affine", "maxout"),
    "_maxout_piece_gradients": ("backprop_maxout",),
    "_maxout_backward": ("gemm", "backprop_maxout", "_maxout_piece_gradients"),
    "_layer_norm_forward": (),
    "_layer_norm_backward": (),
}


def _guard_fused(owner: type, name: str, fused: Any) -> Any:
    """``fused`` (owner's compiled version of op ``name``), running only while the
    ops it replaces are still owner's; otherwise Ops' reference version, which
    calls them."""
    steps = FUSED_OP_STEPS[name]
    reference = getattr(Ops, name)
    own_steps = tuple(getattr(owner, step) for step in steps)

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Looked up on every call (no cache): tests patch classes and instances.
        kind = type(self)
        instance_attrs = getattr(self, "__dict__", None) or {}
        if all(
            getattr(kind, step) is own and step not in instance_attrs
            for step, own in zip(steps, own_steps)
        ):
            return fused(self, *args, **kwargs)
        return reference(self, *args, **kwargs)

    run.__name__ = name
    run.__qualname__ = f"{owner.__name__}.{name}"
    run.__doc__ = fused.__doc__
    run.__wrapped__ = fused  # type: ignore[attr-defined]
    return run


class LengthsTypeError(TypeError, ValueError):
    """Sequence lengths that are not integers. thinc 8.3 raised TypeError where it
    sliced with them; ValueError is what the other length checks raise."""


class Ops:
    """Reference backend. Subclasses override methods only to run them faster."""

    name: str = "base"
    xp: Xp = numpy

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only thinc's own backends are guarded: a user's override of a fused op
        # is the user's decision and runs as written.
        if not cls.__module__.startswith("thinc."):
            return
        for name in FUSED_OP_STEPS:
            if name in cls.__dict__:
                setattr(cls, name, _guard_fused(cls, name, cls.__dict__[name]))

    def __init__(
        self, device_type: DeviceTypes = "cpu", device_id: int = -1, **kwargs: Any
    ) -> None:
        self.device_type = device_type
        self.device_id = device_id

    # What gemm runs on; NumpyOps names its BLAS per dtype.
    blas_backend: str = "the array module's matmul (xp.dot)"

    @staticmethod
    def paths() -> dict:
        """Which implementation each op family runs: here, plain array code
        through ``xp`` for all of them (NumpyOps reports its compiled kernels)."""
        return {
            "isa": {"cpu": None, "active": None},
            "kernels": {"all": "plain array code (thinc.backends.ops.Ops)"},
            "gemm": {"all": "the array module's matmul (xp.dot)", "forced": None},
            "threads": 1,
        }

    def cblas(self) -> Any:
        """C BLAS function pointers, for compiled code that multiplies matrices."""
        raise NotImplementedError(f"{type(self).__name__} does not provide C BLAS functions")

    def to_numpy(self, data: Any, *, byte_order: Optional[str] = None) -> numpy.ndarray:
        """A numpy copy (or the array itself) of ``data``, optionally converted to
        a byte order ("<", ">", "=")."""
        if not isinstance(data, numpy.ndarray):
            raise ValueError(
                f"Cannot convert {type(data).__name__} to numpy with the base Ops class"
            )
        if byte_order:
            data = data.astype(data.dtype.newbyteorder(byte_order))
        return data

    # ---------------------------------------------------------------- batching

    def minibatch(
        self,
        size: Union[int, Generator],
        sequence: Batchable,
        *,
        shuffle: bool = False,
        buffer: int = 1,
    ) -> SizedGenerator:
        """Iterate ``sequence`` in batches of ``size`` items (an int, or an
        iterator of sizes). Re-iterable; with shuffle, each pass reshuffles."""
        return self._batches(size, (sequence,), shuffle=shuffle, buffer=buffer, single=True)

    def multibatch(
        self,
        size: Union[int, Generator],
        sequence: Batchable,
        *others: Batchable,
        shuffle: bool = False,
        buffer: int = 1,
    ) -> SizedGenerator:
        """Like minibatch, for several aligned sequences: each batch is a list
        with one slice of every sequence, all at the same positions."""
        return self._batches(size, (sequence,) + others, shuffle=shuffle, buffer=buffer)

    def _batches(
        self,
        size: Union[int, Generator],
        sequences: Tuple[Batchable, ...],
        *,
        shuffle: bool,
        buffer: int,
        single: bool = False,
    ) -> SizedGenerator:
        sequence, others = sequences[0], sequences[1:]
        for item in sequences:
            if (
                not hasattr(item, "__len__")
                or not hasattr(item, "__getitem__")
                or isinstance(item, (str, bytes, dict))
            ):
                raise ValueError(f"Can't minibatch data. Expected sequence, got {type(item)}")
        length = len(sequence)
        for item in others:
            if len(item) != length:
                # Also an IndexError, which thinc 8.3 raised here.
                raise LengthsMismatchError(
                    f"multibatch needs sequences of equal length, got {len(item)} and {length}"
                )
        if buffer < 1:
            raise ValueError(f"minibatch buffer must be >= 1, got {buffer}")
        # A number (numpy ints and floats included) is a fixed size; anything
        # iterable yields one size per batch.
        size_stream = iter(size) if hasattr(size, "__iter__") else itertools.repeat(size)
        sizes = self._get_batch_sizes(length, size_stream)

        def get_items() -> Iterator:
            indices = numpy.arange(length)
            if shuffle:
                numpy.random.shuffle(indices)
            start = 0
            for batch_size in sizes:
                batch_indices = indices[start : start + batch_size]
                start += batch_size
                if single:
                    yield self._get_batch(sequence, batch_indices)
                else:
                    yield [self._get_batch(item, batch_indices) for item in sequences]

        return SizedGenerator(cast(Any, get_items), len(sizes))

    def _get_batch(self, sequence: Any, indices: Any) -> Any:
        """The items of ``sequence`` at ``indices``, in the sequence's own type."""
        if isinstance(sequence, list):
            return [sequence[int(i)] for i in indices]
        if isinstance(sequence, tuple):
            return tuple(sequence[int(i)] for i in indices)
        if isinstance(sequence, Pairs):
            return Pairs(
                self._get_batch(sequence.one, indices), self._get_batch(sequence.two, indices)
            )
        if is_xp_array(sequence):
            return sequence[get_array_module(sequence).asarray(indices)]
        return sequence[indices]

    def _get_batch_sizes(self, length: int, sizes: Iterator[int]) -> List[int]:
        """Draw batch sizes until they cover ``length`` items."""
        output: List[int] = []
        covered = 0
        while covered < length:
            try:
                batch_size = int(next(sizes))
            except StopIteration:
                raise ValueError(
                    f"minibatch sizes ran out after covering {covered} of {length} items"
                ) from None
            if batch_size < 1:
                raise ValueError(f"minibatch sizes must be >= 1, got {batch_size}")
            output.append(batch_size)
            covered += batch_size
        return output

    # ---------------------------------------------------------------- windows

    def seq2col(self, seq: Floats2d, nW: int, *, lengths: Optional[Ints1d] = None) -> Floats2d:
        """Concatenate each row with its ``nW`` neighbours on either side, as
        ``(N, (2*nW+1)*nI)``. Neighbours outside a row's sequence are zeros."""
        xp = self.xp
        if seq.ndim != 2:
            raise ValueError(f"seq2col needs a 2d array, got shape {seq.shape}")
        nW = _check_window(nW)
        n_rows, nI = seq.shape
        position, seq_length = self._positions_in_sequences(n_rows, lengths)
        output = xp.empty((n_rows, (2 * nW + 1) * nI), dtype=seq.dtype)
        if output.size == 0:
            return output
        for block, offset in enumerate(range(-nW, nW + 1)):
            valid = (position + offset >= 0) & (position + offset < seq_length)
            # where(), not a multiply: an inf or nan must not leak into a neighbour.
            output[:, block * nI : (block + 1) * nI] = xp.where(
                valid[:, None], _shift_rows(xp, seq, offset), 0
            )
        return output

    def backprop_seq2col(
        self, dY: Floats2d, nW: int, *, lengths: Optional[Ints1d] = None
    ) -> Floats2d:
        """Gradient of seq2col: each row gathers the gradient of every window
        it appeared in."""
        xp = self.xp
        nW = _check_window(nW)
        width = 2 * nW + 1
        if dY.ndim != 2 or dY.shape[1] % width:
            raise ValueError(
                f"backprop_seq2col needs a 2d gradient whose width is a multiple of "
                f"{width} (nW={nW}), got shape {dY.shape}"
            )
        n_rows = dY.shape[0]
        nI = dY.shape[1] // width
        position, seq_length = self._positions_in_sequences(n_rows, lengths)
        dX = xp.zeros((n_rows, nI), dtype=dY.dtype)
        if dX.size == 0:
            return dX
        for block, offset in enumerate(range(-nW, nW + 1)):
            valid = (position + offset >= 0) & (position + offset < seq_length)
            # Row i's window block fed row i + offset, so the gradient moves back.
            contribution = xp.where(valid[:, None], dY[:, block * nI : (block + 1) * nI], 0)
            dX += _shift_rows(xp, contribution, -offset)
        return dX

    def _positions_in_sequences(self, n_rows: int, lengths: Optional[Ints1d]) -> Tuple[Any, Any]:
        """For every row: its position within its sequence and that sequence's length."""
        xp = self.xp
        if lengths is None:
            return xp.arange(n_rows), xp.full((n_rows,), n_rows)
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_lengths_total(lengths_list, n_rows, exact=True)
        host_lengths = numpy.asarray(lengths_list, dtype="int64")
        starts = numpy.cumsum(host_lengths) - host_lengths
        seq_length = numpy.repeat(host_lengths, host_lengths)
        position = numpy.arange(n_rows) - numpy.repeat(starts, host_lengths)
        return xp.asarray(position), xp.asarray(seq_length)

    # ------------------------------------------------------------- linear algebra

    def gemm(
        self,
        x: Floats2d,
        y: Floats2d,
        out: Optional[Floats2d] = None,
        trans1: bool = False,
        trans2: bool = False,
    ) -> Floats2d:
        """Matrix product of x (or x.T) and y (or y.T), written into ``out`` if given."""
        if x.ndim != 2 or y.ndim != 2:
            raise ValueError(f"gemm needs 2d arrays, got shapes {x.shape} and {y.shape}")
        if trans1:
            x = x.T
        if trans2:
            y = y.T
        if x.shape[1] != y.shape[0]:
            raise ValueError(
                f"gemm shape mismatch: {x.shape} times {y.shape} (trans1={trans1}, trans2={trans2})"
            )
        if out is None:
            return self.xp.dot(x, y)
        if out.shape != (x.shape[0], y.shape[1]):
            raise ValueError(
                f"gemm output has shape {out.shape}, expected {(x.shape[0], y.shape[1])}"
            )
        out[...] = self.xp.dot(x, y)
        return out

    def tile(self, X: Floats2d, reps: int) -> Floats2d:
        """Repeat X ``reps`` times along its last axis."""
        return self.xp.tile(X, reps)

    def affine(self, X: Floats2d, W: Floats2d, b: Floats1d) -> Floats2d:
        """X @ W.T + b."""
        return self.gemm(X, W, trans2=True) + b

    # ------------------------------------------------------- lists and padding

    def flatten(
        self,
        X: Sequence[ArrayXd],
        dtype: Optional[DTypes] = None,
        pad: int = 0,
        ndim_if_empty: int = 2,
    ) -> ArrayXd:
        """Concatenate arrays along axis 0, with ``pad`` zero rows before, between
        and after them."""
        if X is None or len(X) == 0:
            return self.alloc((0,) * ndim_if_empty, dtype=dtype or "f")
        xp = get_array_module(X[0])
        # Arrays without rows add nothing, whatever their shape: spaCy flattens the
        # outputs of empty docs, which may be (0,) beside (n, width), as 8.3 allows.
        nonempty = [array for array in X if array.size]
        if nonempty and len(nonempty) != len(X):
            X = nonempty
        row_shape = X[0].shape[1:]
        for array in X:
            if array.shape[1:] != row_shape:
                raise ValueError(
                    f"flatten needs arrays that agree beyond axis 0, got shapes "
                    f"{X[0].shape} and {array.shape}"
                )
        if pad < 0:
            raise ValueError(f"flatten pad must be >= 0, got {pad}")
        if pad > 0:
            padding = xp.zeros((pad,) + tuple(row_shape), dtype=X[0].dtype)
            pieces = [padding]
            # Empty arrays get no padding of their own (unflatten relies on it).
            for array in X:
                if array.shape[0]:
                    pieces.append(array)
                    pieces.append(padding)
            X = pieces
        result = xp.concatenate(X)
        if dtype is not None:
            result = xp.asarray(result, dtype=dtype)
        return result

    def unflatten(self, X: ArrayXd, lengths: Ints1d, pad: int = 0) -> ListXd:
        """Split X along axis 0 into pieces of ``lengths`` rows (views), skipping
        ``pad`` rows before and after each non-empty piece (the inverse of flatten)."""
        lengths_list = _lengths_to_list(lengths, "lengths")
        if pad < 0:
            raise ValueError(f"unflatten pad must be >= 0, got {pad}")
        non_empty = sum(1 for length in lengths_list if length)
        needed = sum(lengths_list) + pad * non_empty if non_empty else 0
        if needed > X.shape[0]:
            raise LengthsMismatchError(
                f"unflatten lengths sum to {sum(lengths_list)} (with pad={pad}: {needed} rows) "
                f"but the array has {X.shape[0]} rows"
            )
        pieces = []
        start = pad
        for length in lengths_list:
            pieces.append(X[start : start + length])
            if length:
                start += length + pad
        return pieces

    def pad(self, seqs: Union[List[Ints2d], List[Floats2d]], round_to: int = 1) -> Array3d:
        """Stack sequences into one (batch, max_length, ...) array of zeros-padded
        rows; max_length is rounded up to a multiple of ``round_to``."""
        if round_to < 1:
            raise ValueError(f"pad round_to must be >= 1, got {round_to}")
        if not seqs:
            raise ValueError("Cannot pad empty sequence")
        dtype = seqs[0].dtype
        row_shape = seqs[0].shape[1:]
        for seq in seqs:
            if seq.dtype != dtype:
                raise ValueError(
                    f"Cannot pad sequences with different dtypes ({dtype} and {seq.dtype})"
                )
            if seq.shape[1:] != row_shape:
                raise ValueError(
                    f"Cannot pad sequences that differ on other dimensions "
                    f"({seqs[0].shape} and {seq.shape})"
                )
        max_length = max(seq.shape[0] for seq in seqs)
        max_length = -(-max_length // round_to) * round_to
        output = self.alloc((len(seqs), max_length) + tuple(row_shape), dtype=dtype)
        for i, sequence in enumerate(cast(List[Any], seqs)):
            output[i, : sequence.shape[0]] = sequence
        return output

    def unpad(self, padded: Array3d, lengths: List[int]) -> List2d:
        """The first ``lengths[i]`` rows of each padded sequence (views)."""
        lengths_list = _lengths_to_list(lengths, "lengths")
        if len(lengths_list) > padded.shape[0]:
            raise ValueError(
                f"unpad got {len(lengths_list)} lengths for {padded.shape[0]} sequences"
            )
        if lengths_list and max(lengths_list) > padded.shape[1]:
            raise ValueError(
                f"unpad length {max(lengths_list)} exceeds the padded length {padded.shape[1]}"
            )
        return [padded[i, :length] for i, length in enumerate(lengths_list)]

    def list2padded(self, seqs: List2d) -> Padded:
        """Pack sequences time-major, longest first: data is (T, batch, ...)."""
        if not seqs:
            return Padded(
                self.alloc3f(0, 0, 0),
                self.alloc1i(0),
                self.alloc1i(0),
                self.alloc1i(0),
            )
        for seq in seqs:
            if seq.ndim < 2:
                raise ValueError(f"list2padded needs arrays of 2 or more dims, got {seq.shape}")
        lengths_host = numpy.asarray([seq.shape[0] for seq in seqs], dtype="int32")
        # Longest first; equal lengths end up in reverse order of appearance.
        order = numpy.argsort(lengths_host, kind="stable")[::-1]
        n_steps = int(lengths_host[order[0]])
        row_shape = seqs[0].shape[1:]
        data = self.alloc((n_steps, len(seqs)) + tuple(row_shape), dtype=seqs[0].dtype)
        for column, index in enumerate(order):
            seq = seqs[int(index)]
            data[: seq.shape[0], column] = seq
        sorted_lengths = lengths_host[order]
        size_at_t = (sorted_lengths[None, :] > numpy.arange(n_steps)[:, None]).sum(axis=1)
        return Padded(
            data,
            self.asarray1i(size_at_t.astype("int32")),
            self.asarray1i(cast(Any, numpy.ascontiguousarray(sorted_lengths))),
            self.asarray1i(cast(Any, numpy.ascontiguousarray(order.astype("int32")))),
        )

    def padded2list(self, padded: Padded) -> List2d:
        """Unpack a Padded back into its sequences, in their original order."""
        lengths = _lengths_to_list(padded.lengths, "lengths")
        indices = _lengths_to_list(padded.indices, "indices")
        # Padded accepts parts that disagree (as thinc 8.3 does); here they are used.
        columns = padded.data.shape[1] if padded.data.ndim >= 2 else 0
        if not len(lengths) == len(indices) == columns or sorted(indices) != list(range(columns)):
            raise LengthsMismatchError(
                f"padded2list: a Padded with {columns} columns needs as many lengths and a "
                f"permutation of its columns as indices, got lengths {lengths} and indices {indices}"
            )
        if lengths and max(lengths) > padded.data.shape[0]:
            raise LengthsMismatchError(
                f"padded2list: length {max(lengths)} exceeds the {padded.data.shape[0]} steps"
            )
        unpacked: List[Any] = [None] * len(indices)
        for column, (length, index) in enumerate(zip(lengths, indices)):
            unpacked[index] = self.xp.ascontiguousarray(padded.data[:length, column])
        return cast(List2d, unpacked)

    def insert_into(self, shape: Shape, Xs: Sequence[ArrayXd]) -> ArrayXd:
        """A zeros array of ``shape`` with Xs[i] written at the start of row i."""
        if len(Xs) > shape[0]:
            raise ValueError(f"insert_into got {len(Xs)} arrays for shape {tuple(shape)}")
        output = self.alloc(tuple(shape), dtype=Xs[0].dtype if len(Xs) else "float32")
        for i, x in enumerate(Xs):
            output[i, : x.shape[0]] = x
        return output

    # ---------------------------------------------------------------- allocation

    def get_dropout_mask(self, shape: Shape, drop: Optional[float]) -> FloatsXd:
        """A mask of zeros (probability ``drop``) and 1/(1-drop) (otherwise)."""
        if drop is None or drop <= 0:
            return self.xp.ones(shape, dtype="f")
        if drop >= 1.0:
            return self.alloc_f(shape)
        coinflips = self.xp.random.uniform(0.0, 1.0, shape)
        mask = (coinflips >= drop) / (1.0 - drop)
        return cast(FloatsXd, self.asarray(mask, dtype="float32"))

    def alloc(
        self, shape: Shape, *, dtype: Optional[DTypes] = "float32", zeros: bool = True
    ) -> Any:
        """A new array of ``shape``: zeros, or uninitialised when zeros=False."""
        if isinstance(shape, int):
            shape = (shape,)
        if zeros:
            return self.xp.zeros(shape, dtype=dtype)
        return self.xp.empty(shape, dtype=dtype)

    def alloc_f(
        self, shape: Shape, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> FloatsXd:
        return cast(FloatsXd, self.alloc(shape, dtype=dtype, zeros=zeros))

    def alloc_i(
        self, shape: Shape, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> IntsXd:
        return cast(IntsXd, self.alloc(shape, dtype=dtype, zeros=zeros))

    def alloc1f(
        self, d0: int, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> Floats1d:
        return cast(Floats1d, self.alloc((d0,), dtype=dtype, zeros=zeros))

    def alloc2f(
        self, d0: int, d1: int, *, dtype: Optional[DTypesFloat] = "float32", zeros: bool = True
    ) -> Floats2d:
        return cast(Floats2d, self.alloc((d0, d1), dtype=dtype, zeros=zeros))

    def alloc3f(
        self,
        d0: int,
        d1: int,
        d2: int,
        *,
        dtype: Optional[DTypesFloat] = "float32",
        zeros: bool = True,
    ) -> Floats3d:
        return cast(Floats3d, self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros))

    def alloc4f(
        self,
        d0: int,
        d1: int,
        d2: int,
        d3: int,
        *,
        dtype: Optional[DTypesFloat] = "float32",
        zeros: bool = True,
    ) -> Floats4d:
        return cast(Floats4d, self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros))

    def alloc1i(
        self, d0: int, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> Ints1d:
        return cast(Ints1d, self.alloc((d0,), dtype=dtype, zeros=zeros))

    def alloc2i(
        self, d0: int, d1: int, *, dtype: Optional[DTypesInt] = "int32", zeros: bool = True
    ) -> Ints2d:
        return cast(Ints2d, self.alloc((d0, d1), dtype=dtype, zeros=zeros))

    def alloc3i(
        self,
        d0: int,
        d1: int,
        d2: int,
        *,
        dtype: Optional[DTypesInt] = "int32",
        zeros: bool = True,
    ) -> Ints3d:
        return cast(Ints3d, self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros))

    def alloc4i(
        self,
        d0: int,
        d1: int,
        d2: int,
        d3: int,
        *,
        dtype: Optional[DTypesInt] = "int32",
        zeros: bool = True,
    ) -> Ints4d:
        return cast(Ints4d, self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros))

    # ------------------------------------------------------------------ reshaping

    def reshape(self, array: ArrayT, shape: Shape) -> ArrayT:
        return array.reshape(shape)  # type: ignore[attr-defined]

    def reshape_f(self, array: FloatsXd, shape: Shape) -> FloatsXd:
        return self.reshape(array, shape)

    def reshape_i(self, array: IntsXd, shape: Shape) -> IntsXd:
        return self.reshape(array, shape)

    def reshape1(self, array: ArrayXd, d0: int) -> Array1d:
        return cast(Array1d, self.reshape(array, (d0,)))

    def reshape2(self, array: ArrayXd, d0: int, d1: int) -> Array2d:
        return cast(Array2d, self.reshape(array, (d0, d1)))

    def reshape3(self, array: ArrayXd, d0: int, d1: int, d2: int) -> Array3d:
        return cast(Array3d, self.reshape(array, (d0, d1, d2)))

    def reshape4(self, array: ArrayXd, d0: int, d1: int, d2: int, d3: int) -> Array4d:
        return cast(Array4d, self.reshape(array, (d0, d1, d2, d3)))

    def reshape1f(self, array: FloatsXd, d0: int) -> Floats1d:
        return cast(Floats1d, self.reshape(array, (d0,)))

    def reshape2f(self, array: FloatsXd, d0: int, d1: int) -> Floats2d:
        return cast(Floats2d, self.reshape(array, (d0, d1)))

    def reshape3f(self, array: FloatsXd, d0: int, d1: int, d2: int) -> Floats3d:
        return cast(Floats3d, self.reshape(array, (d0, d1, d2)))

    def reshape4f(self, array: FloatsXd, d0: int, d1: int, d2: int, d3: int) -> Floats4d:
        return cast(Floats4d, self.reshape(array, (d0, d1, d2, d3)))

    def reshape1i(self, array: IntsXd, d0: int) -> Ints1d:
        return cast(Ints1d, self.reshape(array, (d0,)))

    def reshape2i(self, array: IntsXd, d0: int, d1: int) -> Ints2d:
        return cast(Ints2d, self.reshape(array, (d0, d1)))

    def reshape3i(self, array: IntsXd, d0: int, d1: int, d2: int) -> Ints3d:
        return cast(Ints3d, self.reshape(array, (d0, d1, d2)))

    def reshape4i(self, array: IntsXd, d0: int, d1: int, d2: int, d3: int) -> Ints4d:
        return cast(Ints4d, self.reshape(array, (d0, d1, d2, d3)))

    # ------------------------------------------------------------------ conversion

    def asarray(
        self,
        data: Union[ArrayXd, Sequence[ArrayXd], Sequence[Any]],
        *,
        dtype: Optional[DTypes] = None,
    ) -> ArrayXd:
        """``data`` as an array of this backend (the same object when it already
        is one of the wanted dtype). Accepts lists, numpy, cupy and torch arrays."""
        xp = self.xp
        if isinstance(data, xp.ndarray):
            if dtype is None:
                return data
            return data.astype(dtype, copy=False)
        if is_torch_array(data):
            data = cast(Any, data).detach().cpu().numpy()
        elif is_cupy_array(data) and xp is numpy:
            data = cast(Any, data).get()
        elif hasattr(data, "numpy") and not isinstance(data, (list, tuple)):
            data = data.numpy()
        if isinstance(data, (list, tuple)) and any(is_cupy_array(item) for item in data):
            data = [item.get() if is_cupy_array(item) else item for item in data]
        if dtype is None:
            return xp.asarray(data)
        return xp.asarray(data, dtype=dtype)

    def asarray_f(
        self, data: Union[FloatsXd, Sequence[Any]], *, dtype: Optional[DTypes] = "float32"
    ) -> FloatsXd:
        return cast(FloatsXd, self.asarray(data, dtype=dtype))

    def asarray_i(
        self, data: Union[IntsXd, Sequence[Any]], *, dtype: Optional[DTypes] = "int32"
    ) -> IntsXd:
        return cast(IntsXd, self.asarray(data, dtype=dtype))

    def asarray1f(
        self, data: Union[Floats1d, Sequence[float]], *, dtype: Optional[DTypes] = "float32"
    ) -> Floats1d:
        return cast(Floats1d, self.asarray(data, dtype=dtype))

    def asarray2f(
        self,
        data: Union[Floats2d, Sequence[Sequence[float]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats2d:
        return cast(Floats2d, self.asarray(data, dtype=dtype))

    def asarray3f(
        self,
        data: Union[Floats3d, Sequence[Sequence[Sequence[float]]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats3d:
        return cast(Floats3d, self.asarray(data, dtype=dtype))

    def asarray4f(
        self,
        data: Union[Floats4d, Sequence[Sequence[Sequence[Sequence[float]]]]],
        *,
        dtype: Optional[DTypes] = "float32",
    ) -> Floats4d:
        return cast(Floats4d, self.asarray(data, dtype=dtype))

    def asarray1i(
        self, data: Union[Ints1d, Sequence[int]], *, dtype: Optional[DTypes] = "int32"
    ) -> Ints1d:
        return cast(Ints1d, self.asarray(data, dtype=dtype))

    def asarray2i(
        self, data: Union[Ints2d, Sequence[Sequence[int]]], *, dtype: Optional[DTypes] = "int32"
    ) -> Ints2d:
        return cast(Ints2d, self.asarray(data, dtype=dtype))

    def asarray3i(
        self,
        data: Union[Ints3d, Sequence[Sequence[Sequence[int]]]],
        *,
        dtype: Optional[DTypes] = "int32",
    ) -> Ints3d:
        return cast(Ints3d, self.asarray(data, dtype=dtype))

    def asarray4i(
        self,
        data: Union[Ints4d, Sequence[Sequence[Sequence[Sequence[int]]]]],
        *,
        dtype: Optional[DTypes] = "int32",
    ) -> Ints4d:
        return cast(Ints4d, self.asarray(data, dtype=dtype))

    def as_contig(self, data: ArrayT, dtype: Optional[DTypes] = None) -> ArrayT:
        """``data`` as a C-contiguous array (itself when it already is one)."""
        array = cast(Any, data)
        if array.flags["C_CONTIGUOUS"] and (dtype is None or array.dtype == dtype):
            return data
        kwargs = {"dtype": dtype} if dtype is not None else {}
        return self.xp.ascontiguousarray(array, **kwargs)

    # ----------------------------------------------------------------- activations

    def sigmoid(self, X: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        # exp(-softplus(-x)) never overflows, whatever the sign of x.
        result = self.xp.exp(-self.xp.logaddexp(0, -X))
        return _write(X, result, inplace)

    def dsigmoid(self, Y: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        """Derivative of the sigmoid given its output Y."""
        return _write(Y, Y * (1 - Y), inplace)

    def dtanh(self, Y: FloatsT, *, inplace: bool = False) -> FloatsT:
        """Derivative of tanh given its output Y."""
        return _write(Y, 1 - Y**2, inplace)

    def backprop_sigmoid(self, dY: FloatsXdT, Y: FloatsXdT, *, inplace: bool = False) -> FloatsXdT:
        return _write(dY, dY * Y * (1 - Y), inplace)

    def softmax(
        self,
        x: FloatsT,
        *,
        inplace: bool = False,
        axis: int = -1,
        temperature: float = 1.0,
    ) -> FloatsT:
        """Softmax along ``axis`` of x / temperature."""
        scaled = x / temperature if temperature != 1.0 else x
        shifted = scaled - scaled.max(axis=axis, keepdims=True)
        exps = self.xp.exp(shifted)
        return _write(x, exps / exps.sum(axis=axis, keepdims=True), inplace)

    def backprop_softmax(
        self, Y: FloatsT, dY: FloatsT, *, axis: int = -1, temperature: float = 1.0
    ) -> FloatsT:
        """Gradient of softmax given its output Y and the output gradient dY."""
        dX = Y * dY
        dX -= Y * dX.sum(axis=axis, keepdims=True)
        if temperature != 1.0:
            dX /= temperature
        return dX

    def softmax_sequences(
        self, Xs: Floats2d, lengths: Ints1d, *, inplace: bool = False, axis: int = -1
    ) -> Floats2d:
        """Softmax over the rows of each sequence, separately for every column."""
        if Xs.ndim != 2:
            raise ValueError(f"softmax_sequences needs a 2d array, got shape {Xs.shape}")
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_lengths_total(lengths_list, Xs.shape[0], exact=True)
        output = Xs if inplace else self.xp.empty_like(Xs)
        start = 0
        for length in lengths_list:
            if length:
                rows = Xs[start : start + length]
                exps = self.xp.exp(rows - rows.max(axis=0, keepdims=True))
                output[start : start + length] = exps / exps.sum(axis=0, keepdims=True)
            start += length
        return output

    def backprop_softmax_sequences(self, dY: Floats2d, Y: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = _lengths_to_list(lengths, "lengths")
        _check_same_shape(dY, Y, "backprop_softmax_sequences")
        _check_lengths_total(lengths_list, Y.shape[0], exact=True)
        dX = Y * dY
        start = 0
        for length in lengths_list:
            if length:
                rows = slice(start, start + length)
                dX[rows] -= Y[rows] * dX[rows].sum(axis=0, keepdims=True)
            start += length
        return dX

    def relu(self, X: Floats2d, inplace: bool = False) -> Floats2d:
        if inplace:
            return self.xp.maximum(X, 0, out=X)
        return self.xp.maximum(X, 0)

    def backprop_relu(self, dY: Floats2d, Y: Floats2d, inplace: bool = False) -> Floats2d:
        return _write(dY, dY * _slope_or_nan(self.xp, Y > 0, Y), inplace)

    def clipped_linear(
        self,
        X: FloatsXdT,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> FloatsXdT:
        """clip(X * slope + offset, min_val, max_val)."""
        if min_val != min_val or max_val != max_val:
            # A NaN bound gives NaN everywhere. numpy before 2.0 read it as "no
            # bound", so the rule is spelled out rather than left to xp.clip.
            return _write(X, self.xp.full_like(X, float("nan")), inplace)
        result = self.xp.clip(X * slope + offset, min_val, max_val)
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_clipped_linear(
        self,
        dY: FloatsXdT,
        X: FloatsXdT,
        slope: float = 1.0,
        offset: float = 0.0,
        min_val: float = 0.0,
        max_val: float = 1.0,
        inplace: bool = False,
    ) -> FloatsXdT:
        # The gradient is zero where the output is clipped, boundaries included.
        low = (min_val - offset) / slope
        high = (max_val - offset) / slope
        if slope < 0:
            low, high = high, low
        inside = _slope_or_nan(self.xp, (X > low) & (X < high), X)
        return _write(dY, (dY * slope * inside).astype(dY.dtype, copy=False), inplace)

    def relu_k(self, X: FloatsXdT, n: float = 6.0, inplace: bool = False) -> FloatsXdT:
        """ReLU capped at n."""
        return self.clipped_linear(X, max_val=n, inplace=inplace)

    def backprop_relu_k(
        self, dY: FloatsXdT, X: FloatsXdT, n: float = 6.0, inplace: bool = False
    ) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, max_val=n, inplace=inplace)

    def hard_sigmoid(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.clipped_linear(X, slope=0.2, offset=0.5, inplace=inplace)

    def backprop_hard_sigmoid(
        self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, slope=0.2, offset=0.5, inplace=inplace)

    def hard_tanh(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.clipped_linear(X, min_val=-1.0, max_val=1.0, inplace=inplace)

    def backprop_hard_tanh(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        return self.backprop_clipped_linear(dY, X, min_val=-1.0, max_val=1.0, inplace=inplace)

    def swish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * sigmoid(X)."""
        return _write(X, X * self.sigmoid(X), inplace)

    def backprop_swish(
        self, dY: FloatsXdT, X: FloatsXdT, Y: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        """Gradient of swish given its input X and output Y."""
        sigmoid = self.sigmoid(X)
        return _write(dY, dY * (Y + sigmoid * (1 - Y)), inplace)

    def hard_swish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * hard_sigmoid(X)."""
        return _write(X, X * self.hard_sigmoid(X), inplace)

    def backprop_hard_swish(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        xp = self.xp
        grad = xp.where(X > 2.5, 1.0, xp.where(X < -2.5, 0.0, 0.4 * X + 0.5))
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def hard_swish_mobilenet(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * relu6(X + 3) / 6, the MobileNetV3 variant."""
        result = X * self.xp.clip(X + 3.0, 0.0, 6.0) / 6.0
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_hard_swish_mobilenet(
        self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False
    ) -> FloatsXdT:
        xp = self.xp
        grad = xp.where(X > 3.0, 1.0, xp.where(X < -3.0, 0.0, (2.0 * X + 3.0) / 6.0))
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def dish(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """A smooth GELU-like activation without erf: X/2 * (1 + X/sqrt(1+X^2))."""
        result = 0.5 * X * (1.0 + X / self.xp.sqrt(1.0 + X * X))
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_dish(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        one_plus_sq = 1.0 + X * X
        root = self.xp.sqrt(one_plus_sq)
        grad = 0.5 + X / root - 0.5 * X * X * X / (one_plus_sq * root)
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def erf(self, X: FloatsXdT) -> FloatsXdT:
        """The error function (to about 1e-7)."""
        xp = self.xp
        sign = xp.sign(X)
        magnitude = xp.abs(X)
        t = 1.0 / (1.0 + _ERF_P * magnitude)
        a1, a2, a3, a4, a5 = _ERF_A
        polynomial = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t
        result = sign * (1.0 - polynomial * xp.exp(-magnitude * magnitude))
        return result.astype(X.dtype, copy=False)

    def gelu(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """X * Phi(X), with the exact Gaussian CDF."""
        return _write(X, X * gaussian_cdf(self, X), inplace)

    def backprop_gelu(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        grad = gaussian_cdf(self, X) + X * gaussian_pdf(self, X)
        return _write(dY, dY * grad, inplace)

    def gelu_approx(self, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        """GELU with the tanh approximation of the Gaussian CDF."""
        inner = SQRT2PI * (X + 0.044715 * X * X * X)
        result = 0.5 * X * (1.0 + self.xp.tanh(inner))
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_gelu_approx(self, dY: FloatsXdT, X: FloatsXdT, inplace: bool = False) -> FloatsXdT:
        inner = SQRT2PI * (X + 0.044715 * X * X * X)
        tanh_inner = self.xp.tanh(inner)
        d_inner = SQRT2PI * (1.0 + 3.0 * 0.044715 * X * X)
        grad = 0.5 * (1.0 + tanh_inner) + 0.5 * X * (1.0 - tanh_inner * tanh_inner) * d_inner
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    def sechsq(self, X: FloatsXdT) -> FloatsXdT:
        """sech(X)^2, with X clipped to [-20, 20] so cosh cannot overflow."""
        clipped = self.xp.clip(X, -20.0, 20.0)
        return ((1.0 / self.xp.cosh(clipped)) ** 2).astype(X.dtype, copy=False)

    def mish(self, X: FloatsXdT, threshold: float = 20.0, inplace: bool = False) -> FloatsXdT:
        """X * tanh(softplus(X)); X itself above ``threshold``, where they agree."""
        softplus = self.xp.logaddexp(0, X)
        result = self.xp.where(X >= threshold, X, X * self.xp.tanh(softplus))
        return _write(X, result.astype(X.dtype, copy=False), inplace)

    def backprop_mish(
        self, dY: FloatsXdT, X: Floats2d, threshold: float = 20.0, inplace: bool = False
    ) -> FloatsXdT:
        xp = self.xp
        tanh_softplus = xp.tanh(xp.logaddexp(0, X))
        grad = tanh_softplus + X * (1.0 - tanh_softplus * tanh_softplus) * self.sigmoid(X)
        grad = xp.where(X >= threshold, 1.0, grad)
        return _write(dY, (dY * grad).astype(dY.dtype, copy=False), inplace)

    # ------------------------------------------------------------------- maxout

    def maxout(self, X: Floats3d) -> Tuple[Floats2d, Ints2d]:
        """The maximum over the last axis (pieces) and which piece won, as int32."""
        if X.ndim != 3:
            raise ValueError(f"maxout needs a 3d array (batch, nO, nP), got shape {X.shape}")
        which = X.argmax(axis=-1).astype("int32")
        best = self.xp.take_along_axis(X, which[..., None].astype("int64"), axis=-1)[..., 0]
        return best, which

    def backprop_maxout(self, dY: Floats2d, which: Ints2d, P: int) -> Floats3d:
        """Route each gradient to the piece that won."""
        P = _whole_number(P, "backprop_maxout: P")
        if dY.shape != which.shape:
            raise ValueError(
                f"backprop_maxout needs dY and which of one shape, got {dY.shape} and {which.shape}"
            )
        if which.size and (int(which.max()) >= P or int(which.min()) < 0):
            raise IndexError(
                f"backprop_maxout: piece index out of range [0, {P}): "
                f"min {int(which.min())}, max {int(which.max())}"
            )
        one_hot = which[..., None] == self.xp.arange(P)
        return (one_hot * dY[..., None]).astype(dY.dtype, copy=False)

    # ------------------------------------------------------------------ training

    def update_averages(
        self, ema: FloatsT, weights: FloatsT, t: int, max_decay: float = 0.9999
    ) -> None:
        """Move the exponential moving average ``ema`` towards ``weights`` in place,
        with a decay that warms up over the first steps."""
        decay = _average_decay(t, max_decay)
        ema -= (1 - decay) * (ema - weights)

    def adam(
        self,
        weights: Floats1d,
        gradient: Floats1d,
        mom1: Floats1d,
        mom2: Floats1d,
        beta1: float,
        beta2: float,
        eps: float,
        learn_rate: float,
        mod_rate: float = 1.0,
    ) -> Tuple[Floats1d, Floats1d, Floats1d, Floats1d]:
        """One Adam step, updating weights and both moments in place (bias
        correction is the caller's job, folded into learn_rate)."""
        _check_compatible_shape(weights, gradient)
        _check_compatible_shape(weights, mom1)
        _check_compatible_shape(weights, mom2)
        mom1 *= beta1
        mom1 += gradient * (1.0 - beta1)
        mom2 *= beta2
        mom2 += gradient * gradient * (1.0 - beta2)
        weights -= learn_rate * (mom1 / (mod_rate * self.xp.sqrt(mom2) + eps))
        return weights, gradient, mom1, mom2

    def clip_gradient(self, gradient: FloatsT, threshold: float) -> FloatsT:
        """Scale ``gradient`` in place so its L2 norm is at most ``threshold``."""
        _check_clip_threshold(threshold)
        norm = float(self.xp.sqrt((gradient.astype("float64") ** 2).sum()))
        if norm > threshold:
            gradient *= threshold / norm
        return gradient

    def logloss(self, y_true: FloatsT, y_pred: FloatsT) -> float:
        """Elementwise binary cross-entropy (an array, despite the annotation)."""
        log_yp = self.xp.log(y_pred + 1e-8)
        log_one_minus = self.xp.log((1 - y_pred) + 1e-8)
        return -(y_true * log_yp + (1 - y_true) * log_one_minus)  # type: ignore[return-value]

    # ---------------------------------------------------------------- reductions

    def reduce_sum(self, X: Floats2d, lengths: Ints1d) -> Floats2d:
        """Sum of each sequence's rows; zero-length sequences give zeros."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_sum")
        output = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        start = 0
        for i, length in enumerate(lengths_list):
            if length:
                output[i] = X[start : start + length].sum(axis=0)
            start += length
        return output

    def reduce_mean(self, X: Floats2d, lengths: Ints1d) -> Floats2d:
        """Mean of each sequence's rows; zero-length sequences give zeros."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_mean")
        output = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        start = 0
        for i, length in enumerate(lengths_list):
            if length:
                output[i] = X[start : start + length].mean(axis=0)
            start += length
        return output

    def reduce_max(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints2d]:
        """Maximum of each sequence's rows, and the row (within the sequence)
        where each maximum was found. Every sequence needs a row."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_max", positive=True)
        maxes = self.xp.zeros((len(lengths_list), X.shape[1]), dtype=X.dtype)
        which = self.xp.zeros((len(lengths_list), X.shape[1]), dtype="int32")
        start = 0
        for i, length in enumerate(lengths_list):
            rows = X[start : start + length]
            which[i] = rows.argmax(axis=0)
            maxes[i] = rows.max(axis=0)
            start += length
        return maxes, which

    def reduce_first(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints1d]:
        """First row of each sequence, and the sequence boundaries
        [0, l0, l0+l1, ..., n_rows] (empty for an empty batch)."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_first", positive=True, exact=True)
        if not lengths_list:
            return self.xp.zeros((0,) + X.shape[1:], dtype=X.dtype), self.alloc1i(0)
        starts_ends = self.asarray1i(cast(Any, numpy.cumsum([0] + lengths_list)))
        return X[starts_ends[:-1]], starts_ends

    def reduce_last(self, X: Floats2d, lengths: Ints1d) -> Tuple[Floats2d, Ints1d]:
        """Last row of each sequence, and the index of that row."""
        lengths_list = self._reduce_lengths(X, lengths, "reduce_last", positive=True, exact=True)
        if not lengths_list:
            return self.xp.zeros((0,) + X.shape[1:], dtype=X.dtype), self.alloc1i(0)
        lasts = self.xp.asarray(numpy.cumsum(lengths_list) - 1)
        return X[lasts], lasts

    def backprop_reduce_sum(self, d_sums: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(d_sums, lengths, "backprop_reduce_sum")
        return _repeat_rows(self.xp, d_sums, lengths_list)

    def backprop_reduce_mean(self, d_means: Floats2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(d_means, lengths, "backprop_reduce_mean")
        # Zero-length sequences own no rows, so dividing by max(length, 1) is safe.
        divisors = self.xp.asarray([max(length, 1) for length in lengths_list], dtype=d_means.dtype)
        scaled = d_means / divisors.reshape((-1,) + (1,) * (d_means.ndim - 1))
        return _repeat_rows(self.xp, scaled, lengths_list)

    def backprop_reduce_max(self, d_maxes: Floats2d, which: Ints2d, lengths: Ints1d) -> Floats2d:
        lengths_list = self._backprop_reduce_lengths(
            d_maxes, lengths, "backprop_reduce_max", positive=True
        )
        if which.shape != d_maxes.shape:
            raise ValueError(
                f"backprop_reduce_max needs which and d_maxes of one shape, "
                f"got {which.shape} and {d_maxes.shape}"
            )
        xp = self.xp
        host_lengths = numpy.asarray(lengths_list, dtype="int64")
        if which.size:
            lengths_xp = xp.asarray(host_lengths)[:, None]
            if bool(((which < 0) | (which >= lengths_xp)).any()):
                raise IndexError("backprop_reduce_max: a 'which' index is outside its sequence")
        dX = xp.zeros((int(host_lengths.sum()), d_maxes.shape[1]), dtype=d_maxes.dtype)
        starts = xp.asarray(numpy.cumsum(host_lengths) - host_lengths)
        rows = starts[:, None] + which
        columns = xp.arange(d_maxes.shape[1])[None, :]
        dX[rows, columns] = d_maxes
        return dX

    def backprop_reduce_first(self, d_firsts: Floats2d, starts_ends: Ints1d) -> Floats2d:
        boundaries = _lengths_to_list(starts_ends, "starts_ends")
        if not boundaries:
            return self.xp.zeros((0,) + d_firsts.shape[1:], dtype=d_firsts.dtype)
        if len(boundaries) != d_firsts.shape[0] + 1:
            raise ValueError(
                f"backprop_reduce_first needs {d_firsts.shape[0] + 1} boundaries for "
                f"{d_firsts.shape[0]} sequences, got {len(boundaries)}"
            )
        dX = self.xp.zeros((boundaries[-1],) + d_firsts.shape[1:], dtype=d_firsts.dtype)
        dX[self.xp.asarray(boundaries[:-1], dtype="int64")] = d_firsts
        return dX

    def backprop_reduce_last(self, d_lasts: Floats2d, lasts: Ints1d) -> Floats2d:
        positions = _lengths_to_list(lasts, "lasts")
        if len(positions) != d_lasts.shape[0]:
            raise ValueError(
                f"backprop_reduce_last got {len(positions)} positions for "
                f"{d_lasts.shape[0]} sequences"
            )
        n_rows = positions[-1] + 1 if positions else 0
        dX = self.xp.zeros((n_rows,) + d_lasts.shape[1:], dtype=d_lasts.dtype)
        dX[self.xp.asarray(positions, dtype="int64")] = d_lasts
        return dX

    def _reduce_lengths(
        self, X: Any, lengths: Any, op: str, *, positive: bool = False, exact: bool = False
    ) -> List[int]:
        if X.ndim != 2:
            raise ValueError(f"{op} needs a 2d array, got shape {X.shape}")
        lengths_list = _lengths_to_list(lengths, "lengths", positive=positive)
        _check_lengths_total(lengths_list, X.shape[0], exact=exact)
        return lengths_list

    def _backprop_reduce_lengths(
        self, d_reduced: Any, lengths: Any, op: str, *, positive: bool = False
    ) -> List[int]:
        lengths_list = _lengths_to_list(lengths, "lengths", positive=positive)
        if d_reduced.ndim != 2 or d_reduced.shape[0] != len(lengths_list):
            raise ValueError(
                f"{op} needs a 2d gradient with one row per sequence: got shape "
                f"{d_reduced.shape} for {len(lengths_list)} lengths"
            )
        # Bounded as NumpyOps bounds it: numpy.repeat sums the lengths in int64
        # unchecked, and a wrapped total writes past the array it allocated.
        if sum(lengths_list) > MAX_GRADIENT_ROWS:
            raise LengthsMismatchError(
                f"{op}: lengths sum to {sum(lengths_list)}, more than {MAX_GRADIENT_ROWS} rows"
            )
        return lengths_list

    # ------------------------------------------------------------------- hashing

    def hash(self, ids: Ints1d, seed: int) -> Ints2d:
        """MurmurHash3 (x64, 128-bit) of each id's 8 bytes, as (n, 4) uint32."""
        xp = self.xp
        if ids.ndim != 1:
            raise ValueError(f"hash needs a 1d array of ids, got shape {ids.shape}")
        keys = _as_uint64(xp, ids)
        with numpy.errstate(over="ignore"):
            low_word, high_word = _murmur3_x64_128_8bytes(xp, keys, int(seed))
        mask = xp.uint64(0xFFFFFFFF)
        thirty_two = xp.uint64(32)
        columns = [
            low_word & mask,
            low_word >> thirty_two,
            high_word & mask,
            high_word >> thirty_two,
        ]
        return xp.stack([column.astype("uint32") for column in columns], axis=-1)

    def ngrams(self, n: int, keys: Ints1d) -> Ints1d:
        """A uint64 hash (MurmurHash64A, seed 0) of every run of n consecutive keys."""
        xp = self.xp
        if n < 1:
            # thinc 8.3 gives no n-grams (an empty array) for n < 1.
            return xp.zeros((0,), dtype="uint64")
        if keys.ndim != 1:
            raise ValueError(f"ngrams needs a 1d array of keys, got shape {keys.shape}")
        keys = _as_uint64(xp, keys)
        count = keys.shape[0] - n + 1
        if count <= 0:
            return xp.zeros((0,), dtype="uint64")
        multiplier = xp.uint64(0xC6A4A7935BD1E995)
        shift = xp.uint64(47)
        with numpy.errstate(over="ignore"):
            hashes = xp.full((count,), (n * 8 * 0xC6A4A7935BD1E995) % 2**64, dtype="uint64")
            for offset in range(n):
                word = keys[offset : offset + count] * multiplier
                word ^= word >> shift
                word *= multiplier
                hashes ^= word
                hashes *= multiplier
            hashes ^= hashes >> shift
            hashes *= multiplier
            hashes ^= hashes >> shift
        return hashes

    # ------------------------------------------------------------ gather/scatter

    def gather_add(self, table: Floats2d, indices: Ints2d) -> Floats2d:
        """For each row of indices, the sum of the table rows it names."""
        if table.ndim != 2 or indices.ndim != 2:
            raise ValueError(
                f"gather_add needs a 2d table and 2d indices, got shapes "
                f"{table.shape} and {indices.shape}"
            )
        _check_index_range(indices, table.shape[0], "gather_add")
        return table[indices].sum(axis=1)

    def scatter_add(self, table: FloatsXd, indices: IntsXd, values: FloatsXd) -> FloatsXd:
        """Add values[i] to table[indices[i]] in place, accumulating repeats.
        Negative indices count from the end, as in numpy."""
        _check_index_range(indices, table.shape[0], "scatter_add", allow_negative=True)
        if self.xp is numpy:
            numpy.add.at(cast(Any, table), cast(Any, indices), cast(Any, values))
        else:
            import cupyx  # type: ignore[import-not-found]

            cupyx.scatter_add(table, indices, values)
        return table

    def position_encode(
        self, N: int, D: int, period: int = 10000, out: Optional[Floats2d] = None
    ) -> Floats2d:
        """Sinusoidal position encodings: column 2k is sin and 2k+1 is cos of
        position / period**(4k/D). An odd last column repeats the previous
        pair's frequency, as thinc 8.3 does."""
        positions = numpy.arange(N, dtype="float64")[:, None]
        columns = numpy.arange(D)
        pair_start = (columns // 2) * 2
        if D % 2 == 1 and D > 1:
            pair_start[-1] = D - 3
        angles = positions / numpy.power(float(period), 2.0 * pair_start / D)
        encoded = numpy.where(columns % 2 == 0, numpy.sin(angles), numpy.cos(angles))
        result = cast(Floats2d, self.asarray(cast(Any, encoded.astype("float32"))))
        if out is None:
            return result
        if out.shape != (N, D):
            raise ValueError(f"position_encode out has shape {out.shape}, expected {(N, D)}")
        out[...] = result
        return out

    # --------------------------------------------------------------------- LSTM

    def lstm_forward_training(
        self,
        params: Floats1d,
        H0: Floats3d,
        C0: Floats3d,
        X: Floats2d,
        size_at_t: Ints1d,
    ) -> Tuple[Floats2d, Tuple]:
        """A (multi-layer, optionally bidirectional) LSTM over time-major packed
        sequences. Returns the output and the state backprop_lstm needs:
        (Y, gates, cells) per layer and direction, X, H0 and C0.

        As in thinc 8.3, the array passed as H0 initialises the cell state and
        the one passed as C0 the hidden state (pretrained weights rely on it)."""
        return _lstm_forward(self, params, H0, C0, X, size_at_t)

    def lstm_forward_inference(
        self,
        params: Floats1d,
        H0: Floats3d,
        C0: Floats3d,
        X: Floats2d,
        size_at_t: Ints1d,
    ) -> Floats2d:
        return _lstm_forward(self, params, H0, C0, X, size_at_t)[0]

    def backprop_lstm(
        self, dY: Floats2d, lengths: Ints1d, params: Floats1d, fwd_state: Tuple
    ) -> Tuple[Floats2d, Floats1d]:
        """Gradients of the LSTM's input and params. ``lengths`` is the size_at_t
        the forward pass used; fwd_state is what lstm_forward_training returned."""
        return _lstm_backward(self, dY, lengths, params, fwd_state)

    # ------------------------------------------------- fused layer ops (private)
    # Whole-layer steps that LayerNorm and Maxout call, so that a backend can run
    # each in one compiled sweep. Private: the public Ops API stays thinc 8.3's.

    def _layer_norm_forward(
        self, X: Floats2d, G: Floats1d, b: Floats1d, epsilon: float = 1e-08
    ) -> Tuple[Floats2d, Tuple[Floats1d, Floats1d]]:
        """Each row shifted to zero mean and scaled to unit variance, times G plus b;
        also (mean, inverse_std) per row, which _layer_norm_backward reads."""
        _check_layer_norm_inputs(X, G, b)
        if X.shape[1] == 0:
            # A row without entries has nothing to normalize; its stats are taken as 0.
            mean = self.xp.zeros((X.shape[0], 1), dtype=X.dtype)
        else:
            mean = X.mean(axis=1, keepdims=True)
        variance = self.xp.var(X, axis=1, keepdims=True) if X.shape[1] else mean
        inverse_std = (variance + epsilon) ** -0.5
        normalized = (X - mean) * inverse_std
        return normalized * G + b, (mean[:, 0], inverse_std[:, 0])

    def _layer_norm_backward(
        self, dY: Floats2d, X: Floats2d, G: Floats1d, mean: Floats1d, inverse_std: Floats1d
    ) -> Tuple[Floats2d, Floats1d, Floats1d]:
        """(dX, dG, db) for _layer_norm_forward's input X and its stats."""
        _check_layer_norm_gradient(dY, X, G, mean, inverse_std)
        normalized = (X - mean[:, None]) * inverse_std[:, None]
        dG = (dY * normalized).sum(axis=0)
        db = dY.sum(axis=0)
        d_normalized = dY * G
        if X.shape[1] == 0:
            return d_normalized, dG, db
        # Both the mean and the variance depend on every entry of the row.
        projection = (d_normalized * normalized).mean(axis=1, keepdims=True)
        centered = d_normalized - d_normalized.mean(axis=1, keepdims=True)
        return (centered - normalized * projection) * inverse_std[:, None], dG, db

    def _maxout_forward(
        self, X: Floats2d, W: Floats3d, b: Floats2d, *, keep_which: bool = True
    ) -> Tuple[Floats2d, Optional[Ints2d]]:
        """Maxout over W (nO, nP, nI) and b (nO, nP): the best of each unit's nP
        affine pieces, and (with keep_which) which piece won, for the backward."""
        _check_maxout_inputs(X, W, b)
        nO, nP, nI = W.shape
        pieces = self.affine(X, W.reshape(nO * nP, nI), b.reshape(nO * nP))
        best, which = self.maxout(pieces.reshape(X.shape[0], nO, nP))
        return best, (which if keep_which else None)

    def _maxout_backward(
        self, d_best: Floats2d, which: Ints2d, X: Floats2d, W: Floats3d
    ) -> Tuple[Floats2d, Floats3d, Floats2d]:
        """(dX, dW, db) for _maxout_forward, given the winners it recorded."""
        nO, nP, nI = W.shape
        if d_best.shape != (X.shape[0], nO):
            raise ValueError(
                f"maxout backward: gradient shape {tuple(d_best.shape)} differs from the "
                f"output shape {(X.shape[0], nO)}"
            )
        d_flat, db = self._maxout_piece_gradients(d_best, which, nP)
        dW = self.gemm(d_flat, X, trans1=True).reshape(nO, nP, nI)
        dX = self.gemm(d_flat, W.reshape(nO * nP, nI))
        return dX, dW, db

    def _maxout_piece_gradients(
        self, d_best: Floats2d, which: Ints2d, nP: int
    ) -> Tuple[Floats2d, Floats2d]:
        """Maxout's backward up to its two gemms: the gradient of every piece,
        as (rows, nO * nP), and the bias gradient (nO, nP)."""
        d_pieces = self.backprop_maxout(d_best, which, nP)
        return d_pieces.reshape(d_pieces.shape[0], d_best.shape[1] * nP), d_pieces.sum(axis=0)


# ------------------------------------------------------------------- helpers


def _shape_of(array: Any) -> Any:
    shape = getattr(array, "shape", None)
    return tuple(shape) if shape is not None else type(array).__name__


def _check_layer_norm_inputs(X: Any, G: Any, b: Any) -> None:
    if getattr(X, "ndim", None) != 2:
        raise ValueError(f"layer norm expects a 2d input, got shape {_shape_of(X)}")
    width = X.shape[1]
    for name, param in (("G", G), ("b", b)):
        if getattr(param, "shape", None) != (width,):
            raise ValueError(
                f"layer norm expects {name} of shape ({width},) for an input of shape "
                f"{tuple(X.shape)}, got {_shape_of(param)}"
            )


def _check_layer_norm_gradient(dY: Any, X: Any, G: Any, mean: Any, inverse_std: Any) -> None:
    _check_layer_norm_inputs(X, G, G)
    if _shape_of(dY) != tuple(X.shape):
        raise ValueError(
            f"layer norm backward: gradient shape {_shape_of(dY)} differs from the input "
            f"shape {tuple(X.shape)}"
        )
    for name, stat in (("mean", mean), ("inverse_std", inverse_std)):
        if _shape_of(stat) != (X.shape[0],):
            raise ValueError(
                f"layer norm backward expects {name} of shape ({X.shape[0]},), "
                f"got {_shape_of(stat)}"
            )


def _check_maxout_inputs(X: Any, W: Any, b: Any) -> None:
    if getattr(W, "ndim", None) != 3:
        raise ValueError(f"maxout expects W of shape (nO, nP, nI), got {_shape_of(W)}")
    nO, nP, nI = W.shape
    if nP == 0:
        raise ValueError(f"maxout needs at least one piece, got W of shape {tuple(W.shape)}")
    if _shape_of(b) != (nO, nP):
        raise ValueError(f"maxout expects b of shape {(nO, nP)}, got {_shape_of(b)}")
    if getattr(X, "ndim", None) != 2 or X.shape[1] != nI:
        raise ValueError(f"maxout expects a 2d input of width {nI}, got shape {_shape_of(X)}")


def _write(target: Any, result: Any, inplace: bool) -> Any:
    """Return result, or copy it into ``target`` and return target when inplace."""
    if inplace:
        target[...] = result
        return target
    return result


def _shift_rows(xp: Xp, array: Any, offset: int) -> Any:
    """Rows moved so that result[i] = array[i + offset], zeros past either end."""
    result = xp.zeros_like(array)
    n_rows = array.shape[0]
    if offset >= 0:
        result[: max(n_rows - offset, 0)] = array[offset:]
    else:
        result[-offset:] = array[: max(n_rows + offset, 0)]
    return result


def _check_compatible_shape(u: FloatsXd, v: FloatsXd) -> None:
    if u.shape != v.shape:
        raise ValueError(f"Incompatible shapes: {u.shape} and {v.shape}")


def _check_same_shape(u: Any, v: Any, op: str) -> None:
    if u.shape != v.shape:
        raise ValueError(f"{op} needs arrays of one shape, got {u.shape} and {v.shape}")


# The most rows a reduction's gradient may have (a sum of lengths beyond it
# is taken for a wrapped or corrupt one).
MAX_GRADIENT_ROWS = 2**62

# thinc 8.3's kernels take nW as a C int; wider windows are refused rather
# than looped over (a zero-width input would spin through all 2 * nW + 1 blocks).
MAX_WINDOW = 2**31 - 1


def _whole_number(value: Any, what: str) -> int:
    """value as an int; a float with a fraction (nW=1.5) is refused, not truncated."""
    try:
        whole = int(value)
        same = bool(whole == value)
    except (TypeError, ValueError, OverflowError):
        same = False
    if not same:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return whole


def _repeat_rows(xp: Xp, rows: Any, lengths: List[int]) -> Any:
    """Row i of ``rows`` repeated lengths[i] times (repeats as a host list:
    cupy.repeat does not take an array of them)."""
    if rows.size == 0:
        # numpy.repeat would still step through every repeat of an empty row.
        return xp.zeros((sum(lengths),) + rows.shape[1:], dtype=rows.dtype)
    return xp.repeat(rows, lengths, axis=0)


def _slope_or_nan(xp: Xp, inside: Any, saved: Any) -> Any:
    """A 0/1 slope mask, NaN where the saved array is NaN (a compare alone says 0)."""
    return xp.where(xp.isnan(saved), saved, inside)


def _check_clip_threshold(threshold: float) -> None:
    # A norm is never negative: such a threshold (or NaN) has no meaning, and
    # with a zero gradient it divided by zero.
    if not float(threshold) >= 0:
        raise ValueError(f"clip_gradient: threshold must be >= 0, got {threshold!r}")


def _average_decay(t: int, max_decay: float) -> float:
    """update_averages' decay at step t. t counts steps, so a negative one is
    refused: t = -10 divides by zero and other negatives give decays outside [0, 1)."""
    t = _whole_number(t, "update_averages: t")
    if t < 0:
        raise ValueError(f"update_averages: t counts steps and must be >= 0, got {t}")
    return min((1.0 + t) / (10.0 + t), max_decay)


def _check_window(nW: int) -> int:
    nW = _whole_number(nW, "nW")
    if nW < 0 or nW > MAX_WINDOW:
        raise ValueError(f"nW must be a non-negative int at most {MAX_WINDOW}, got {nW!r}")
    return nW


def _lengths_to_list(lengths: Any, what: str, *, positive: bool = False) -> List[int]:
    """Lengths (array or sequence) as host ints, checking their signs."""
    if hasattr(lengths, "ndim"):
        if lengths.ndim != 1:
            raise ValueError(f"{what} must be 1d, got shape {lengths.shape}")
        if lengths.dtype.kind not in "iu":
            raise LengthsTypeError(f"{what} must be integers, got dtype {lengths.dtype}")
    values = [int(value) for value in (lengths.tolist() if hasattr(lengths, "tolist") else lengths)]
    if values:
        smallest = min(values)
        if positive and smallest <= 0:
            raise ValueError(f"all sequence {what} must be > 0, got {smallest}")
        if smallest < 0:
            raise ValueError(f"all sequence {what} must be >= 0, got {smallest}")
    return values


def _check_lengths_total(lengths: List[int], n_rows: int, *, exact: bool) -> None:
    total = sum(lengths)
    if total > n_rows or (exact and total != n_rows):
        raise LengthsMismatchError(f"lengths sum to {total} but the array has {n_rows} rows")


def _check_index_range(indices: Any, size: int, op: str, allow_negative: bool = False) -> None:
    if indices.dtype.kind not in "iu":
        raise ValueError(f"{op} needs integer indices, got dtype {indices.dtype}")
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        lowest = -size if allow_negative else 0
        if low < lowest or high >= size:
            raise IndexError(
                f"{op}: indices must lie in [{lowest}, {size}), got range [{low}, {high}]"
            )


def _as_uint64(xp: Xp, ids: Any) -> Any:
    if ids.dtype.kind not in "iu":
        raise ValueError(f"expected integer ids, got dtype {ids.dtype}")
    # Signed ids wrap to their two's complement, which is what their bytes say.
    return ids.astype("uint64")


def _rotate_left64(xp: Xp, value: Any, bits: int) -> Any:
    return (value << xp.uint64(bits)) | (value >> xp.uint64(64 - bits))


def _final_mix64(xp: Xp, value: Any) -> Any:
    value = value ^ (value >> xp.uint64(33))
    value = value * xp.uint64(0xFF51AFD7ED558CCD)
    value = value ^ (value >> xp.uint64(33))
    value = value * xp.uint64(0xC4CEB9FE1A85EC53)
    return value ^ (value >> xp.uint64(33))


def _murmur3_x64_128_8bytes(xp: Xp, keys: Any, seed: int) -> Tuple[Any, Any]:
    """MurmurHash3_x64_128 of 8-byte little-endian keys: the one tail word of the
    algorithm, then its finalisation. Returns the two 64-bit halves."""
    seed_word = seed % 2**32
    first = xp.full(keys.shape, seed_word, dtype="uint64")
    second = xp.full(keys.shape, seed_word, dtype="uint64")
    word = keys * xp.uint64(0x87C37B91114253D5)
    word = _rotate_left64(xp, word, 31)
    word = word * xp.uint64(0x4CF5AD432745937F)
    first = first ^ word
    length = xp.uint64(8)
    first = first ^ length
    second = second ^ length
    first = first + second
    second = second + first
    first = _final_mix64(xp, first)
    second = _final_mix64(xp, second)
    first = first + second
    second = second + first
    return first, second


def gaussian_cdf(ops: Ops, X: FloatsXdT) -> FloatsXdT:
    """Phi(X), the standard normal CDF."""
    return 0.5 * (1.0 + ops.erf(INV_SQRT2 * X))


def gaussian_pdf(ops: Ops, X: FloatsXdT) -> FloatsXdT:
    """phi(X), the standard normal density."""
    return INV_SQRT_2PI * ops.xp.exp(-0.5 * X * X)


def sigmoid(X: Any, out: Optional[Any] = None) -> Any:
    xp = get_array_module(X)
    result = xp.exp(-xp.logaddexp(0, -X))
    if out is not None:
        out[...] = result
        return out
    return result


def dsigmoid(Y: ArrayT) -> ArrayT:
    return cast(Any, Y) * (1 - cast(Any, Y))


def dtanh(Y: ArrayT) -> ArrayT:
    return 1 - cast(Any, Y) ** 2


# ---------------------------------------------------------------------- LSTM
#
# Layout of the flat params, per layer and then per direction (forward first):
# Wx (4*nO, nI), bx (4*nO), Wh (4*nO, nO), bh (4*nO); the 4 row blocks are the
# forget, input, output and candidate gates. Layers after the first read the
# concatenated outputs of both directions. The saved gates are the activated
# values, interleaved per unit as (N, nO, 4) flattened to (N, 4*nO).


def _split_weights(params: Floats1d, i: int, nO: int, nI: int, params_i: int) -> Tuple:
    """The (Wx, bx), (Wh, bh) of one layer-direction starting at params_i, and
    the offset after them. ``i`` (the layer) is kept for thinc's signature."""
    pieces = []
    for shape in ((4 * nO, nI), (4 * nO,), (4 * nO, nO), (4 * nO,)):
        size = int(numpy.prod(shape))
        pieces.append(params[params_i : params_i + size].reshape(shape))
        params_i += size
    Wx, bx, Wh, bh = pieces
    return ((Wx, bx), (Wh, bh)), params_i


def _lstm_dims(params: Any, H0: Any, C0: Any, X: Any) -> Tuple[int, int, int, int]:
    if H0.ndim != 3 or H0.shape != C0.shape:
        raise ValueError(
            f"LSTM initial states must both be (depth, dirs, nO), got {H0.shape} and {C0.shape}"
        )
    if X.ndim != 2:
        raise ValueError(f"LSTM input must be 2d (rows, nI), got shape {X.shape}")
    depth, dirs, nO = H0.shape
    nI = X.shape[1]
    expected = 0
    layer_input = nI
    for _ in range(depth):
        expected += dirs * (4 * nO * layer_input + 4 * nO + 4 * nO * nO + 4 * nO)
        layer_input = nO * dirs
    if params.ndim != 1 or params.shape[0] != expected:
        raise ValueError(
            f"LSTM params have shape {params.shape}, expected ({expected},) for "
            f"depth={depth}, dirs={dirs}, nO={nO}, nI={nI}"
        )
    return depth, dirs, nO, nI


def _check_size_at_t(size_at_t: Any, n_rows: int) -> List[int]:
    sizes = _lengths_to_list(size_at_t, "size_at_t", positive=True)
    if any(later > earlier for earlier, later in zip(sizes, sizes[1:])):
        raise ValueError(f"size_at_t must not increase over time, got {sizes}")
    if sum(sizes) != n_rows:
        raise LengthsMismatchError(f"size_at_t sums to {sum(sizes)} but X has {n_rows} rows")
    return sizes


def _reversal_permutation(sizes: List[int]) -> numpy.ndarray:
    """Row order that reverses every sequence of a time-major packed batch in time
    (its own inverse)."""
    size_array = numpy.asarray(sizes, dtype="int64")
    if not sizes:
        return numpy.zeros((0,), dtype="int64")
    starts = numpy.cumsum(size_array) - size_array
    step_of_row = numpy.repeat(numpy.arange(len(sizes)), size_array)
    column_of_row = numpy.arange(int(size_array.sum())) - starts[step_of_row]
    column_lengths = (size_array[None, :] > numpy.arange(sizes[0])[:, None]).sum(axis=1)
    return starts[column_lengths[column_of_row] - 1 - step_of_row] + column_of_row


def _lstm_direction_forward(
    ops: Ops, weights: Tuple, cell0: Any, hidden0: Any, X: Any, sizes: List[int]
) -> Tuple[Any, Any, Any]:
    """One direction of one layer over rows already in processing order."""
    xp = ops.xp
    (Wx, bx), (Wh, bh) = weights
    nO = Wh.shape[1]
    n_rows = X.shape[0]
    Y = xp.zeros((n_rows, nO), dtype=X.dtype)
    cells = xp.zeros((n_rows, nO), dtype=X.dtype)
    gates = xp.zeros((n_rows, nO, 4), dtype=X.dtype)
    input_part = X @ Wx.T + (bx + bh)
    width = sizes[0] if sizes else 0
    hidden = xp.broadcast_to(hidden0, (width, nO))
    cell = xp.broadcast_to(cell0, (width, nO))
    start = 0
    for size in sizes:
        rows = slice(start, start + size)
        activations = (input_part[rows] + hidden[:size] @ Wh.T).reshape((size, 4, nO))
        forget = ops.sigmoid(activations[:, 0])
        input_gate = ops.sigmoid(activations[:, 1])
        output_gate = ops.sigmoid(activations[:, 2])
        candidate = xp.tanh(activations[:, 3])
        cell = forget * cell[:size] + input_gate * candidate
        hidden = output_gate * xp.tanh(cell)
        Y[rows] = hidden
        cells[rows] = cell
        gates[rows] = xp.stack([forget, input_gate, output_gate, candidate], axis=-1)
        start += size
    return Y, gates.reshape((n_rows, nO * 4)), cells


def _lstm_forward(
    ops: Ops, params: Any, H0: Any, C0: Any, X: Any, size_at_t: Any
) -> Tuple[Any, Tuple]:
    xp = ops.xp
    depth, dirs, nO, nI = _lstm_dims(params, H0, C0, X)
    sizes = _check_size_at_t(size_at_t, X.shape[0])
    reverse = xp.asarray(_reversal_permutation(sizes))
    n_rows = X.shape[0]
    all_Y = xp.zeros((depth, dirs, n_rows, nO), dtype=X.dtype)
    all_gates = xp.zeros((depth, dirs, n_rows, nO * 4), dtype=X.dtype)
    all_cells = xp.zeros((depth, dirs, n_rows, nO), dtype=X.dtype)
    layer_input = X
    params_i = 0
    for layer in range(depth):
        for direction in range(dirs):
            weights, params_i = _split_weights(params, layer, nO, layer_input.shape[1], params_i)
            order = reverse if direction == 1 else slice(None)
            Y, gates, cells = _lstm_direction_forward(
                ops,
                weights,
                H0[layer, direction],
                C0[layer, direction],
                layer_input[order],
                sizes,
            )
            all_Y[layer, direction] = Y[order]
            all_gates[layer, direction] = gates[order]
            all_cells[layer, direction] = cells[order]
        layer_input = xp.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1)
    return layer_input, (all_Y, all_gates, all_cells, X, H0, C0)


def _lstm_direction_backward(
    ops: Ops,
    weights: Tuple,
    cell0: Any,
    hidden0: Any,
    X: Any,
    Y: Any,
    gates: Any,
    cells: Any,
    dY: Any,
    sizes: List[int],
) -> Tuple[Any, Any, Any, Any]:
    """Backprop through time for one direction (rows in processing order).
    Returns dX and the gradients of Wx, the bias and Wh."""
    xp = ops.xp
    (Wx, bx), (Wh, bh) = weights
    nO = Wh.shape[1]
    n_rows = X.shape[0]
    gates = gates.reshape((n_rows, nO, 4))
    d_activations = xp.zeros((n_rows, 4, nO), dtype=X.dtype)
    dWh = xp.zeros_like(Wh)
    starts: Any = numpy.cumsum([0] + sizes[:-1]) if sizes else []
    d_hidden = xp.zeros((0, nO), dtype=X.dtype)
    d_cell = xp.zeros((0, nO), dtype=X.dtype)
    for step in range(len(sizes) - 1, -1, -1):
        size, start = sizes[step], int(starts[step])
        rows = slice(start, start + size)
        if step > 0:
            previous = slice(int(starts[step - 1]), int(starts[step - 1]) + size)
            cell_before, hidden_before = cells[previous], Y[previous]
        else:
            cell_before = xp.broadcast_to(cell0, (size, nO))
            hidden_before = xp.broadcast_to(hidden0, (size, nO))
        # Sequences that ended at this step receive no gradient from the future.
        dh = dY[rows].copy()
        dh[: d_hidden.shape[0]] += d_hidden
        dc = xp.zeros((size, nO), dtype=X.dtype)
        dc[: d_cell.shape[0]] += d_cell
        forget, input_gate, output_gate, candidate = (gates[rows, :, k] for k in range(4))
        tanh_cell = xp.tanh(cells[rows])
        dc = dc + dh * output_gate * (1 - tanh_cell**2)
        step_grads = d_activations[rows]
        step_grads[:, 0] = dc * cell_before * forget * (1 - forget)
        step_grads[:, 1] = dc * candidate * input_gate * (1 - input_gate)
        step_grads[:, 2] = dh * tanh_cell * output_gate * (1 - output_gate)
        step_grads[:, 3] = dc * input_gate * (1 - candidate**2)
        flat = step_grads.reshape((size, 4 * nO))
        dWh += flat.T @ hidden_before
        d_hidden = flat @ Wh
        d_cell = dc * forget
    flat_all = d_activations.reshape((n_rows, 4 * nO))
    dX = flat_all @ Wx
    dWx = flat_all.T @ X
    d_bias = flat_all.sum(axis=0)
    return dX, dWx, d_bias, dWh


def _lstm_backward(
    ops: Ops, dY: Any, size_at_t: Any, params: Any, fwd_state: Tuple
) -> Tuple[Any, Any]:
    xp = ops.xp
    if len(fwd_state) == 6:
        all_Y, all_gates, all_cells, X, H0, C0 = fwd_state
    elif len(fwd_state) == 4:
        # thinc 8.3's state tuple does not keep the initial states: treat them
        # as zeros (only their contribution to the first step's gradient).
        all_Y, all_gates, all_cells, X = fwd_state
        H0 = C0 = xp.zeros((all_Y.shape[0], all_Y.shape[1], all_Y.shape[3]), dtype=X.dtype)
    else:
        raise ValueError(f"backprop_lstm: fwd_state must have 4 or 6 items, got {len(fwd_state)}")
    depth, dirs, n_rows, nO = all_Y.shape
    sizes = _check_size_at_t(size_at_t, X.shape[0])
    if dY.shape != (n_rows, dirs * nO):
        raise ValueError(f"backprop_lstm: dY has shape {dY.shape}, expected {(n_rows, dirs * nO)}")
    reverse = xp.asarray(_reversal_permutation(sizes))
    layer_inputs = [X] + [
        xp.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1) for layer in range(depth - 1)
    ]
    offsets = []
    params_i = 0
    for layer in range(depth):
        for _ in range(dirs):
            weights, next_i = _split_weights(
                params, layer, nO, layer_inputs[layer].shape[1], params_i
            )
            offsets.append((params_i, weights))
            params_i = next_i
    d_params = xp.zeros_like(params)
    d_output = dY
    for layer in range(depth - 1, -1, -1):
        layer_input = layer_inputs[layer]
        d_input = xp.zeros_like(layer_input)
        for direction in range(dirs):
            start_i, weights = offsets[layer * dirs + direction]
            order = reverse if direction == 1 else slice(None)
            dX, dWx, d_bias, dWh = _lstm_direction_backward(
                ops,
                weights,
                H0[layer, direction],
                C0[layer, direction],
                layer_input[order],
                all_Y[layer, direction][order],
                all_gates[layer, direction][order],
                all_cells[layer, direction][order],
                d_output[:, direction * nO : (direction + 1) * nO][order],
                sizes,
            )
            d_input[order] += dX
            # bx and bh are summed in the forward pass, so both get d_bias.
            position = start_i
            for grad in (dWx, d_bias, dWh, d_bias):
                d_params[position : position + grad.size] = grad.reshape(-1)
                position += grad.size
        d_output = d_input
    return d_output, d_params
