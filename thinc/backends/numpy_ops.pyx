# cython: boundscheck=False, cdivision=True, infer_types=True
"""NumpyOps: the CPU backend, the reference Ops with its hot ops compiled.

Each override checks its inputs in Python, then runs a nogil C++ kernel."""
import os
import warnings
from typing import Optional, Tuple

import numpy

cimport cython
cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from murmurhash.mrmr cimport hash128_x64

from .cblas cimport CBlas, affine_f32, affine_f64, gemm_f32, gemm_f64

from . import cblas as _cblas_module
from .ops import (MAX_GRADIENT_ROWS, LengthsMismatchError, Ops, _average_decay,
                  _check_clip_threshold, _whole_number)
from .ops import _check_window as _ops_check_window

cnp.import_array()

ctypedef int64_t index_t


cdef extern from "thinc_kernels.hh" namespace "thinc_kernels" nogil:
    ctypedef void (*hash128_function)(const void* key, int length, uint32_t seed, void* out)
    void hash_ids(hash128_function hash, const uint64_t* ids, index_t n, uint32_t seed, uint32_t* out)
    void relu_forward(const float*, float*, index_t, float, float, float, float)
    void relu_forward(const double*, double*, index_t, double, double, double, double)
    void clipped_linear_forward(const float*, float*, index_t, float, float, float, float)
    void clipped_linear_forward(const double*, double*, index_t, double, double, double, double)
    void hard_swish_forward(const float*, float*, index_t, float, float, float, float)
    void hard_swish_forward(const double*, double*, index_t, double, double, double, double)
    void hard_swish_mobilenet_forward(const float*, float*, index_t, float, float, float, float)
    void hard_swish_mobilenet_forward(const double*, double*, index_t, double, double, double, double)
    void sigmoid_forward(const float*, float*, index_t, float, float, float, float)
    void sigmoid_forward(const double*, double*, index_t, double, double, double, double)
    void swish_forward(const float*, float*, index_t, float, float, float, float)
    void swish_forward(const double*, double*, index_t, double, double, double, double)
    void gelu_forward(const float*, float*, index_t, float, float, float, float)
    void gelu_forward(const double*, double*, index_t, double, double, double, double)
    void gelu_approx_forward(const float*, float*, index_t, float, float, float, float)
    void gelu_approx_forward(const double*, double*, index_t, double, double, double, double)
    void dish_forward(const float*, float*, index_t, float, float, float, float)
    void dish_forward(const double*, double*, index_t, double, double, double, double)
    void mish_forward(const float*, float*, index_t, float, float, float, float)
    void mish_forward(const double*, double*, index_t, double, double, double, double)
    void dsigmoid_forward(const float*, float*, index_t, float, float, float, float)
    void dsigmoid_forward(const double*, double*, index_t, double, double, double, double)
    void dtanh_forward(const float*, float*, index_t, float, float, float, float)
    void dtanh_forward(const double*, double*, index_t, double, double, double, double)

    void relu_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void relu_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void clipped_linear_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void clipped_linear_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void relu_k_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void relu_k_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void hard_swish_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void hard_swish_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void hard_swish_mobilenet_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void hard_swish_mobilenet_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void sigmoid_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void sigmoid_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void gelu_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void gelu_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void dish_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void dish_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void mish_backward(const float*, const float*, float*, index_t, float, float, float, float)
    void mish_backward(const double*, const double*, double*, index_t, double, double, double, double)
    void gelu_approx_backward(const float*, const float*, float*, index_t)
    void gelu_approx_backward(const double*, const double*, double*, index_t)
    void swish_backward(const float*, const float*, const float*, float*, index_t)
    void swish_backward(const double*, const double*, const double*, double*, index_t)

    void softmax_rows(const float*, float*, index_t, index_t, float)
    void softmax_rows(const double*, double*, index_t, index_t, double)
    void backprop_softmax_rows(const float*, const float*, float*, index_t, index_t, float)
    void backprop_softmax_rows(const double*, const double*, double*, index_t, index_t, double)
    void softmax_sequences(const float*, float*, const index_t*, index_t, index_t, float*)
    void softmax_sequences(const double*, double*, const index_t*, index_t, index_t, double*)
    void backprop_softmax_sequences(const float*, const float*, float*, const index_t*, index_t, index_t, float*)
    void backprop_softmax_sequences(const double*, const double*, double*, const index_t*, index_t, index_t, double*)

    void reduce_sum(const float*, float*, const index_t*, index_t, index_t, bint)
    void reduce_sum(const double*, double*, const index_t*, index_t, index_t, bint)
    void backprop_reduce_sum(const float*, float*, const index_t*, index_t, index_t, bint)
    void backprop_reduce_sum(const double*, double*, const index_t*, index_t, index_t, bint)
    void reduce_max(const float*, float*, int32_t*, const index_t*, index_t, index_t)
    void reduce_max(const double*, double*, int32_t*, const index_t*, index_t, index_t)
    index_t backprop_reduce_max(const float*, const int32_t*, float*, const index_t*, index_t, index_t)
    index_t backprop_reduce_max(const double*, const int32_t*, double*, const index_t*, index_t, index_t)

    void seq2col(const float*, float*, const index_t*, index_t, index_t, index_t)
    void seq2col(const double*, double*, const index_t*, index_t, index_t, index_t)
    void backprop_seq2col(const float*, float*, const index_t*, index_t, index_t, index_t)
    void backprop_seq2col(const double*, double*, const index_t*, index_t, index_t, index_t)
    void maxout(const float*, float*, int32_t*, index_t, index_t)
    void maxout(const double*, double*, int32_t*, index_t, index_t)
    index_t backprop_maxout(const float*, const int32_t*, float*, index_t, index_t)
    index_t backprop_maxout(const double*, const int32_t*, double*, index_t, index_t)

    index_t gather_add(const float*, const int32_t*, float*, index_t, index_t, index_t, index_t)
    index_t gather_add(const float*, const int64_t*, float*, index_t, index_t, index_t, index_t)
    index_t gather_add(const double*, const int32_t*, double*, index_t, index_t, index_t, index_t)
    index_t gather_add(const double*, const int64_t*, double*, index_t, index_t, index_t, index_t)
    index_t scatter_add(float*, const int32_t*, const float*, index_t, index_t, index_t)
    index_t scatter_add(float*, const int64_t*, const float*, index_t, index_t, index_t)
    index_t scatter_add(double*, const int32_t*, const double*, index_t, index_t, index_t)
    index_t scatter_add(double*, const int64_t*, const double*, index_t, index_t, index_t)

    void adam(float*, const float*, float*, float*, index_t, float, float, float, float, float)
    void adam(double*, const double*, double*, double*, index_t, double, double, double, double, double)
    double sum_of_squares(const float*, index_t)
    double sum_of_squares(const double*, index_t)
    void scale_inplace(float*, index_t, float)
    void scale_inplace(double*, index_t, double)
    void update_averages(float*, const float*, index_t, float)
    void update_averages(double*, const double*, index_t, double)

    double fma_peak_avx2(double seconds)
    double fma_peak_avx512(double seconds)
    bint cpu_has_avx2_fma()

    void lstm_step_forward(const float*, const float*, const float*, float*, float*, float*,
                           index_t, index_t)
    void lstm_step_backward(const float*, const float*, float*, index_t, const float*,
                            const float*, const float*, float*, index_t, index_t)


cdef extern from "thinc_parallel.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    int parallel_num_threads "thinc_parallel::num_threads"()
    int parallel_requested_threads "thinc_parallel::requested_threads"()
    void parallel_set_grain_override "thinc_parallel::set_grain_override"(index_t)


# Codes for the elementwise kernels, so one dispatcher serves them all.
cdef enum Unary:
    U_RELU, U_CLIPPED_LINEAR, U_HARD_SWISH, U_HARD_SWISH_MOBILENET, U_SIGMOID, U_SWISH
    U_GELU, U_GELU_APPROX, U_DISH, U_MISH, U_DSIGMOID, U_DTANH

cdef enum Binary:
    B_RELU, B_CLIPPED_LINEAR, B_RELU_K, B_HARD_SWISH, B_HARD_SWISH_MOBILENET, B_SIGMOID
    B_GELU, B_GELU_APPROX, B_DISH, B_MISH


cdef void run_unary_f32(Unary op, const float* X, float* Y, index_t n,
                        float a, float b, float c, float d) noexcept nogil:
    if op == U_RELU: relu_forward(X, Y, n, a, b, c, d)
    elif op == U_CLIPPED_LINEAR: clipped_linear_forward(X, Y, n, a, b, c, d)
    elif op == U_HARD_SWISH: hard_swish_forward(X, Y, n, a, b, c, d)
    elif op == U_HARD_SWISH_MOBILENET: hard_swish_mobilenet_forward(X, Y, n, a, b, c, d)
    elif op == U_SIGMOID: sigmoid_forward(X, Y, n, a, b, c, d)
    elif op == U_SWISH: swish_forward(X, Y, n, a, b, c, d)
    elif op == U_GELU: gelu_forward(X, Y, n, a, b, c, d)
    elif op == U_GELU_APPROX: gelu_approx_forward(X, Y, n, a, b, c, d)
    elif op == U_DISH: dish_forward(X, Y, n, a, b, c, d)
    elif op == U_MISH: mish_forward(X, Y, n, a, b, c, d)
    elif op == U_DSIGMOID: dsigmoid_forward(X, Y, n, a, b, c, d)
    elif op == U_DTANH: dtanh_forward(X, Y, n, a, b, c, d)


cdef void run_unary_f64(Unary op, const double* X, double* Y, index_t n,
                        double a, double b, double c, double d) noexcept nogil:
    if op == U_RELU: relu_forward(X, Y, n, a, b, c, d)
    elif op == U_CLIPPED_LINEAR: clipped_linear_forward(X, Y, n, a, b, c, d)
    elif op == U_HARD_SWISH: hard_swish_forward(X, Y, n, a, b, c, d)
    elif op == U_HARD_SWISH_MOBILENET: hard_swish_mobilenet_forward(X, Y, n, a, b, c, d)
    elif op == U_SIGMOID: sigmoid_forward(X, Y, n, a, b, c, d)
    elif op == U_SWISH: swish_forward(X, Y, n, a, b, c, d)
    elif op == U_GELU: gelu_forward(X, Y, n, a, b, c, d)
    elif op == U_GELU_APPROX: gelu_approx_forward(X, Y, n, a, b, c, d)
    elif op == U_DISH: dish_forward(X, Y, n, a, b, c, d)
    elif op == U_MISH: mish_forward(X, Y, n, a, b, c, d)
    elif op == U_DSIGMOID: dsigmoid_forward(X, Y, n, a, b, c, d)
    elif op == U_DTANH: dtanh_forward(X, Y, n, a, b, c, d)


