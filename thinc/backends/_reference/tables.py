"""The reference ops that read and write tables by id: hashing, n-grams,
gather and scatter of rows, and position encodings."""

from typing import Any, Optional, Tuple, cast

import numpy

from ...types import Floats2d, FloatsXd, Ints1d, Ints2d, IntsXd, Xp
from .._checks import _check_index_range
from .arrays import ArrayOps


class TableOps(ArrayOps):
    """Hashing ids and addressing table rows."""

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
