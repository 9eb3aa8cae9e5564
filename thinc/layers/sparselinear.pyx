# cython: binding=True, boundscheck=False, wraparound=False
"""SparseLinear: a linear layer over hashed sparse features (key, value pairs),
as used for bag-of-words classifiers. Registered as "SparseLinear.v1" and "SparseLinear.v2"."""
from typing import Callable, Optional, Tuple

import numpy

from libc.stdint cimport int32_t, uint32_t, uint64_t
from murmurhash.mrmr cimport hash32

from ..config import registry
from ..model import Model
from ..types import ArrayXd, Floats2d

InT = Tuple[ArrayXd, ArrayXd, ArrayXd]


@registry.layers("SparseLinear.v1")
def SparseLinear(nO: Optional[int] = None, length: int = 2 ** 18) -> Model:
    """Class scores from (keys uint64, values float32, lengths int32) batches.

    v1 keeps thinc's original indexing, which masks hashes with ``length - 1``
    (so it spreads features well only when length is a power of two)."""
    return _sparse_linear(nO, length, v1_indexing=True)


@registry.layers("SparseLinear.v2")
def SparseLinear_v2(nO: Optional[int] = None, length: int = 2 ** 18) -> Model:
    """As SparseLinear.v1, but each class owns ``length`` weights, picked by hash % length."""
    return _sparse_linear(nO, length, v1_indexing=False)


def _sparse_linear(nO: Optional[int], length: int, *, v1_indexing: bool) -> Model:
    if length < 1:
        raise ValueError(f"SparseLinear length must be positive, got {length}")
    return Model(
        "sparse_linear",
        forward,
        init=init,
        params={"W": None, "b": None},
        dims={"nO": nO, "length": length},
        attrs={"v1_indexing": v1_indexing},
    )


def init(model: Model, X: Optional[InT] = None, Y: Optional[Floats2d] = None) -> None:
    if Y is not None and model.maybe_get_dim("nO") is None:
        model.set_dim("nO", Y.shape[1])
    nO = model.get_dim("nO")
    model.set_param("W", model.ops.alloc1f(nO * model.get_dim("length")))
    model.set_param("b", model.ops.alloc1f(nO))


def forward(model: Model, keys_values_lengths: InT, is_train: bool) -> Tuple[Floats2d, Callable]:
    keys, values, lengths = _check_input(keys_values_lengths)
    ops = model.ops
    W = numpy.require(ops.to_numpy(model.get_param("W")), dtype="float32", requirements="CA")
    b = numpy.asarray(ops.to_numpy(model.get_param("b")), dtype="float32")
    nO = b.shape[0]
    length = model.get_dim("length")
    if W.shape[0] != nO * length:
        raise ValueError(f"sparse_linear: W has {W.shape[0]} weights, expected nO * length = {nO * length}")
    v1_indexing = bool(model.attrs["v1_indexing"])
    scores = numpy.tile(b, (lengths.shape[0], 1))
    _add_scores(scores, W, keys, values, lengths, nO, length, v1_indexing)

    def backprop(d_scores: Floats2d) -> InT:
        dY = numpy.require(ops.to_numpy(d_scores), dtype="float32", requirements="CA")
        if dY.shape != (lengths.shape[0], nO):
            raise ValueError(
                f"sparse_linear: expected a gradient of shape {(lengths.shape[0], nO)}, got {dY.shape}"
            )
        dW = numpy.zeros((nO * length,), dtype="float32")
        _add_weight_gradient(dW, dY, keys, values, lengths, nO, length, v1_indexing)
        model.inc_grad("W", ops.asarray1f(dW))
        model.inc_grad("b", ops.asarray1f(dY.sum(axis=0)))
        return keys_values_lengths

    return ops.asarray2f(scores), backprop


def _add_scores(scores, W, keys, values, lengths, int nO, int length, bint v1_indexing) -> None:
    cdef float[:, ::1] out = scores
    cdef const float[::1] W_view = W
    cdef const uint64_t[::1] key_view = keys
    cdef const float[::1] value_view = values
    cdef const int32_t[::1] length_view = lengths
    if key_view.shape[0] == 0:
        return
    with nogil:
        _scores(&out[0, 0], &W_view[0], &key_view[0], &value_view[0], &length_view[0],
                length_view.shape[0], nO, length, v1_indexing)