cdef void run_binary_f32(Binary op, const float* G, const float* S, float* dX, index_t n,
                         float a, float b, float c, float d) noexcept nogil:
    if op == B_RELU: relu_backward(G, S, dX, n, a, b, c, d)
    elif op == B_CLIPPED_LINEAR: clipped_linear_backward(G, S, dX, n, a, b, c, d)
    elif op == B_RELU_K: relu_k_backward(G, S, dX, n, a, b, c, d)
    elif op == B_HARD_SWISH: hard_swish_backward(G, S, dX, n, a, b, c, d)
    elif op == B_HARD_SWISH_MOBILENET: hard_swish_mobilenet_backward(G, S, dX, n, a, b, c, d)
    elif op == B_SIGMOID: sigmoid_backward(G, S, dX, n, a, b, c, d)
    elif op == B_GELU: gelu_backward(G, S, dX, n, a, b, c, d)
    elif op == B_GELU_APPROX: gelu_approx_backward(G, S, dX, n)
    elif op == B_DISH: dish_backward(G, S, dX, n, a, b, c, d)
    elif op == B_MISH: mish_backward(G, S, dX, n, a, b, c, d)


cdef void run_binary_f64(Binary op, const double* G, const double* S, double* dX, index_t n,
                         double a, double b, double c, double d) noexcept nogil:
    if op == B_RELU: relu_backward(G, S, dX, n, a, b, c, d)
    elif op == B_CLIPPED_LINEAR: clipped_linear_backward(G, S, dX, n, a, b, c, d)
    elif op == B_RELU_K: relu_k_backward(G, S, dX, n, a, b, c, d)
    elif op == B_HARD_SWISH: hard_swish_backward(G, S, dX, n, a, b, c, d)
    elif op == B_HARD_SWISH_MOBILENET: hard_swish_mobilenet_backward(G, S, dX, n, a, b, c, d)
    elif op == B_SIGMOID: sigmoid_backward(G, S, dX, n, a, b, c, d)
    elif op == B_GELU: gelu_backward(G, S, dX, n, a, b, c, d)
    elif op == B_GELU_APPROX: gelu_approx_backward(G, S, dX, n)
    elif op == B_DISH: dish_backward(G, S, dX, n, a, b, c, d)
    elif op == B_MISH: mish_backward(G, S, dX, n, a, b, c, d)


# ---------------------------------------------------------------------------
# Validation helpers (the Python halves of the kernels).

cdef inline bint is_real_array(X):
    return (isinstance(X, numpy.ndarray)
            and ((<cnp.ndarray>X).descr.type_num == cnp.NPY_FLOAT32
                 or (<cnp.ndarray>X).descr.type_num == cnp.NPY_FLOAT64)
            and (<cnp.ndarray>X).descr.byteorder != b'>')


cdef inline cnp.ndarray contiguous(X):
    # Kernels read raw memory in C order, so strided or misaligned views are copied.
    if cnp.PyArray_IS_C_CONTIGUOUS(X) and cnp.PyArray_ISALIGNED(X):
        return X
    return numpy.ascontiguousarray(X)


cdef inline bint is_writeable_contiguous(X):
    return (cnp.PyArray_IS_C_CONTIGUOUS(X) and cnp.PyArray_ISALIGNED(X)
            and cnp.PyArray_ISWRITEABLE(X))


def check_lengths(lengths, index_t n_rows, str op_name, bint allow_short=True,
                  bint require_positive=False):
    """Lengths as a contiguous int64 array, after checking type, sign and total."""
    return checked_lengths(lengths, n_rows, op_name, allow_short, require_positive, NULL)


cdef cnp.ndarray checked_lengths(lengths, index_t n_rows, str op_name, bint allow_short,
                                 bint require_positive, index_t* total_out):
    # Runs on every sequence op, so it reads the array through its pointer and
    # hands back the total (the caller would otherwise pay for lengths.sum()).
    if not isinstance(lengths, numpy.ndarray):
        lengths = numpy.asarray(lengths)
    cdef cnp.ndarray array = lengths
    if array.descr.kind != b"i" and array.descr.kind != b"u":
        raise ValueError(f"{op_name}: lengths must be integers, got dtype {lengths.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{op_name}: lengths must be 1-dimensional, got shape {lengths.shape}")
    cdef cnp.ndarray result = numpy.ascontiguousarray(array, dtype=numpy.int64)
    cdef const int64_t* values = <const int64_t*>cnp.PyArray_DATA(result)
    cdef Py_ssize_t i, count = result.shape[0]
    cdef int64_t total = 0, smallest = values[0] if count else 0, value
    for i in range(count):
        if values[i] < smallest:
            smallest = values[i]
    if smallest < 0:
        raise ValueError(f"{op_name}: lengths must be non-negative, got {smallest}")
    if require_positive and count and smallest == 0:
        raise ValueError(f"{op_name}: all sequence lengths must be > 0, got 0")
    for i in range(count):
        value = values[i]
        # Compared before adding (total <= n_rows holds), so lengths whose sum
        # would wrap around int64 are refused instead of passing the total check.
        if value > n_rows - total:
            raise LengthsMismatchError(
                f"{op_name}: lengths must sum up to the number of rows ({n_rows}), "
                f"got {sum(result.tolist())}"
            )
        total += value
    if not allow_short and total != n_rows:
        raise LengthsMismatchError(
            f"{op_name}: lengths must sum up to the number of rows ({n_rows}), got {total}"
        )
    if total_out != NULL:
        total_out[0] = total
    return result


cdef inline object same_layout(A, B):
    return (isinstance(B, numpy.ndarray) and (<cnp.ndarray>A).descr.type_num
            == (<cnp.ndarray>B).descr.type_num and A.shape == B.shape)


def _check_gemm_operand(array, name: str):
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"gemm expects numpy arrays, but '{name}' is {type(array).__name__}")
    if array.ndim != 2:
        raise ValueError(
            f"gemm expects 2-dimensional arrays, but '{name}' has {array.ndim} dimension(s)"
        )


cdef object apply_unary(Unary op, X, bint inplace, double a=0, double b=0, double c=0, double d=0):
    """Runs an elementwise kernel; the caller has checked is_real_array(X)."""
    cdef cnp.ndarray source = contiguous(X)
    cdef cnp.ndarray target
    if inplace and source is X and cnp.PyArray_ISWRITEABLE(X):
        target = source
    else:
        target = numpy.empty_like(source)
    cdef index_t n = source.size
    if source.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            run_unary_f32(op, <const float*>cnp.PyArray_DATA(source), <float*>cnp.PyArray_DATA(target), n, a, b, c, d)
    else:
        with nogil:
            run_unary_f64(op, <const double*>cnp.PyArray_DATA(source), <double*>cnp.PyArray_DATA(target), n, a, b, c, d)
    if inplace and target is not X:
        X[...] = target
        return X
    return target


cdef object apply_binary(Binary op, dY, S, bint inplace, double a=0, double b=0, double c=0,
                         double d=0):
    """Runs a backward kernel writing into dY when inplace; inputs checked by the caller."""
    cdef cnp.ndarray gradient = contiguous(dY)
    cdef cnp.ndarray saved = contiguous(S)
    cdef cnp.ndarray target
    if inplace and gradient is dY and cnp.PyArray_ISWRITEABLE(dY):
        target = gradient
    else:
        target = numpy.empty_like(gradient)
    cdef index_t n = gradient.size
    if gradient.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            run_binary_f32(op, <const float*>cnp.PyArray_DATA(gradient), <const float*>cnp.PyArray_DATA(saved),
                           <float*>cnp.PyArray_DATA(target), n, a, b, c, d)
    else:
        with nogil:
            run_binary_f64(op, <const double*>cnp.PyArray_DATA(gradient), <const double*>cnp.PyArray_DATA(saved),
                           <double*>cnp.PyArray_DATA(target), n, a, b, c, d)
    if inplace and target is not dY:
        dY[...] = target
        return dY
    return target


cdef bint has_nan(double a, double b, double c, double d):
    # A NaN bound compares false everywhere, so the kernels would drop it; the
    # reference (numpy's clip) answers NaN, and NaN options are rare enough to send there.
    return a != a or b != b or c != c or d != d


cdef bint binary_ok(dY, S):
    return is_real_array(dY) and same_layout(dY, S)


cdef extern from "thinc_isa.hh" namespace "thinc_isa" nogil:
    int isa_cpu_level "thinc_isa::cpu_level"()
    int isa_active "thinc_isa::active"()
    void isa_set_limit "thinc_isa::limit().store"(int)


def measure_peak_flops(seconds: float = 0.3) -> float:
    """Single-precision flop/s of one core running independent FMAs of the
    widest vectors the active instruction-set level has (AVX-512 or AVX2);
    0.0 where the CPU or compiler has neither."""
    if not cpu_has_avx2_fma():
        return 0.0
    cdef double limit = seconds
    cdef double result
    cdef bint wide = isa_active() >= 2
    with nogil:
        result = fma_peak_avx512(limit) if wide else fma_peak_avx2(limit)
    return result


def _check_thread_setting() -> None:
    text = os.environ.get("THINC_NUM_THREADS", "")
    if text and parallel_requested_threads() == 0:
        warnings.warn(
            f"THINC_NUM_THREADS={text!r} is not a positive integer; the compiled kernels use "
            f"{parallel_num_threads()} thread(s), one per available CPU (at most 8)"
        )



cdef extern from "thinc_malloc.hh" namespace "thinc_malloc":
    bint tune_allocator()


def _check_isa_setting() -> None:
    text = os.environ.get("THINC_ISA", "")
    names = ("scalar", "avx2", "avx512")
    if not text:
        return
    if text not in names:
        warnings.warn(f"THINC_ISA={text!r} is not one of {', '.join(names)}; the compiled "
                      f"kernels use the widest level this CPU has ({names[isa_cpu_level()]})")
    elif names.index(text) > isa_cpu_level():
        warnings.warn(f"THINC_ISA={text}: this CPU has no {text}; the compiled kernels use "
                      f"{names[isa_cpu_level()]}")


parallel_initialize()
_check_thread_setting()
_check_isa_setting()
# Whether glibc was told to keep freed batch buffers (see include/thinc_malloc.hh).
ALLOCATOR_TUNED: bool = tune_allocator()


def get_num_threads() -> int:
    """Threads the compiled kernels split large work over (THINC_NUM_THREADS,
    read once at import; by default the CPUs this process may use, at most 8)."""
    return parallel_num_threads()


def _set_parallel_grain(grain: int) -> None:
    """Every kernel splits work above `grain` elements (rows for row ops)
    instead of its own threshold; 0 restores the thresholds. Use
    thinc.backends.dispatch.configure, which sets gemm's too."""
    parallel_set_grain_override(int(grain))


