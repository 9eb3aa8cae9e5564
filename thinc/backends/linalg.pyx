# cython: infer_types=True, cdivision=True
"""The inline vector helpers of linalg.pxd, plus a pool-owned Matrix and thin
Python wrappers so the helpers can be tested without compiling a caller."""
from libc.stdint cimport int32_t


cdef class Matrix:
    """A dense row-major float32 matrix whose memory belongs to its Pool."""

    def __init__(self, int32_t nr_row, int32_t nr_col):
        if nr_row < 0 or nr_col < 0:
            raise ValueError(f"Matrix dimensions must be non-negative, got {(nr_row, nr_col)}")
        self.mem = Pool()
        self.nr_row = nr_row
        self.nr_col = nr_col
        # The product in size_t: int32 arithmetic would wrap to a short buffer.
        cdef size_t size = max(1, <size_t>nr_row * <size_t>nr_col)
        self.data = <weight_t*>self.mem.alloc(size, sizeof(weight_t))


cdef class _Buffer:
    # A float32 copy of a Python sequence, so the wrappers below can hand raw
    # pointers to the inline helpers.
    cdef Pool mem
    cdef weight_t* data
    cdef int32_t size

    def __init__(self, values):
        values = list(values)
        if len(values) > 2 ** 31 - 1:
            raise ValueError(f"at most 2**31 - 1 values fit a buffer, got {len(values)}")
        self.mem = Pool()
        self.size = len(values)
        self.data = <weight_t*>self.mem.alloc(max(1, self.size), sizeof(weight_t))
        for index, value in enumerate(values):
            self.data[index] = value

    def to_list(self):
        return [self.data[index] for index in range(self.size)]


def _check_row_lengths(rows, int expected, str message):
    # The helpers read rows * expected values, so a short row would be read past.
    for index, row in enumerate(rows):
        if len(row) != expected:
            raise ValueError(f"{message} ({expected}), but row {index} has {len(row)}")


def vec_arg_max(values) -> int:
    cdef _Buffer buffer = _Buffer(values)
    return Vec.arg_max(buffer.data, buffer.size)


def vec_max(values) -> float:
    cdef _Buffer buffer = _Buffer(values)
    return Vec.max(buffer.data, buffer.size)


def vec_sum(values) -> float:
    cdef _Buffer buffer = _Buffer(values)
    return Vec.sum(buffer.data, buffer.size)


def vec_norm(values) -> float:
    cdef _Buffer buffer = _Buffer(values)
    return Vec.norm(buffer.data, buffer.size)


def vec_mean_variance(values) -> tuple:
    cdef _Buffer buffer = _Buffer(values)
    return Vec.mean(buffer.data, buffer.size), Vec.variance(buffer.data, buffer.size)


def vec_ops(values, weight_t scalar) -> dict:
    """Every scalar-vector helper applied to ``values``, by name."""
    cdef _Buffer source = _Buffer(values)
    cdef _Buffer out = _Buffer(values)
    results = {}
    Vec.add(out.data, source.data, scalar, source.size)
    results["add"] = out.to_list()
    Vec.mul(out.data, source.data, scalar, source.size)
    results["mul"] = out.to_list()
    Vec.pow(out.data, source.data, scalar, source.size)
    results["pow"] = out.to_list()
    Vec.div(out.data, source.data, scalar, source.size)
    results["div"] = out.to_list()
    Vec.exp(out.data, source.data, source.size)
    results["exp"] = out.to_list()
    Vec.div(out.data, source.data, 1.0, source.size)
    Vec.reciprocal_i(out.data, source.size)
    results["reciprocal"] = out.to_list()
    return results


def vecvec_ops(x, y, weight_t scale) -> dict:
    """Every vector-vector helper applied to ``x`` and ``y``, by name."""
    cdef _Buffer xs = _Buffer(x)
    cdef _Buffer ys = _Buffer(y)
    cdef _Buffer out = _Buffer(x)
    if xs.size != ys.size:
        raise ValueError(f"x and y differ in length: {xs.size} != {ys.size}")
    results = {}
    VecVec.add(out.data, xs.data, ys.data, scale, xs.size)
    results["add"] = out.to_list()
    VecVec.mul(out.data, xs.data, ys.data, xs.size)
    results["mul"] = out.to_list()
    VecVec.add_pow(out.data, xs.data, ys.data, scale, xs.size)
    results["add_pow"] = out.to_list()
    results["dot"] = VecVec.dot(xs.data, ys.data, xs.size)
    return results


def vecvec_batch_add(x, batch, weight_t scale) -> list:
    cdef _Buffer xs = _Buffer(x)
    rows = [list(row) for row in batch]
    _check_row_lengths(rows, xs.size, "vecvec_batch_add: every batch row must have len(x)")
    cdef _Buffer ys = _Buffer([value for row in rows for value in row])
    VecVec.batch_add_i(xs.data, ys.data, scale, xs.size, len(batch))
    return xs.to_list()


def vecvec_arg_max_if_true(scores, valid) -> int:
    cdef _Buffer buffer = _Buffer(scores)
    cdef int[64] flags
    if len(valid) != buffer.size or buffer.size > 64:
        raise ValueError("scores and valid must have the same length (at most 64)")
    for index, flag in enumerate(valid):
        flags[index] = 1 if flag else 0
    return VecVec.arg_max_if_true(buffer.data, flags, buffer.size)


def vecvec_arg_max_if_zero(scores, costs) -> int:
    cdef _Buffer buffer = _Buffer(scores)
    cdef _Buffer cost_buffer = _Buffer(costs)
    if cost_buffer.size != buffer.size:
        raise ValueError("scores and costs must have the same length")
    return VecVec.arg_max_if_zero(buffer.data, cost_buffer.data, buffer.size)


def mat_mean_var_rows(rows, weight_t eps) -> tuple:
    """Column means and variances (+ eps) of a list of equal-length rows."""
    rows = [list(row) for row in rows]
    nr_row = len(rows)
    nr_col = len(rows[0]) if nr_row else 0
    _check_row_lengths(rows, nr_col, "mat_mean_var_rows: rows must all have one length")
    cdef _Buffer matrix = _Buffer([value for row in rows for value in row])
    cdef _Buffer means = _Buffer([0.0] * nr_col)
    cdef _Buffer variances = _Buffer([0.0] * nr_col)
    Mat.mean_row(means.data, matrix.data, nr_row, nr_col)
    Mat.var_row(variances.data, matrix.data, means.data, nr_row, nr_col, eps)
    return means.to_list(), variances.to_list()
