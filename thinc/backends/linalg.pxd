# Small inline vector and matrix helpers over raw weight_t pointers, cimported
# by compiled callers (spaCy's parser); names and signatures are fixed by thinc 8.3.
# cython: infer_types=True
# cython: cdivision=True

cimport cython
from cymem.cymem cimport Pool
from libc.stdint cimport int32_t
from libc.string cimport memcpy, memset

ctypedef float weight_t

cdef extern from "math.h" nogil:
    weight_t exp(weight_t x)
    weight_t sqrt(weight_t x)
    # C's pow, not Cython's **: for a negative base and a fractional power
    # ** raises (complex result), which a noexcept helper can only swallow,
    # leaving the rest of the vector unwritten; C answers NaN.
    float powf(float base, float power)


cdef class Matrix:
    cdef readonly Pool mem
    cdef weight_t* data
    cdef readonly int32_t nr_row
    cdef readonly int32_t nr_col


cdef class Vec:
    @staticmethod
    cdef inline int arg_max(const weight_t* scores, const int n_classes) noexcept nogil:
        # Ties go to the lowest index, except that a two-way tie answers 1
        # (thinc 8.3's behaviour, which trained parsers depend on).
        if n_classes == 2:
            return 0 if scores[0] > scores[1] else 1
        cdef int best = 0
        cdef int index
        for index in range(1, n_classes):
            if scores[index] > scores[best]:
                best = index
        return best

    @staticmethod
    cdef inline weight_t max(const weight_t* x, int32_t nr) noexcept nogil:
        if nr <= 0:
            return 0
        cdef weight_t largest = x[0]
        cdef int32_t index
        for index in range(1, nr):
            if x[index] > largest:
                largest = x[index]
        return largest

    @staticmethod
    cdef inline weight_t sum(const weight_t* vec, int32_t nr) noexcept nogil:
        cdef weight_t total = 0
        cdef int32_t index
        for index in range(nr):
            total += vec[index]
        return total

    @staticmethod
    cdef inline weight_t norm(const weight_t* vec, int32_t nr) noexcept nogil:
        cdef weight_t total = 0
        cdef int32_t index
        for index in range(nr):
            total += vec[index] * vec[index]
        return sqrt(total)

    @staticmethod
    cdef inline void add(weight_t* output, const weight_t* x, weight_t inc,
                         int32_t nr) noexcept nogil:
        memcpy(output, x, sizeof(weight_t) * nr)
        Vec.add_i(output, inc, nr)

    @staticmethod
    cdef inline void add_i(weight_t* vec, weight_t inc, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] += inc

    @staticmethod
    cdef inline void mul(weight_t* output, const weight_t* vec, weight_t scal,
                         int32_t nr) noexcept nogil:
        memcpy(output, vec, sizeof(weight_t) * nr)
        Vec.mul_i(output, scal, nr)

    @staticmethod
    cdef inline void mul_i(weight_t* vec, weight_t scal, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] *= scal

    @staticmethod
    cdef inline void pow(weight_t* output, const weight_t* vec, weight_t scal,
                         int32_t nr) noexcept nogil:
        memcpy(output, vec, sizeof(weight_t) * nr)
        Vec.pow_i(output, scal, nr)

    @staticmethod
    cdef inline void pow_i(weight_t* vec, const weight_t scal, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] = powf(vec[index], scal)

    @staticmethod
    cdef inline void div(weight_t* output, const weight_t* vec, weight_t scal,
                         int32_t nr) noexcept nogil:
        memcpy(output, vec, sizeof(weight_t) * nr)
        Vec.div_i(output, scal, nr)

    @staticmethod
    cdef inline void div_i(weight_t* vec, const weight_t scal, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] /= scal

    @staticmethod
    cdef inline void exp(weight_t* output, const weight_t* vec, int32_t nr) noexcept nogil:
        memcpy(output, vec, sizeof(weight_t) * nr)
        Vec.exp_i(output, nr)

    @staticmethod
    cdef inline void exp_i(weight_t* vec, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] = exp(vec[index])

    @staticmethod
    cdef inline void reciprocal_i(weight_t* vec, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            vec[index] = 1.0 / vec[index]

    @staticmethod
    cdef inline weight_t mean(const weight_t* X, int32_t nr_dim) noexcept nogil:
        return Vec.sum(X, nr_dim) / nr_dim

    @staticmethod
    cdef inline weight_t variance(const weight_t* X, int32_t nr_dim) noexcept nogil:
        # Welford's running update, in double, avoids the cancellation of
        # E[x^2] - E[x]^2 for vectors with a large mean.
        cdef double running_mean = X[0]
        cdef double squares = 0.0
        cdef double delta
        cdef int32_t index
        for index in range(1, nr_dim):
            delta = X[index] - running_mean
            running_mean += delta / (index + 1)
            squares += delta * (X[index] - running_mean)
        return squares / nr_dim


cdef class VecVec:
    @staticmethod
    cdef inline void add(weight_t* output, const weight_t* x, const weight_t* y,
                         weight_t scale, int32_t nr) noexcept nogil:
        memcpy(output, x, sizeof(weight_t) * nr)
        VecVec.add_i(output, y, scale, nr)

    @staticmethod
    cdef inline void add_i(weight_t* x, const weight_t* y, weight_t scale,
                           int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            x[index] += y[index] * scale

    @staticmethod
    cdef inline void batch_add_i(weight_t* x, const weight_t* y, weight_t scale,
                                 int32_t nr, int32_t nr_batch) noexcept nogil:
        # y holds nr_batch consecutive vectors, all added into the one x.
        cdef int32_t batch
        for batch in range(nr_batch):
            VecVec.add_i(x, y + batch * nr, scale, nr)

    @staticmethod
    cdef inline void add_pow(weight_t* output, const weight_t* x, const weight_t* y,
                             weight_t power, int32_t nr) noexcept nogil:
        memcpy(output, x, sizeof(weight_t) * nr)
        VecVec.add_pow_i(output, y, power, nr)

    @staticmethod
    cdef inline void add_pow_i(weight_t* x, const weight_t* y, weight_t power,
                               int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            x[index] += powf(y[index], power)

    @staticmethod
    cdef inline void mul(weight_t* output, const weight_t* x, const weight_t* y,
                         int32_t nr) noexcept nogil:
        memcpy(output, x, sizeof(weight_t) * nr)
        VecVec.mul_i(output, y, nr)

    @staticmethod
    cdef inline void mul_i(weight_t* x, const weight_t* y, int32_t nr) noexcept nogil:
        cdef int32_t index
        for index in range(nr):
            x[index] *= y[index]

    @staticmethod
    cdef inline weight_t dot(const weight_t* x, const weight_t* y, int32_t nr) noexcept nogil:
        cdef weight_t total = 0
        cdef int32_t index
        for index in range(nr):
            total += x[index] * y[index]
        return total

    @staticmethod
    cdef inline int arg_max_if_true(const weight_t* scores, const int* is_valid,
                                    const int n_classes) noexcept nogil:
        # -1 when no class is valid.
        cdef int best = -1
        cdef int index
        for index in range(n_classes):
            if is_valid[index] and (best == -1 or scores[index] > scores[best]):
                best = index
        return best

    @staticmethod
    cdef inline int arg_max_if_zero(const weight_t* scores, const weight_t* costs,
                                    const int n_classes) noexcept nogil:
        # -1 when every class has a cost.
        cdef int best = -1
        cdef int index
        for index in range(n_classes):
            if costs[index] == 0 and (best == -1 or scores[index] > scores[best]):
                best = index
        return best


cdef class Mat:
    @staticmethod
    cdef inline void mean_row(weight_t* Ex, const weight_t* mat, int32_t nr_row,
                              int32_t nr_col) noexcept nogil:
        memset(Ex, 0, sizeof(weight_t) * nr_col)
        cdef int32_t row
        for row in range(nr_row):
            VecVec.add_i(Ex, mat + row * nr_col, 1.0, nr_col)
        Vec.mul_i(Ex, 1.0 / nr_row, nr_col)

    @staticmethod
    cdef inline void var_row(weight_t* Vx, const weight_t* mat, const weight_t* Ex,
                             int32_t nr_row, int32_t nr_col, weight_t eps) noexcept nogil:
        # Two-pass variance with the correction term for rounding in the mean.
        if nr_row == 0 or nr_col == 0:
            return
        cdef weight_t total, total_squares, centered
        cdef int32_t row, col
        for col in range(nr_col):
            total = 0.0
            total_squares = 0.0
            for row in range(nr_row):
                centered = mat[row * nr_col + col] - Ex[col]
                total += centered
                total_squares += centered * centered
            Vx[col] = (total_squares - total * total / nr_row) / nr_row + eps