def _set_isa_limit(int level) -> None:
    isa_set_limit(level)


def _isa_levels():
    """(the CPU's level, the active level) of this module's kernels, as
    indices into thinc.backends.dispatch.ISA_LEVELS."""
    return isa_cpu_level(), isa_active()


class _GemmDescription:
    """Reads as the one-line gemm description, on the class and on instances."""

    def __get__(self, instance, owner) -> str:
        return _cblas_module.gemm_description()


class NumpyOps(Ops):
    """The CPU backend: numpy arrays, with compiled kernels for the hot ops."""

    name = "numpy"
    xp = numpy
    # What gemm runs on, per dtype (see thinc.backends.dispatch).
    blas_backend = _GemmDescription()

    def __init__(
        self, device_type: str = "cpu", device_id: int = -1, *, use_blis: bool = True
    ) -> None:
        super().__init__(device_type, device_id)
        self.use_blis = use_blis

    @staticmethod
    def paths() -> dict:
        """Which implementation each compiled op family runs here: instruction
        set, gemm per dtype and size, threads (see thinc.backends.dispatch)."""
        from .dispatch import report

        return report()

    def cblas(self) -> CBlas:
        """The table of BLAS functions for compiled callers (spaCy's parser)."""
        return CBlas()

    # -- matrix products -------------------------------------------------------

    def gemm(self, x, y, out=None, trans1: bool = False, trans2: bool = False):
        """Matrix product op(x) @ op(y), written into ``out`` when given."""
        M, N, K = _gemm_dims(x, y, trans1, trans2)
        if out is not None:
            if not isinstance(out, numpy.ndarray) or out.shape != (M, N) or out.dtype != x.dtype:
                raise ValueError(
                    f"gemm 'out' must be a {x.dtype} array of shape {(M, N)}, but got "
                    f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
                )
        if not self.use_blis:
            result = numpy.dot(x.T if trans1 else x, y.T if trans2 else y)
            if out is None:
                return result
            out[...] = result
            return out
        x = contiguous(x)
        y = contiguous(y)
        target = out if out is not None and is_writeable_contiguous(out) else None
        if target is None:
            target = numpy.empty((M, N), dtype=x.dtype)
        if K == 0:
            target.fill(0)
        else:
            _gemm(x, y, target, trans1, trans2, M, N, K)
        if out is not None and target is not out:
            out[...] = target
            return out
        return target

    def affine(self, X, W, b):
        """X @ W.T + b, the Linear layer's forward pass. The bias goes in with
        the product (no second pass over the output)."""
        M, N, K = _gemm_dims(X, W, False, True)
        if not (self.use_blis and is_real_array(b) and b.dtype == X.dtype and b.shape == (N,)):
            Y = self.gemm(X, W, trans2=True)
            Y += b
            return Y
        Y = numpy.empty((M, N), dtype=X.dtype)
        _affine(contiguous(X), contiguous(W), contiguous(b), Y, M, N, K)
        return Y

    # -- elementwise activations -------------------------------------------------

    def relu(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().relu(X, inplace=inplace)
        return apply_unary(U_RELU, X, inplace)

    def backprop_relu(self, dY, Y, inplace: bool = False):
        if not binary_ok(dY, Y):
            return super().backprop_relu(dY, Y, inplace=inplace)
        return apply_binary(B_RELU, dY, Y, inplace)

    def relu_k(self, X, n: float = 6.0, inplace: bool = False):
        if not is_real_array(X) or n != n:
            return super().relu_k(X, n=n, inplace=inplace)
        return apply_unary(U_CLIPPED_LINEAR, X, inplace, 1.0, 0.0, 0.0, n)

    def backprop_relu_k(self, dY, X, n: float = 6.0, inplace: bool = False):
        if not binary_ok(dY, X) or n != n:
            return super().backprop_relu_k(dY, X, n=n, inplace=inplace)
        return apply_binary(B_RELU_K, dY, X, inplace, n)

    def clipped_linear(self, X, slope: float = 1.0, offset: float = 0.0, min_val: float = 0.0,
                       max_val: float = 1.0, inplace: bool = False):
        if not is_real_array(X) or has_nan(slope, offset, min_val, max_val):
            return super().clipped_linear(X, slope=slope, offset=offset, min_val=min_val,
                                          max_val=max_val, inplace=inplace)
        return apply_unary(U_CLIPPED_LINEAR, X, inplace, slope, offset, min_val, max_val)

    def backprop_clipped_linear(self, dY, X, slope: float = 1.0, offset: float = 0.0,
                                min_val: float = 0.0, max_val: float = 1.0, inplace: bool = False):
        if not binary_ok(dY, X) or has_nan(slope, offset, min_val, max_val):
            return super().backprop_clipped_linear(dY, X, slope=slope, offset=offset,
                                                   min_val=min_val, max_val=max_val,
                                                   inplace=inplace)
        return apply_binary(B_CLIPPED_LINEAR, dY, X, inplace, slope, offset, min_val, max_val)

    def hard_sigmoid(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().hard_sigmoid(X, inplace=inplace)
        return apply_unary(U_CLIPPED_LINEAR, X, inplace, 0.2, 0.5, 0.0, 1.0)

    def backprop_hard_sigmoid(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_hard_sigmoid(dY, X, inplace=inplace)
        return apply_binary(B_CLIPPED_LINEAR, dY, X, inplace, 0.2, 0.5, 0.0, 1.0)

    def hard_tanh(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().hard_tanh(X, inplace=inplace)
        return apply_unary(U_CLIPPED_LINEAR, X, inplace, 1.0, 0.0, -1.0, 1.0)

    def backprop_hard_tanh(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_hard_tanh(dY, X, inplace=inplace)
        return apply_binary(B_CLIPPED_LINEAR, dY, X, inplace, 1.0, 0.0, -1.0, 1.0)

    def hard_swish(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().hard_swish(X, inplace=inplace)
        return apply_unary(U_HARD_SWISH, X, inplace)

    def backprop_hard_swish(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_hard_swish(dY, X, inplace=inplace)
        return apply_binary(B_HARD_SWISH, dY, X, inplace)

    def hard_swish_mobilenet(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().hard_swish_mobilenet(X, inplace=inplace)
        return apply_unary(U_HARD_SWISH_MOBILENET, X, inplace)

    def backprop_hard_swish_mobilenet(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_hard_swish_mobilenet(dY, X, inplace=inplace)
        return apply_binary(B_HARD_SWISH_MOBILENET, dY, X, inplace)

    def sigmoid(self, X, *, inplace: bool = False):
        if not is_real_array(X):
            return super().sigmoid(X, inplace=inplace)
        return apply_unary(U_SIGMOID, X, inplace)

    def backprop_sigmoid(self, dY, Y, *, inplace: bool = False):
        if not binary_ok(dY, Y):
            return super().backprop_sigmoid(dY, Y, inplace=inplace)
        return apply_binary(B_SIGMOID, dY, Y, inplace)

    def dsigmoid(self, Y, *, inplace: bool = False):
        if not is_real_array(Y):
            return super().dsigmoid(Y, inplace=inplace)
        return apply_unary(U_DSIGMOID, Y, inplace)

    def dtanh(self, Y, *, inplace: bool = False):
        if not is_real_array(Y):
            return super().dtanh(Y, inplace=inplace)
        return apply_unary(U_DTANH, Y, inplace)

    def swish(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().swish(X, inplace=inplace)
        return apply_unary(U_SWISH, X, inplace)

    def backprop_swish(self, dY, X, Y, inplace: bool = False):
        if not (binary_ok(dY, X) and same_layout(dY, Y)):
            return super().backprop_swish(dY, X, Y, inplace=inplace)
        gradient = contiguous(dY)
        target = gradient if inplace and gradient is dY and dY.flags.writeable else numpy.empty_like(gradient)
        _swish_backward(gradient, contiguous(X), contiguous(Y), target)
        if inplace and target is not dY:
            dY[...] = target
            return dY
        return target

    def gelu(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().gelu(X, inplace=inplace)
        return apply_unary(U_GELU, X, inplace)

    def backprop_gelu(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_gelu(dY, X, inplace=inplace)
        return apply_binary(B_GELU, dY, X, inplace)

    def gelu_approx(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().gelu_approx(X, inplace=inplace)
        return apply_unary(U_GELU_APPROX, X, inplace)

    def backprop_gelu_approx(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_gelu_approx(dY, X, inplace=inplace)
        return apply_binary(B_GELU_APPROX, dY, X, inplace)

    def dish(self, X, inplace: bool = False):
        if not is_real_array(X):
            return super().dish(X, inplace=inplace)
        return apply_unary(U_DISH, X, inplace)

    def backprop_dish(self, dY, X, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_dish(dY, X, inplace=inplace)
        return apply_binary(B_DISH, dY, X, inplace)

    def mish(self, X, threshold: float = 20.0, inplace: bool = False):
        if not is_real_array(X):
            return super().mish(X, threshold=threshold, inplace=inplace)
        return apply_unary(U_MISH, X, inplace, threshold)

    def backprop_mish(self, dY, X, threshold: float = 20.0, inplace: bool = False):
        if not binary_ok(dY, X):
            return super().backprop_mish(dY, X, threshold=threshold, inplace=inplace)
        return apply_binary(B_MISH, dY, X, inplace, threshold)

    # -- softmax -----------------------------------------------------------------

    def softmax(self, x, *, inplace: bool = False, axis: int = -1, temperature: float = 1.0):
        if not (is_real_array(x) and x.ndim >= 1 and axis in (-1, x.ndim - 1)
                and x.shape[-1] > 0 and temperature != 0):
            return super().softmax(x, inplace=inplace, axis=axis, temperature=temperature)
        source = contiguous(x)
        target = source if inplace and source is x and x.flags.writeable else numpy.empty_like(source)
        _softmax_rows(source, target, x.shape[-1], 1.0 / temperature)
        if inplace and target is not x:
            x[...] = target
            return x
        return target

    def backprop_softmax(self, Y, dY, *, axis: int = -1, temperature: float = 1.0):
        if not (binary_ok(dY, Y) and Y.ndim >= 1 and axis in (-1, Y.ndim - 1)
                and Y.shape[-1] > 0 and temperature != 0):
            return super().backprop_softmax(Y, dY, axis=axis, temperature=temperature)
        target = numpy.empty_like(contiguous(Y))
        _backprop_softmax_rows(contiguous(Y), contiguous(dY), target, Y.shape[-1], 1.0 / temperature)
        return target

    def softmax_sequences(self, Xs, lengths, *, inplace: bool = False, axis: int = -1):
        if not (is_real_array(Xs) and Xs.ndim == 2 and axis in (-1, 1)):
            return super().softmax_sequences(Xs, lengths, inplace=inplace, axis=axis)
        lengths64 = checked_lengths(lengths, Xs.shape[0], "softmax_sequences", False, False, NULL)
        source = contiguous(Xs)
        target = source if inplace and source is Xs and Xs.flags.writeable else numpy.empty_like(source)
        # Zero-width rows need no pass (the kernel would still walk every row).
        if target.size:
            _softmax_sequences(source, target, lengths64)
        if inplace and target is not Xs:
            Xs[...] = target
            return Xs
        return target

    def backprop_softmax_sequences(self, dY, Y, lengths):
        if not (binary_ok(dY, Y) and Y.ndim == 2):
            return super().backprop_softmax_sequences(dY, Y, lengths)
        lengths64 = checked_lengths(lengths, Y.shape[0], "backprop_softmax_sequences", False, False,
                                    NULL)
        target = numpy.empty_like(contiguous(Y))
        if target.size:
            _backprop_softmax_sequences(contiguous(dY), contiguous(Y), target, lengths64)
        return target

    # -- sequence reductions -----------------------------------------------------

    def reduce_sum(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_sum(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_sum", True, False, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        if X.size:
            _reduce_sum(contiguous(X), out, lengths64, False)
        else:
            out.fill(0)
        return out

    def reduce_mean(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_mean(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_mean", True, False, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        if X.size:
            _reduce_sum(contiguous(X), out, lengths64, True)
        else:
            out.fill(0)
        return out

    def backprop_reduce_sum(self, d_sums, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_sums) and d_sums.ndim == 2):
            return super().backprop_reduce_sum(d_sums, lengths)
        lengths64 = checked_reduction_gradient(d_sums, lengths, "backprop_reduce_sum", &total)
        out = numpy.empty((total, d_sums.shape[1]), dtype=d_sums.dtype)
        if out.size:
            _backprop_reduce_sum(contiguous(d_sums), out, lengths64, False)
        return out

    def backprop_reduce_mean(self, d_means, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_means) and d_means.ndim == 2):
            return super().backprop_reduce_mean(d_means, lengths)
        lengths64 = checked_reduction_gradient(d_means, lengths, "backprop_reduce_mean", &total)
        out = numpy.empty((total, d_means.shape[1]), dtype=d_means.dtype)
        if out.size:
            _backprop_reduce_sum(contiguous(d_means), out, lengths64, True)
        return out

    def reduce_max(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_max(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_max", True, True, NULL)
        out = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=X.dtype)
        which = numpy.empty((lengths64.shape[0], X.shape[1]), dtype=numpy.int32)
        if out.size:
            _reduce_max(contiguous(X), out, which, lengths64)
        return out, which

    def backprop_reduce_max(self, d_maxes, which, lengths):
        cdef index_t total = 0
        if not (is_real_array(d_maxes) and d_maxes.ndim == 2):
            return super().backprop_reduce_max(d_maxes, which, lengths)
        lengths64 = checked_reduction_gradient(d_maxes, lengths, "backprop_reduce_max", &total)
        which32 = _int32_like(which, d_maxes.shape, "backprop_reduce_max", "which")
        out = numpy.empty((total, d_maxes.shape[1]), dtype=d_maxes.dtype)
        # Zero-width gradients need no pass (the kernel would walk every length).
        bad = _backprop_reduce_max(contiguous(d_maxes), which32, out, lengths64) if d_maxes.shape[1] else -1
        if bad >= 0:
            row, col = divmod(bad, d_maxes.shape[1])
            raise IndexError(
                f"backprop_reduce_max: which[{row}, {col}] = {which32[row, col]} is outside "
                f"its sequence of length {lengths64[row]}"
            )
        return out

    def reduce_first(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_first(X, lengths)
        cdef index_t total = 0
        # Exact, as in the reference Ops: the boundaries it returns end at the last row.
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_first", False, True, &total)
        # int32 as in thinc 8.3, unless the boundaries would not fit it.
        starts_ends = numpy.zeros(lengths64.shape[0] + 1,
                                  dtype=numpy.int32 if total < 2 ** 31 else numpy.int64)
        numpy.cumsum(lengths64, out=starts_ends[1:])
        return X[starts_ends[:-1]], starts_ends

    def reduce_last(self, X, lengths):
        if not (is_real_array(X) and X.ndim == 2):
            return super().reduce_last(X, lengths)
        lengths64 = checked_lengths(lengths, X.shape[0], "reduce_last", False, True, NULL)
        lasts = numpy.cumsum(lengths64) - 1
        return X[lasts], lasts

    # -- window and piece ops ----------------------------------------------------

    @cython.annotation_typing(False)  # the int hint must not truncate nW=1.5 to 1
    def seq2col(self, seq, nW: int, *, lengths=None):
        if not (is_real_array(seq) and seq.ndim == 2):
            return super().seq2col(seq, nW, lengths=lengths)
        nW = _check_window(nW, "seq2col")
        lengths64 = _sequence_lengths(lengths, seq.shape[0], "seq2col")
        out = numpy.empty((seq.shape[0], (2 * nW + 1) * seq.shape[1]), dtype=seq.dtype)
        # An empty output needs no pass; the kernel would still step through every window.
        if out.size:
            _seq2col(contiguous(seq), out, lengths64, nW)
        return out

    @cython.annotation_typing(False)
    def backprop_seq2col(self, dY, nW: int, *, lengths=None):
        if not (is_real_array(dY) and dY.ndim == 2):
            return super().backprop_seq2col(dY, nW, lengths=lengths)
        nW = _check_window(nW, "backprop_seq2col")
        if dY.shape[1] % (2 * nW + 1) != 0:
            raise ValueError(
                f"backprop_seq2col: dY has {dY.shape[1]} columns, not a multiple of "
                f"2 * nW + 1 = {2 * nW + 1}"
            )
        lengths64 = _sequence_lengths(lengths, dY.shape[0], "backprop_seq2col")
        out = numpy.empty((dY.shape[0], dY.shape[1] // (2 * nW + 1)), dtype=dY.dtype)
        if out.size:
            _backprop_seq2col(contiguous(dY), out, lengths64, nW)
        return out

    def maxout(self, X):
        if not (is_real_array(X) and X.ndim == 3):
            return super().maxout(X)
        if X.shape[2] == 0:
            raise ValueError(f"maxout needs at least one piece, got X.shape={X.shape}")
        out = numpy.empty(X.shape[:2], dtype=X.dtype)
        which = numpy.empty(X.shape[:2], dtype=numpy.int32)
        _maxout(contiguous(X), out, which)
        return out, which

    @cython.annotation_typing(False)
    def backprop_maxout(self, dY, which, P: int):
        if not (is_real_array(dY) and dY.ndim == 2):
            return super().backprop_maxout(dY, which, P)
        P = _whole_number(P, "backprop_maxout: P")
        if P <= 0:
            raise ValueError(f"backprop_maxout: P must be positive, got {P}")
        which32 = _int32_like(which, dY.shape, "backprop_maxout", "which")
        out = numpy.empty(dY.shape + (P,), dtype=dY.dtype)
        bad = _backprop_maxout(contiguous(dY), which32, out, P)
        if bad >= 0:
            raise IndexError(
                f"backprop_maxout: which.flat[{bad}] = {which32.flat[bad]} is out of bounds "
                f"for {P} pieces"
            )
        return out

    # -- table access --------------------------------------------------------------

    def gather_add(self, table, indices):
        if not (is_real_array(table) and table.ndim == 2 and isinstance(indices, numpy.ndarray)
                and indices.ndim == 2 and indices.dtype.kind in "iu"):
            return super().gather_add(table, indices)
        index_array = _index_array(indices)
        out = numpy.empty((indices.shape[0], table.shape[1]), dtype=table.dtype)
        bad = _gather_add(contiguous(table), index_array, out)
        if bad >= 0:
            raise IndexError(
                f"gather_add: index {index_array.flat[bad]} is out of bounds for a table "
                f"of {table.shape[0]} rows"
            )
        return out

    def scatter_add(self, table, indices, values):
        if not (is_real_array(table) and table.ndim in (1, 2) and is_writeable_contiguous(table)
                and isinstance(indices, numpy.ndarray) and indices.ndim >= 1
                and indices.dtype.kind in "iu" and isinstance(values, numpy.ndarray)
                and values.dtype == table.dtype
                and values.shape == indices.shape + table.shape[1:]):
            return super().scatter_add(table, indices, values)
        # Indices of any shape (HashEmbed's (N, 4) keys) are one flat list of
        # rows, each with its own row of values: the same kernel, no add.at.
        index_array = _index_array(indices.reshape(-1))
        flat_values = contiguous(values).reshape((index_array.shape[0],) + table.shape[1:])
        bad = _scatter_add(table, index_array, flat_values)
        if bad >= 0:
            raise IndexError(
                f"scatter_add: index {index_array[bad]} is out of bounds for a table "
                f"of {table.shape[0]} rows (rows before it were already added)"
            )
        return table

    def hash(self, ids, seed: int):
        """MurmurHash3 (x64, 128-bit) of each id's 8 bytes: four uint32 keys a row."""
        ids_array = numpy.asarray(ids)
        if ids_array.dtype.kind not in "iu":
            raise ValueError(f"hash expects integer ids, got dtype {ids_array.dtype}")
        if ids_array.ndim != 1:
            raise ValueError(f"hash expects 1-dimensional ids, got shape {ids_array.shape}")
        if not 0 <= int(seed) < 2 ** 32:
            raise ValueError(f"hash seed must fit in 32 unsigned bits, got {seed}")
        keys = numpy.ascontiguousarray(ids_array, dtype=numpy.uint64)
        out = numpy.empty((keys.shape[0], 4), dtype=numpy.uint32)
        _hash(keys, out, int(seed))
        return out

    # -- LSTM ----------------------------------------------------------------------

    def lstm_forward_training(self, params, H0, C0, X, size_at_t):
        """Time-major packed LSTM (any depth, one or two directions); returns Y and
        the state backprop_lstm reads: (Ys, gates, cells, X, H0, C0)."""
        if not _lstm_compiled(params, H0, C0, X):
            return super().lstm_forward_training(params, H0, C0, X, size_at_t)
        return _lstm_forward(params, H0, C0, X, size_at_t)

    def lstm_forward_inference(self, params, H0, C0, X, size_at_t):
        if not _lstm_compiled(params, H0, C0, X):
            return super().lstm_forward_inference(params, H0, C0, X, size_at_t)
        return _lstm_forward(params, H0, C0, X, size_at_t)[0]

    def backprop_lstm(self, dY, lengths, params, fwd_state):
        if not (isinstance(fwd_state, tuple) and len(fwd_state) == 6
                and _lstm_compiled(params, fwd_state[4], fwd_state[5], fwd_state[3])
                and isinstance(dY, numpy.ndarray) and dY.dtype == numpy.float32):
            return super().backprop_lstm(dY, lengths, params, fwd_state)
        return _lstm_backward(dY, lengths, params, fwd_state)

    # -- optimizer steps -----------------------------------------------------------

    def adam(self, weights, gradient, mom1, mom2, beta1: float, beta2: float, eps: float,
             learn_rate: float, mod_rate: float = 1.0):
        arrays = (weights, gradient, mom1, mom2)
        if not (is_real_array(weights)
                and all(same_layout(weights, a) for a in arrays[1:])
                and is_writeable_contiguous(weights) and is_writeable_contiguous(mom1)
                and is_writeable_contiguous(mom2)):
            result = super().adam(weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate,
                                  mod_rate)
        else:
            _adam(weights, contiguous(gradient), mom1, mom2, beta1, beta2, eps, learn_rate,
                  mod_rate)
            result = (weights, gradient, mom1, mom2)
        # thinc 8.3's NumpyOps hands the gradient back consumed (zeroed), unlike Ops.
        if is_real_array(gradient) and gradient.flags.writeable:
            gradient.fill(0)
        return result

    def clip_gradient(self, gradient, threshold: float):
        _check_clip_threshold(threshold)
        if not (is_real_array(gradient) and is_writeable_contiguous(gradient)):
            return super().clip_gradient(gradient, threshold)
        _clip_gradient(gradient, threshold)
        return gradient

    @cython.annotation_typing(False)
    def update_averages(self, ema, weights, t: int, max_decay: float = 0.9999) -> None:
        if not (is_real_array(ema) and same_layout(ema, weights) and is_writeable_contiguous(ema)):
            return super().update_averages(ema, weights, t, max_decay=max_decay)
        decay = _average_decay(t, max_decay)
        _update_averages(ema, contiguous(weights), decay)

    # -- fused layer kernels (tagger) ----------------------------------------------
    # Private whole-layer steps for LayerNorm and Maxout (reference semantics in
    # ops.py); these run each step in one compiled sweep without full-size temporaries.

    def _layer_norm_forward(self, X, G, b, epsilon: float = 1e-08):
        _check_layer_norm_inputs(X, G, b)
        if not _all_real_like(X, G, b):
            return super()._layer_norm_forward(X, G, b, epsilon)
        Y = numpy.empty(X.shape, dtype=X.dtype)
        mean = numpy.empty(X.shape[0], dtype=X.dtype)
        inverse_std = numpy.empty(X.shape[0], dtype=X.dtype)
        _layer_norm_forward_rows(contiguous(X), contiguous(G), contiguous(b), Y, mean,
                                 inverse_std, epsilon)
        return Y, (mean, inverse_std)

    def _layer_norm_backward(self, dY, X, G, mean, inverse_std):
        _check_layer_norm_gradient(dY, X, G, mean, inverse_std)
        if not _all_real_like(X, dY, G, mean, inverse_std):
            return super()._layer_norm_backward(dY, X, G, mean, inverse_std)
        dX = numpy.empty(X.shape, dtype=X.dtype)
        dG = numpy.zeros(X.shape[1], dtype=X.dtype)
        db = numpy.zeros(X.shape[1], dtype=X.dtype)
        _layer_norm_backward_rows(contiguous(dY), contiguous(X), contiguous(G), contiguous(mean),
                                  contiguous(inverse_std), dX, dG, db)
        return dX, dG, db

    def _maxout_forward(self, X, W, b, *, keep_which: bool = True):
        _check_maxout_inputs(X, W, b)
        # Empty operands would hand the BLAS zero leading dimensions.
        if not (self.use_blis and _all_real_like(X, W, b) and X.size and W.size):
            return super()._maxout_forward(X, W, b, keep_which=keep_which)
        best = numpy.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
        which = numpy.empty(best.shape, dtype=numpy.int32) if keep_which else None
        _maxout_forward_blocks(contiguous(X), contiguous(W), contiguous(b), best, which)
        return best, which

    def _maxout_piece_gradients(self, d_best, which, nP: int):
        if not (is_real_array(d_best) and d_best.ndim == 2 and isinstance(which, numpy.ndarray)
                and which.dtype == numpy.int32 and which.shape == d_best.shape):
            return super()._maxout_piece_gradients(d_best, which, nP)
        rows, nO = d_best.shape
        d_pieces = numpy.empty((rows, nO * nP), dtype=d_best.dtype)
        db = numpy.zeros((nO, nP), dtype=d_best.dtype)
        bad = _maxout_backward_pieces(contiguous(d_best), contiguous(which), d_pieces, db)
        if bad >= 0:
            raise IndexError(
                f"maxout backward: which.flat[{bad}] = {which.flat[bad]} is out of bounds "
                f"for {nP} pieces"
            )
        return d_pieces, db


# ---------------------------------------------------------------------------
# Checks shared by several ops.

def _check_window(nW, op_name: str) -> int:
    try:
        return _ops_check_window(nW)
    except ValueError as error:
        raise ValueError(f"{op_name}: {error}") from None


def _sequence_lengths(lengths, n_rows: int, op_name: str):
    if lengths is None:
        return numpy.asarray([n_rows], dtype=numpy.int64)
    return check_lengths(lengths, n_rows, op_name, allow_short=False)


cdef cnp.ndarray checked_reduction_gradient(d_out, lengths, str op_name, index_t* total):
    cdef cnp.ndarray lengths64 = checked_lengths(lengths, MAX_GRADIENT_ROWS, op_name, True, False,
                                                 total)
    if lengths64.shape[0] != d_out.shape[0]:
        raise ValueError(
            f"{op_name}: got {lengths64.shape[0]} lengths for {d_out.shape[0]} gradient rows"
        )
    return lengths64


def _int32_like(which, shape, op_name: str, name: str):
    if not isinstance(which, numpy.ndarray) or which.dtype.kind not in "iu":
        raise ValueError(f"{op_name}: '{name}' must be an integer array")
    if which.shape != shape:
        raise ValueError(f"{op_name}: '{name}' has shape {which.shape}, expected {shape}")
    if which.dtype == numpy.int32:
        return contiguous(which)
    if which.size and (which.max() > 2 ** 31 - 1 or which.min() < -(2 ** 31)):
        raise IndexError(f"{op_name}: '{name}' holds values outside the int32 range")
    return numpy.ascontiguousarray(which, dtype=numpy.int32)


def _index_array(indices):
    # int32 and int64 are read directly; other integer types are widened.
    if indices.dtype == numpy.int32 or indices.dtype == numpy.int64:
        return contiguous(indices)
    if indices.dtype == numpy.uint64 and indices.size and indices.max() > 2 ** 62:
        raise IndexError(f"index {indices.max()} is out of bounds")
    return numpy.ascontiguousarray(indices, dtype=numpy.int64)


# ---------------------------------------------------------------------------
# Typed entry points: each takes checked contiguous arrays and runs one kernel.

def _gemm_dims(x, y, bint trans1, bint trans2):
    """(M, N, K) of op(x) @ op(y), after checking both operands and their shapes."""
    _check_gemm_operand(x, "x")
    _check_gemm_operand(y, "y")
    if x.dtype != y.dtype or x.dtype not in (numpy.float32, numpy.float64):
        raise ValueError(
            f"gemm expects two float32 or two float64 arrays, but got "
            f"x.dtype={x.dtype} and y.dtype={y.dtype}"
        )
    M, K = (x.shape[1], x.shape[0]) if trans1 else (x.shape[0], x.shape[1])
    K2, N = (y.shape[1], y.shape[0]) if trans2 else (y.shape[0], y.shape[1])
    if K != K2:
        raise ValueError(
            f"gemm shape mismatch: op(x) is {(M, K)} but op(y) is {(K2, N)} "
            f"(x.shape={x.shape}, y.shape={y.shape}, trans1={trans1}, trans2={trans2})"
        )
    return M, N, K


def _affine(cnp.ndarray X, cnp.ndarray W, cnp.ndarray b, cnp.ndarray Y,
            Py_ssize_t M, Py_ssize_t N, Py_ssize_t K):
    cdef Py_ssize_t ldx = X.shape[1], ldw = W.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            affine_f32(False, True, M, N, K, <const float*>cnp.PyArray_DATA(X), ldx,
                       <const float*>cnp.PyArray_DATA(W), ldw, <const float*>cnp.PyArray_DATA(b),
                       <float*>cnp.PyArray_DATA(Y), N)
    else:
        with nogil:
            affine_f64(False, True, M, N, K, <const double*>cnp.PyArray_DATA(X), ldx,
                       <const double*>cnp.PyArray_DATA(W), ldw, <const double*>cnp.PyArray_DATA(b),
                       <double*>cnp.PyArray_DATA(Y), N)


def _gemm(cnp.ndarray x, cnp.ndarray y, cnp.ndarray out, bint trans1, bint trans2,
          Py_ssize_t M, Py_ssize_t N, Py_ssize_t K):
    cdef Py_ssize_t lda = x.shape[1], ldb = y.shape[1]
    if x.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            gemm_f32(trans1, trans2, M, N, K, 1.0, <const float*>cnp.PyArray_DATA(x), lda,
                     <const float*>cnp.PyArray_DATA(y), ldb, 0.0, <float*>cnp.PyArray_DATA(out), N)
    else:
        with nogil:
            gemm_f64(trans1, trans2, M, N, K, 1.0, <const double*>cnp.PyArray_DATA(x), lda,
                     <const double*>cnp.PyArray_DATA(y), ldb, 0.0, <double*>cnp.PyArray_DATA(out), N)


def _swish_backward(cnp.ndarray dY, cnp.ndarray X, cnp.ndarray Y, cnp.ndarray dX):
    cdef index_t n = dY.size
    if dY.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            swish_backward(<const float*>cnp.PyArray_DATA(dY), <const float*>cnp.PyArray_DATA(X), <const float*>cnp.PyArray_DATA(Y),
                           <float*>cnp.PyArray_DATA(dX), n)
    else:
        with nogil:
            swish_backward(<const double*>cnp.PyArray_DATA(dY), <const double*>cnp.PyArray_DATA(X),
                           <const double*>cnp.PyArray_DATA(Y), <double*>cnp.PyArray_DATA(dX), n)


def _softmax_rows(cnp.ndarray X, cnp.ndarray Y, index_t n_col, double inverse_temperature):
    cdef index_t n_row = X.size // n_col
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            softmax_rows(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(Y), n_row, n_col,
                         <float>inverse_temperature)
    else:
        with nogil:
            softmax_rows(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(Y), n_row, n_col, inverse_temperature)


def _backprop_softmax_rows(cnp.ndarray Y, cnp.ndarray dY, cnp.ndarray dX, index_t n_col,
                           double inverse_temperature):
    cdef index_t n_row = Y.size // n_col
    if Y.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            backprop_softmax_rows(<const float*>cnp.PyArray_DATA(Y), <const float*>cnp.PyArray_DATA(dY), <float*>cnp.PyArray_DATA(dX),
                                  n_row, n_col, <float>inverse_temperature)
    else:
        with nogil:
            backprop_softmax_rows(<const double*>cnp.PyArray_DATA(Y), <const double*>cnp.PyArray_DATA(dY),
                                  <double*>cnp.PyArray_DATA(dX), n_row, n_col, inverse_temperature)


def _softmax_sequences(cnp.ndarray X, cnp.ndarray Y, cnp.ndarray lengths):
    cdef index_t n_seq = lengths.shape[0], n_col = X.shape[1]
    cdef cnp.ndarray work = numpy.empty(2 * n_col + 1, dtype=X.dtype)
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            softmax_sequences(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(Y), <const index_t*>cnp.PyArray_DATA(lengths),
                              n_seq, n_col, <float*>cnp.PyArray_DATA(work))
    else:
        with nogil:
            softmax_sequences(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(Y),
                              <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col, <double*>cnp.PyArray_DATA(work))


def _backprop_softmax_sequences(cnp.ndarray dY, cnp.ndarray Y, cnp.ndarray dX, cnp.ndarray lengths):
    cdef index_t n_seq = lengths.shape[0], n_col = Y.shape[1]
    cdef cnp.ndarray work = numpy.empty(n_col + 1, dtype=Y.dtype)
    if Y.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            backprop_softmax_sequences(<const float*>cnp.PyArray_DATA(dY), <const float*>cnp.PyArray_DATA(Y),
                                       <float*>cnp.PyArray_DATA(dX), <const index_t*>cnp.PyArray_DATA(lengths), n_seq,
                                       n_col, <float*>cnp.PyArray_DATA(work))
    else:
        with nogil:
            backprop_softmax_sequences(<const double*>cnp.PyArray_DATA(dY), <const double*>cnp.PyArray_DATA(Y),
                                       <double*>cnp.PyArray_DATA(dX), <const index_t*>cnp.PyArray_DATA(lengths), n_seq,
                                       n_col, <double*>cnp.PyArray_DATA(work))


def _reduce_sum(cnp.ndarray X, cnp.ndarray out, cnp.ndarray lengths, bint mean):
    cdef index_t n_seq = lengths.shape[0], n_col = X.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            reduce_sum(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(out), <const index_t*>cnp.PyArray_DATA(lengths),
                       n_seq, n_col, mean)
    else:
        with nogil:
            reduce_sum(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(out), <const index_t*>cnp.PyArray_DATA(lengths),
                       n_seq, n_col, mean)


def _backprop_reduce_sum(cnp.ndarray d_out, cnp.ndarray dX, cnp.ndarray lengths, bint mean):
    cdef index_t n_seq = lengths.shape[0], n_col = d_out.shape[1]
    if d_out.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            backprop_reduce_sum(<const float*>cnp.PyArray_DATA(d_out), <float*>cnp.PyArray_DATA(dX),
                                <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col, mean)
    else:
        with nogil:
            backprop_reduce_sum(<const double*>cnp.PyArray_DATA(d_out), <double*>cnp.PyArray_DATA(dX),
                                <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col, mean)


def _reduce_max(cnp.ndarray X, cnp.ndarray out, cnp.ndarray which, cnp.ndarray lengths):
    cdef index_t n_seq = lengths.shape[0], n_col = X.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            reduce_max(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(out), <int32_t*>cnp.PyArray_DATA(which),
                       <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col)
    else:
        with nogil:
            reduce_max(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(out), <int32_t*>cnp.PyArray_DATA(which),
                       <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col)


def _backprop_reduce_max(cnp.ndarray d_out, cnp.ndarray which, cnp.ndarray dX, cnp.ndarray lengths):
    cdef index_t n_seq = lengths.shape[0], n_col = d_out.shape[1], bad
    if d_out.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            bad = backprop_reduce_max(<const float*>cnp.PyArray_DATA(d_out), <const int32_t*>cnp.PyArray_DATA(which),
                                      <float*>cnp.PyArray_DATA(dX), <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col)
    else:
        with nogil:
            bad = backprop_reduce_max(<const double*>cnp.PyArray_DATA(d_out), <const int32_t*>cnp.PyArray_DATA(which),
                                      <double*>cnp.PyArray_DATA(dX), <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col)
    return bad


def _seq2col(cnp.ndarray X, cnp.ndarray out, cnp.ndarray lengths, index_t nW):
    cdef index_t n_seq = lengths.shape[0], n_col = X.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            seq2col(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(out), <const index_t*>cnp.PyArray_DATA(lengths),
                    n_seq, n_col, nW)
    else:
        with nogil:
            seq2col(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(out), <const index_t*>cnp.PyArray_DATA(lengths),
                    n_seq, n_col, nW)


def _backprop_seq2col(cnp.ndarray dY, cnp.ndarray dX, cnp.ndarray lengths, index_t nW):
    cdef index_t n_seq = lengths.shape[0], n_col = dX.shape[1]
    if dY.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            backprop_seq2col(<const float*>cnp.PyArray_DATA(dY), <float*>cnp.PyArray_DATA(dX), <const index_t*>cnp.PyArray_DATA(lengths),
                             n_seq, n_col, nW)
    else:
        with nogil:
            backprop_seq2col(<const double*>cnp.PyArray_DATA(dY), <double*>cnp.PyArray_DATA(dX),
                             <const index_t*>cnp.PyArray_DATA(lengths), n_seq, n_col, nW)


def _maxout(cnp.ndarray X, cnp.ndarray out, cnp.ndarray which):
    cdef index_t n = X.shape[0] * X.shape[1], P = X.shape[2]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            maxout(<const float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(out), <int32_t*>cnp.PyArray_DATA(which), n, P)
    else:
        with nogil:
            maxout(<const double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(out), <int32_t*>cnp.PyArray_DATA(which), n, P)


def _backprop_maxout(cnp.ndarray dY, cnp.ndarray which, cnp.ndarray dX, index_t P):
    cdef index_t n = dY.size, bad
    if dY.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            bad = backprop_maxout(<const float*>cnp.PyArray_DATA(dY), <const int32_t*>cnp.PyArray_DATA(which),
                                  <float*>cnp.PyArray_DATA(dX), n, P)
    else:
        with nogil:
            bad = backprop_maxout(<const double*>cnp.PyArray_DATA(dY), <const int32_t*>cnp.PyArray_DATA(which),
                                  <double*>cnp.PyArray_DATA(dX), n, P)
    return bad


def _gather_add(cnp.ndarray table, cnp.ndarray indices, cnp.ndarray out):
    cdef index_t n_row = table.shape[0], n_col = table.shape[1]
    cdef index_t n_out = indices.shape[0], n_per = indices.shape[1], bad = -1
    cdef bint wide = indices.descr.type_num == cnp.NPY_INT64
    if table.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            if wide:
                bad = gather_add(<const float*>cnp.PyArray_DATA(table), <const int64_t*>cnp.PyArray_DATA(indices),
                                 <float*>cnp.PyArray_DATA(out), n_row, n_col, n_out, n_per)
            else:
                bad = gather_add(<const float*>cnp.PyArray_DATA(table), <const int32_t*>cnp.PyArray_DATA(indices),
                                 <float*>cnp.PyArray_DATA(out), n_row, n_col, n_out, n_per)
    else:
        with nogil:
            if wide:
                bad = gather_add(<const double*>cnp.PyArray_DATA(table), <const int64_t*>cnp.PyArray_DATA(indices),
                                 <double*>cnp.PyArray_DATA(out), n_row, n_col, n_out, n_per)
            else:
                bad = gather_add(<const double*>cnp.PyArray_DATA(table), <const int32_t*>cnp.PyArray_DATA(indices),
                                 <double*>cnp.PyArray_DATA(out), n_row, n_col, n_out, n_per)
    return bad


def _scatter_add(cnp.ndarray table, cnp.ndarray indices, cnp.ndarray values):
    cdef index_t n_row = table.shape[0]
    cdef index_t n_col = table.shape[1] if table.ndim == 2 else 1
    cdef index_t n_index = indices.shape[0], bad = -1
    cdef bint wide = indices.descr.type_num == cnp.NPY_INT64
    if table.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            if wide:
                bad = scatter_add(<float*>cnp.PyArray_DATA(table), <const int64_t*>cnp.PyArray_DATA(indices),
                                  <const float*>cnp.PyArray_DATA(values), n_row, n_col, n_index)
            else:
                bad = scatter_add(<float*>cnp.PyArray_DATA(table), <const int32_t*>cnp.PyArray_DATA(indices),
                                  <const float*>cnp.PyArray_DATA(values), n_row, n_col, n_index)
    else:
        with nogil:
            if wide:
                bad = scatter_add(<double*>cnp.PyArray_DATA(table), <const int64_t*>cnp.PyArray_DATA(indices),
                                  <const double*>cnp.PyArray_DATA(values), n_row, n_col, n_index)
            else:
                bad = scatter_add(<double*>cnp.PyArray_DATA(table), <const int32_t*>cnp.PyArray_DATA(indices),
                                  <const double*>cnp.PyArray_DATA(values), n_row, n_col, n_index)
    return bad


def _hash(const uint64_t[::1] ids, uint32_t[:, ::1] out, uint32_t seed):
    cdef index_t n = ids.shape[0]
    if n == 0:
        return
    with nogil:
        hash_ids(<hash128_function>hash128_x64, &ids[0], n, seed, &out[0, 0])


def _adam(cnp.ndarray weights, cnp.ndarray gradient, cnp.ndarray mom1, cnp.ndarray mom2,
          double beta1, double beta2, double eps, double learn_rate, double mod_rate):
    cdef index_t n = weights.size
    if weights.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            adam(<float*>cnp.PyArray_DATA(weights), <const float*>cnp.PyArray_DATA(gradient), <float*>cnp.PyArray_DATA(mom1),
                 <float*>cnp.PyArray_DATA(mom2), n, beta1, beta2, eps, learn_rate, mod_rate)
    else:
        with nogil:
            adam(<double*>cnp.PyArray_DATA(weights), <const double*>cnp.PyArray_DATA(gradient), <double*>cnp.PyArray_DATA(mom1),
                 <double*>cnp.PyArray_DATA(mom2), n, beta1, beta2, eps, learn_rate, mod_rate)


def _clip_gradient(cnp.ndarray gradient, double threshold):
    cdef index_t n = gradient.size
    cdef double norm
    cdef bint single = gradient.descr.type_num == cnp.NPY_FLOAT32
    with nogil:
        norm = sum_of_squares(<const float*>cnp.PyArray_DATA(gradient), n) if single else \
            sum_of_squares(<const double*>cnp.PyArray_DATA(gradient), n)
    norm = norm ** 0.5
    if norm <= threshold:
        return
    with nogil:
        if single:
            scale_inplace(<float*>cnp.PyArray_DATA(gradient), n, <float>(threshold / norm))
        else:
            scale_inplace(<double*>cnp.PyArray_DATA(gradient), n, threshold / norm)


def _update_averages(cnp.ndarray ema, cnp.ndarray weights, double decay):
    cdef index_t n = ema.size
    if ema.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            update_averages(<float*>cnp.PyArray_DATA(ema), <const float*>cnp.PyArray_DATA(weights), n, decay)
    else:
        with nogil:
            update_averages(<double*>cnp.PyArray_DATA(ema), <const double*>cnp.PyArray_DATA(weights), n, decay)


# ---------------------------------------------------------------------------
# LSTM. Params per layer and direction: Wx (4nO, nI), bx (4nO), Wh (4nO, nO),
# bh (4nO); gate blocks are forget, input, output, candidate. As in thinc 8.3,
# H0 seeds the cell state and C0 the hidden state.

def _lstm_compiled(params, H0, C0, X) -> bool:
    return all(isinstance(a, numpy.ndarray) and a.dtype == numpy.float32 for a in (params, H0, C0, X))


def _lstm_check(params, H0, C0, X, size_at_t):
    if H0.ndim != 3 or H0.shape != C0.shape:
        raise ValueError(
            f"LSTM initial states must both be (depth, dirs, nO), got {H0.shape} and {C0.shape}"
        )
    if X.ndim != 2:
        raise ValueError(f"LSTM input must be 2d (rows, nI), got shape {X.shape}")
    depth, dirs, nO = H0.shape
    if dirs not in (1, 2):
        raise ValueError(f"LSTM supports 1 or 2 directions, got {dirs}")
    expected, layer_input = 0, X.shape[1]
    for _ in range(depth):
        expected += dirs * (4 * nO * layer_input + 8 * nO + 4 * nO * nO)
        layer_input = nO * dirs
    if params.ndim != 1 or params.shape[0] != expected:
        raise ValueError(
            f"LSTM params have shape {params.shape}, expected ({expected},) for depth={depth}, "
            f"dirs={dirs}, nO={nO}, nI={X.shape[1]}"
        )
    sizes = check_lengths(size_at_t, X.shape[0], "lstm (size_at_t)", allow_short=False,
                          require_positive=True)
    if sizes.shape[0] > 1 and numpy.any(sizes[1:] > sizes[:-1]):
        raise ValueError(f"size_at_t must not increase over time, got {sizes.tolist()}")
    return depth, dirs, nO, sizes


def _lstm_weights(params, offset: int, nO: int, nI: int):
    pieces = []
    for size in (4 * nO * nI, 4 * nO, 4 * nO * nO, 4 * nO):
        pieces.append(params[offset:offset + size])
        offset += size
    Wx = numpy.ascontiguousarray(pieces[0].reshape(4 * nO, nI))
    Wh = numpy.ascontiguousarray(pieces[2].reshape(4 * nO, nO))
    return Wx, pieces[1] + pieces[3], Wh, offset


def _reversed_rows(sizes):
    """Row order that reverses each sequence of a time-major packed batch (an involution)."""
    if sizes.shape[0] == 0:
        return numpy.zeros((0,), dtype=numpy.int64)
    starts = numpy.cumsum(sizes) - sizes
    step_of_row = numpy.repeat(numpy.arange(sizes.shape[0]), sizes)
    column_of_row = numpy.arange(int(sizes.sum())) - starts[step_of_row]
    column_lengths = (sizes[None, :] > numpy.arange(sizes[0])[:, None]).sum(axis=1)
    return starts[column_lengths[column_of_row] - 1 - step_of_row] + column_of_row


def _lstm_forward(params, H0, C0, X, size_at_t):
    depth, dirs, nO, sizes = _lstm_check(params, H0, C0, X, size_at_t)
    params = contiguous(params)
    n_rows = X.shape[0]
    reverse = _reversed_rows(sizes)
    all_Y = numpy.zeros((depth, dirs, n_rows, nO), dtype=numpy.float32)
    all_gates = numpy.zeros((depth, dirs, n_rows, 4 * nO), dtype=numpy.float32)
    all_cells = numpy.zeros((depth, dirs, n_rows, nO), dtype=numpy.float32)
    layer_input = contiguous(X)
    offset = 0
    for layer in range(depth):
        for direction in range(dirs):
            Wx, bias, Wh, offset = _lstm_weights(params, offset, nO, layer_input.shape[1])
            ordered = layer_input if direction == 0 else layer_input[reverse]
            Y, gates, cells = _lstm_direction_forward(
                Wx, bias, Wh, H0[layer, direction], C0[layer, direction], ordered, sizes
            )
            if direction == 0:
                all_Y[layer, 0], all_gates[layer, 0], all_cells[layer, 0] = Y, gates, cells
            else:
                all_Y[layer, 1, reverse] = Y
                all_gates[layer, 1, reverse] = gates
                all_cells[layer, 1, reverse] = cells
        if dirs == 1:
            layer_input = all_Y[layer, 0]
        else:
            layer_input = numpy.concatenate([all_Y[layer, 0], all_Y[layer, 1]], axis=1)
    return numpy.ascontiguousarray(layer_input), (all_Y, all_gates, all_cells, X, H0, C0)


def _lstm_backward(dY, lengths, params, fwd_state):
    all_Y, all_gates, all_cells, X, H0, C0 = fwd_state
    depth, dirs, nO, sizes = _lstm_check(params, H0, C0, X, lengths)
    n_rows = X.shape[0]
    if dY.shape != (n_rows, dirs * nO):
        raise ValueError(f"backprop_lstm: dY has shape {dY.shape}, expected {(n_rows, dirs * nO)}")
    params = contiguous(params)
    reverse = _reversed_rows(sizes)
    layer_inputs = [contiguous(X)]
    for layer in range(depth - 1):
        layer_inputs.append(numpy.concatenate([all_Y[layer, d] for d in range(dirs)], axis=1))
    weights, offset = [], 0
    for layer in range(depth):
        for _ in range(dirs):
            Wx, bias, Wh, next_offset = _lstm_weights(params, offset, nO, layer_inputs[layer].shape[1])
            weights.append((offset, Wx, Wh))
            offset = next_offset
    d_params = numpy.zeros_like(params)
    d_output = dY
    for layer in range(depth - 1, -1, -1):
        layer_input = layer_inputs[layer]
        d_input = numpy.zeros_like(layer_input)
        for direction in range(dirs):
            start, Wx, Wh = weights[layer * dirs + direction]
            order = slice(None) if direction == 0 else reverse
            dX, dWx, d_bias, dWh = _lstm_direction_backward(
                Wx, Wh, H0[layer, direction], C0[layer, direction], layer_input[order],
                all_Y[layer, direction][order], all_gates[layer, direction][order],
                all_cells[layer, direction][order],
                d_output[:, direction * nO:(direction + 1) * nO][order], sizes,
            )
            d_input[order] += dX
            # bx and bh enter the forward pass summed, so both get d_bias.
            for grad in (dWx, d_bias, dWh, d_bias):
                d_params[start:start + grad.size] = grad.reshape(-1)
                start += grad.size
        d_output = d_input
    return d_output, d_params


def _lstm_direction_forward(cnp.ndarray Wx, cnp.ndarray bias, cnp.ndarray Wh, cell0, hidden0,
                            X, cnp.ndarray sizes):
    cdef cnp.ndarray x = contiguous(X)
    cdef index_t n_rows = x.shape[0], nI = x.shape[1], nO = Wh.shape[1]
    cdef index_t n_steps = sizes.shape[0]
    cdef index_t width = sizes[0] if n_steps else 0
    cdef cnp.ndarray act = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray Y = numpy.empty((n_rows, nO), dtype=numpy.float32)
    cdef cnp.ndarray cells = numpy.empty((n_rows, nO), dtype=numpy.float32)
    cdef cnp.ndarray gates = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray start_cell = numpy.ascontiguousarray(numpy.broadcast_to(cell0, (width, nO)), dtype=numpy.float32)
    cdef cnp.ndarray start_hidden = numpy.ascontiguousarray(numpy.broadcast_to(hidden0, (width, nO)), dtype=numpy.float32)
    cdef cnp.ndarray bias32 = numpy.ascontiguousarray(bias, dtype=numpy.float32)
    cdef const int64_t* size_of = <const int64_t*>cnp.PyArray_DATA(sizes)
    cdef const float* wx = <const float*>cnp.PyArray_DATA(Wx)
    cdef const float* wh = <const float*>cnp.PyArray_DATA(Wh)
    cdef const float* xs = <const float*>cnp.PyArray_DATA(x)
    cdef const float* b = <const float*>cnp.PyArray_DATA(bias32)
    cdef float* a = <float*>cnp.PyArray_DATA(act)
    cdef float* y = <float*>cnp.PyArray_DATA(Y)
    cdef float* c = <float*>cnp.PyArray_DATA(cells)
    cdef float* g = <float*>cnp.PyArray_DATA(gates)
    cdef const float* hidden_prev = <const float*>cnp.PyArray_DATA(start_hidden)
    cdef const float* cell_prev = <const float*>cnp.PyArray_DATA(start_cell)
    cdef index_t step, size, start = 0
    with nogil:
        # One big product for the inputs, then a small one per step for the recurrence.
        if n_rows and nI:
            gemm_f32(False, True, n_rows, 4 * nO, nI, 1.0, xs, nI, wx, nI, 0.0, a, 4 * nO)
        elif n_rows:
            memset_floats(a, n_rows * 4 * nO)
        for step in range(n_steps):
            size = size_of[step]
            gemm_f32(False, True, size, 4 * nO, nO, 1.0, hidden_prev, nO, wh, nO, 1.0,
                     a + start * 4 * nO, 4 * nO)
            lstm_step_forward(a + start * 4 * nO, b, cell_prev, g + start * 4 * nO,
                              c + start * nO, y + start * nO, size, nO)
            hidden_prev = y + start * nO
            cell_prev = c + start * nO
            start += size
    return Y, gates, cells


def _lstm_direction_backward(cnp.ndarray Wx, cnp.ndarray Wh, cell0, hidden0, X, Y, gates, cells,
                             dY, cnp.ndarray sizes):
    cdef cnp.ndarray x = contiguous(X)
    cdef cnp.ndarray ys = contiguous(Y)
    cdef cnp.ndarray gs = contiguous(gates)
    cdef cnp.ndarray cs = contiguous(cells)
    cdef cnp.ndarray dys = numpy.ascontiguousarray(dY, dtype=numpy.float32)
    cdef index_t n_rows = x.shape[0], nI = x.shape[1], nO = Wh.shape[1]
    cdef index_t n_steps = sizes.shape[0]
    cdef index_t width = sizes[0] if n_steps else 0
    cdef cnp.ndarray d_act = numpy.empty((n_rows, 4 * nO), dtype=numpy.float32)
    cdef cnp.ndarray dWh = numpy.zeros((4 * nO, nO), dtype=numpy.float32)
    cdef cnp.ndarray d_hidden = numpy.zeros((max(width, 1), nO), dtype=numpy.float32)
    cdef cnp.ndarray d_cell = numpy.zeros((max(width, 1), nO), dtype=numpy.float32)
    cdef cnp.ndarray start_cell = numpy.ascontiguousarray(numpy.broadcast_to(cell0, (width, nO)), dtype=numpy.float32)
    cdef cnp.ndarray start_hidden = numpy.ascontiguousarray(numpy.broadcast_to(hidden0, (width, nO)), dtype=numpy.float32)
    cdef cnp.ndarray starts = numpy.zeros(n_steps + 1, dtype=numpy.int64)
    if n_steps:
        numpy.cumsum(sizes, out=starts[1:])
    cdef const int64_t* size_of = <const int64_t*>cnp.PyArray_DATA(sizes)
    cdef const int64_t* start_of = <const int64_t*>cnp.PyArray_DATA(starts)
    cdef const float* wh = <const float*>cnp.PyArray_DATA(Wh)
    cdef const float* y = <const float*>cnp.PyArray_DATA(ys)
    cdef const float* g = <const float*>cnp.PyArray_DATA(gs)
    cdef const float* c = <const float*>cnp.PyArray_DATA(cs)
    cdef const float* dy = <const float*>cnp.PyArray_DATA(dys)
    cdef float* da = <float*>cnp.PyArray_DATA(d_act)
    cdef float* dwh = <float*>cnp.PyArray_DATA(dWh)
    cdef float* dh = <float*>cnp.PyArray_DATA(d_hidden)
    cdef float* dc = <float*>cnp.PyArray_DATA(d_cell)
    cdef const float* hidden_before
    cdef const float* cell_before
    cdef index_t step, size, start, n_next = 0
    with nogil:
        for step in range(n_steps - 1, -1, -1):
            size = size_of[step]
            start = start_of[step]
            if step > 0:
                hidden_before = y + start_of[step - 1] * nO
                cell_before = c + start_of[step - 1] * nO
            else:
                hidden_before = <const float*>cnp.PyArray_DATA(start_hidden)
                cell_before = <const float*>cnp.PyArray_DATA(start_cell)
            lstm_step_backward(dy + start * nO, dh, dc, n_next, g + start * 4 * nO, c + start * nO,
                               cell_before, da + start * 4 * nO, size, nO)
            gemm_f32(True, False, 4 * nO, nO, size, 1.0, da + start * 4 * nO, 4 * nO,
                     hidden_before, nO, 1.0, dwh, nO)
            gemm_f32(False, False, size, nO, 4 * nO, 1.0, da + start * 4 * nO, 4 * nO, wh, nO,
                     0.0, dh, nO)
            n_next = size
    flat = d_act
    dX = flat @ Wx if nI else numpy.zeros((n_rows, 0), dtype=numpy.float32)
    dWx = flat.T @ x
    return dX, dWx, flat.sum(axis=0), dWh


cdef inline void memset_floats(float* target, index_t n) noexcept nogil:
    cdef index_t i
    for i in range(n):
        target[i] = 0


# -- fused layer kernels (tagger) ---------------------------------------------------

cdef extern from "thinc_norm.hh" namespace "thinc_norm" nogil:
    void layer_norm_forward(const float*, const float*, const float*, float*, float*, float*,
                            index_t, index_t, float)
    void layer_norm_forward(const double*, const double*, const double*, double*, double*,
                            double*, index_t, index_t, double)
    void layer_norm_backward(const float*, const float*, const float*, const float*,
                             const float*, float*, float*, float*, index_t, index_t)
    void layer_norm_backward(const double*, const double*, const double*, const double*,
                             const double*, double*, double*, double*, index_t, index_t)
    void maxout_bias(const float*, const float*, float*, int32_t*, index_t, index_t, index_t)
    void maxout_bias(const double*, const double*, double*, int32_t*, index_t, index_t, index_t)
    index_t maxout_backward_pieces(const float*, const int32_t*, float*, float*, index_t, index_t,
                                   index_t)
    index_t maxout_backward_pieces(const double*, const int32_t*, double*, double*, index_t,
                                   index_t, index_t)

from .ops import _check_layer_norm_gradient, _check_layer_norm_inputs, _check_maxout_inputs

# Bytes of gemm output per block of rows: the BLAS repacks W for every block, so
# blocks stay big (smaller ones measured slower), yet far below a batch's pieces.
MAXOUT_BLOCK_BYTES = 1 << 19

ctypedef fused real_t:
    float
    double


def _all_real_like(X, *others) -> bool:
    """X is a float32/float64 numpy array and the others are arrays of its dtype."""
    if not is_real_array(X):
        return False
    for other in others:
        if not (isinstance(other, numpy.ndarray) and other.dtype == X.dtype
                and (<cnp.ndarray>other).descr.byteorder != b'>'):
            return False
    return True


def _layer_norm_forward_rows(cnp.ndarray X, cnp.ndarray G, cnp.ndarray b, cnp.ndarray Y,
                             cnp.ndarray mean, cnp.ndarray inverse_std, double epsilon):
    cdef index_t rows = X.shape[0], cols = X.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            layer_norm_forward(<const float*>cnp.PyArray_DATA(X), <const float*>cnp.PyArray_DATA(G),
                               <const float*>cnp.PyArray_DATA(b), <float*>cnp.PyArray_DATA(Y),
                               <float*>cnp.PyArray_DATA(mean), <float*>cnp.PyArray_DATA(inverse_std),
                               rows, cols, <float>epsilon)
    else:
        with nogil:
            layer_norm_forward(<const double*>cnp.PyArray_DATA(X), <const double*>cnp.PyArray_DATA(G),
                               <const double*>cnp.PyArray_DATA(b), <double*>cnp.PyArray_DATA(Y),
                               <double*>cnp.PyArray_DATA(mean), <double*>cnp.PyArray_DATA(inverse_std),
                               rows, cols, epsilon)


def _layer_norm_backward_rows(cnp.ndarray dY, cnp.ndarray X, cnp.ndarray G, cnp.ndarray mean,
                              cnp.ndarray inverse_std, cnp.ndarray dX, cnp.ndarray dG,
                              cnp.ndarray db):
    cdef index_t rows = X.shape[0], cols = X.shape[1]
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            layer_norm_backward(<const float*>cnp.PyArray_DATA(dY), <const float*>cnp.PyArray_DATA(X),
                                <const float*>cnp.PyArray_DATA(G), <const float*>cnp.PyArray_DATA(mean),
                                <const float*>cnp.PyArray_DATA(inverse_std), <float*>cnp.PyArray_DATA(dX),
                                <float*>cnp.PyArray_DATA(dG), <float*>cnp.PyArray_DATA(db), rows, cols)
    else:
        with nogil:
            layer_norm_backward(<const double*>cnp.PyArray_DATA(dY), <const double*>cnp.PyArray_DATA(X),
                                <const double*>cnp.PyArray_DATA(G), <const double*>cnp.PyArray_DATA(mean),
                                <const double*>cnp.PyArray_DATA(inverse_std), <double*>cnp.PyArray_DATA(dX),
                                <double*>cnp.PyArray_DATA(dG), <double*>cnp.PyArray_DATA(db), rows, cols)


cdef void maxout_blocks(const real_t* X, const real_t* W, const real_t* b, real_t* best,
                        int32_t* which, real_t* pieces, index_t rows, index_t nI, index_t nO,
                        index_t nP, index_t block) noexcept nogil:
    cdef index_t width = nO * nP, start = 0, size
    while start < rows:
        size = min(block, rows - start)
        if real_t is float:
            gemm_f32(False, True, size, width, nI, 1.0, X + start * nI, nI, W, nI, 0.0, pieces, width)
        else:
            gemm_f64(False, True, size, width, nI, 1.0, X + start * nI, nI, W, nI, 0.0, pieces, width)
        maxout_bias(pieces, b, best + start * nO, which + start * nO if which != NULL else NULL,
                    size, nO, nP)
        start += size


def _maxout_forward_blocks(cnp.ndarray X, cnp.ndarray W, cnp.ndarray b, cnp.ndarray best, which):
    """One gemm per block of rows into a block-sized buffer, then bias and max from it,
    so the (rows, nO * nP) pieces never exist in full. which may be None."""
    cdef index_t rows = X.shape[0], nI = X.shape[1], nO = W.shape[0], nP = W.shape[1]
    cdef index_t block = max(1, min(rows, MAXOUT_BLOCK_BYTES // (nO * nP * X.itemsize)))
    cdef cnp.ndarray pieces = numpy.empty((block, nO * nP), dtype=X.dtype)
    cdef int32_t* which_data = NULL
    if which is not None:
        which_data = <int32_t*>cnp.PyArray_DATA(which)
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            maxout_blocks(<const float*>cnp.PyArray_DATA(X), <const float*>cnp.PyArray_DATA(W),
                          <const float*>cnp.PyArray_DATA(b), <float*>cnp.PyArray_DATA(best),
                          which_data, <float*>cnp.PyArray_DATA(pieces), rows, nI, nO, nP, block)
    else:
        with nogil:
            maxout_blocks(<const double*>cnp.PyArray_DATA(X), <const double*>cnp.PyArray_DATA(W),
                          <const double*>cnp.PyArray_DATA(b), <double*>cnp.PyArray_DATA(best),
                          which_data, <double*>cnp.PyArray_DATA(pieces), rows, nI, nO, nP, block)


def _maxout_backward_pieces(cnp.ndarray d_best, cnp.ndarray which, cnp.ndarray d_pieces,
                            cnp.ndarray db):
    cdef index_t rows = d_best.shape[0], nO = db.shape[0], nP = db.shape[1], bad
    if d_best.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            bad = maxout_backward_pieces(<const float*>cnp.PyArray_DATA(d_best),
                                         <const int32_t*>cnp.PyArray_DATA(which),
                                         <float*>cnp.PyArray_DATA(d_pieces),
                                         <float*>cnp.PyArray_DATA(db), rows, nO, nP)
    else:
        with nogil:
            bad = maxout_backward_pieces(<const double*>cnp.PyArray_DATA(d_best),
                                         <const int32_t*>cnp.PyArray_DATA(which),
                                         <double*>cnp.PyArray_DATA(d_pieces),
                                         <double*>cnp.PyArray_DATA(db), rows, nO, nP)
    return bad