def _add_weight_gradient(dW, dY, keys, values, lengths, int nO, int length, bint v1_indexing) -> None:
    cdef float[::1] dW_view = dW
    cdef const float[:, ::1] dY_view = dY
    cdef const uint64_t[::1] key_view = keys
    cdef const float[::1] value_view = values
    cdef const int32_t[::1] length_view = lengths
    if key_view.shape[0] == 0:
        return
    with nogil:
        _weight_gradient(&dW_view[0], &dY_view[0, 0], &key_view[0], &value_view[0],
                         &length_view[0], length_view.shape[0], nO, length, v1_indexing)


def _check_input(keys_values_lengths) -> InT:
    if not isinstance(keys_values_lengths, (tuple, list)) or len(keys_values_lengths) != 3:
        raise TypeError("sparse_linear expects a tuple (keys, values, lengths)")
    keys, values, lengths = (_to_numpy(array) for array in keys_values_lengths)
    for name, array, kinds in (("keys", keys, "iu"), ("values", values, "fiu"), ("lengths", lengths, "iu")):
        if array.ndim != 1:
            raise ValueError(f"sparse_linear: {name} must be 1d, got shape {array.shape}")
        if array.dtype.kind not in kinds:
            raise TypeError(f"sparse_linear: {name} has unsupported dtype {array.dtype}")
    if values.shape[0] != keys.shape[0]:
        raise ValueError(f"sparse_linear: {keys.shape[0]} keys but {values.shape[0]} values")
    if lengths.size and int(lengths.min()) < 0:
        raise ValueError("sparse_linear: lengths must not be negative")
    # Each length is bounded before the sum, which could wrap around int64 (and the
    # int32 cast below would then hand the kernel negative lengths).
    if lengths.size and int(lengths.max()) > keys.shape[0]:
        raise ValueError(f"sparse_linear: a length of {int(lengths.max())} exceeds the {keys.shape[0]} keys")
    # As in thinc, keys past sum(lengths) are ignored; fewer keys than that is an error.
    total = sum(lengths.tolist())
    if total > keys.shape[0]:
        raise ValueError(f"sparse_linear: lengths sum to {total} but there are only {keys.shape[0]} keys")
    # Signed keys are read as their unsigned 64-bit pattern, as the hashing expects.
    return (
        numpy.require(keys.astype("uint64", copy=False), requirements="CA"),
        numpy.require(values, dtype="float32", requirements="CA"),
        numpy.require(lengths, dtype="int32", requirements="CA"),
    )


def _to_numpy(array):
    if hasattr(array, "get") and not isinstance(array, numpy.ndarray):
        return array.get()  # cupy arrays: this layer computes on the CPU
    return numpy.asarray(array)


cdef inline void _weight_indices(uint64_t key, int nO, int length, bint v1_indexing,
                                 uint32_t* first, uint32_t* second) noexcept nogil:
    # Two seeds give each key two weights per class, so collisions rarely coincide.
    cdef uint32_t hash0 = hash32(&key, sizeof(uint64_t), 0)
    cdef uint32_t hash1 = hash32(&key, sizeof(uint64_t), 1)
    if v1_indexing:
        first[0] = hash0 & <uint32_t>(length - 1)
        second[0] = hash1 & <uint32_t>(length - 1)
    else:
        first[0] = hash0 % <uint32_t>length
        second[0] = hash1 % <uint32_t>length


cdef inline int _class_step(int length, bint v1_indexing) noexcept nogil:
    # v1 puts a feature's class weights next to each other; v2 gives each class its own block.
    return 1 if v1_indexing else length


cdef void _scores(float* out, const float* W, const uint64_t* keys, const float* values,
                  const int32_t* lengths, int batch, int nO, int length,
                  bint v1_indexing) noexcept nogil:
    cdef int i, j, c
    cdef uint32_t first = 0, second = 0
    cdef int step = _class_step(length, v1_indexing)
    cdef float value
    for i in range(batch):
        for j in range(lengths[i]):
            _weight_indices(keys[0], nO, length, v1_indexing, &first, &second)
            value = values[0]
            for c in range(nO):
                out[c] += value * W[first + c * step]
                out[c] += value * W[second + c * step]
            keys += 1
            values += 1
        out += nO


cdef void _weight_gradient(float* dW, const float* dY, const uint64_t* keys, const float* values,
                           const int32_t* lengths, int batch, int nO, int length,
                           bint v1_indexing) noexcept nogil:
    cdef int i, j, c
    cdef uint32_t first = 0, second = 0
    cdef int step = _class_step(length, v1_indexing)
    cdef float value
    for i in range(batch):
        for j in range(lengths[i]):
            _weight_indices(keys[0], nO, length, v1_indexing, &first, &second)
            value = values[0]
            for c in range(nO):
                dW[first + c * step] += value * dY[c]
                dW[second + c * step] += value * dY[c]
            keys += 1
            values += 1
        dY += nO
