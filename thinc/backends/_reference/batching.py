"""The reference ops that cut data into batches and move between lists of
sequences, one flat array and padded arrays."""

import itertools
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union, cast

import numpy

from ..._frameworks import get_array_module, is_xp_array
from ...types import (
    Array3d,
    ArrayXd,
    Batchable,
    DTypes,
    Floats2d,
    Generator,
    Ints1d,
    Ints2d,
    List2d,
    ListXd,
    Padded,
    Pairs,
    Shape,
    SizedGenerator,
)
from .._checks import LengthsMismatchError, _lengths_to_list
from .arrays import ArrayOps

# A stream of sizes may ask for empty batches, but not for ever.
_MAX_EMPTY_BATCHES = 100_000


class BatchingOps(ArrayOps):
    """Minibatching, flattening and padding."""

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
        # ``buffer`` only groups batches before they are yielded, which changes
        # nothing a caller sees: any value (0 and below included) is accepted.
        if isinstance(size, (str, bytes)):
            raise TypeError(f"minibatch size must be an int or an iterator of ints, got {size!r}")
        # A number (numpy ints and floats included) is a fixed size; anything
        # iterable yields one size per batch.
        if hasattr(size, "__iter__"):
            size_stream = iter(size)
        else:
            # A fixed size of 0 would never cover anything (thinc 8.3 loops for ever).
            if length and int(size) == 0:
                raise ValueError(f"minibatch sizes must be >= 1, got {size}")
            size_stream = itertools.repeat(size)
        sizes = self._get_batch_sizes(length, size_stream)
        # One index array for every pass: shuffling reorders it in place, so each
        # pass starts from the previous pass's order (as thinc 8.3 does; a given
        # seed gives the same sequence of passes).
        indices = numpy.arange(length)

        def get_items() -> Iterator:
            if shuffle:
                numpy.random.shuffle(indices)
            start = 0
            for batch_size in sizes:
                # A copy: the next pass reshuffles `indices` in place.
                batch_indices = indices[start : start + batch_size].copy()
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
        """Draw batch sizes until they cover ``length`` items. A size of 0 asks
        for an empty batch, as thinc 8.3 allows, though not for ever."""
        output: List[int] = []
        covered = 0
        zeros_in_a_row = 0
        while covered < length:
            try:
                batch_size = int(next(sizes))
            except StopIteration:
                raise ValueError(
                    f"minibatch sizes ran out after covering {covered} of {length} items"
                ) from None
            if batch_size < 0:
                raise ValueError(f"minibatch sizes must be >= 1, got {batch_size}")
            zeros_in_a_row = zeros_in_a_row + 1 if batch_size == 0 else 0
            if zeros_in_a_row > _MAX_EMPTY_BATCHES:
                raise ValueError(
                    f"minibatch sizes gave {zeros_in_a_row} sizes of 0 in a row: "
                    "the batches would never cover the data"
                )
            output.append(batch_size)
            covered += batch_size
        return output

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
