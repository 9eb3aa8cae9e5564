# Gradient increments (include/thinc_accumulate.hh): dst += src for a strided src,
# registered with ParamServer.inc_grad (thinc/_param_server.py).
from .. import _param_server

cdef extern from "thinc_accumulate.hh" namespace "thinc_kernels" nogil:
    void add_strided[T](T* dst, const T* src, int ndim, const int64_t* shape,
                        const int64_t* dst_strides, const int64_t* src_strides)


def _add_into(dst, src) -> bool:
    """dst += src, in place, for numpy float32 or float64 arrays of one dtype and
    one shape, dst C-contiguous and writable, src not contiguous (a transposed
    or strided view), the two not overlapping in memory.
    Returns False, having done nothing, for anything else (the caller then uses
    numpy's +=, which broadcasts, casts and copies overlapping operands)."""
    if type(dst) is not numpy.ndarray or type(src) is not numpy.ndarray:
        return False
    cdef cnp.ndarray d = dst
    cdef cnp.ndarray s = src
    cdef int type_num = d.descr.type_num
    if (type_num != cnp.NPY_FLOAT32 and type_num != cnp.NPY_FLOAT64) \
            or s.descr.type_num != type_num or d.descr.byteorder == b'>' \
            or s.descr.byteorder == b'>':
        return False
    shape_of = dst.shape
    if d.ndim > 32 or shape_of != src.shape:
        return False
    if not cnp.PyArray_IS_C_CONTIGUOUS(d) or not cnp.PyArray_ISWRITEABLE(d) \
            or not cnp.PyArray_ISALIGNED(d) or not cnp.PyArray_ISALIGNED(s):
        return False
    # Two contiguous arrays: numpy's own vector loop is as fast or faster
    # (100K floats: 7.8 us against this loop's 10.2).
    if cnp.PyArray_IS_C_CONTIGUOUS(s):
        return False
    if d.size == 0:
        return True
    if numpy.may_share_memory(d, s):
        return False
    cdef Py_ssize_t item = d.itemsize
    # Axes of length 1 dropped, the rest ordered by src's stride, largest first,
    # so that the innermost loop walks src (and, for a permuted view, dst too)
    # in address order.
    src_strides = src.strides
    dst_strides = dst.strides
    axes = sorted((axis for axis in range(d.ndim) if shape_of[axis] != 1),
                  key=lambda axis: -abs(src_strides[axis]))
    cdef int64_t shape[32]
    cdef int64_t d_strides[32]
    cdef int64_t s_strides[32]
    cdef int n = 0
    for axis in axes:
        shape[n] = shape_of[axis]
        d_strides[n] = dst_strides[axis] // item
        s_strides[n] = src_strides[axis] // item
        n += 1
    cdef void* d_data = cnp.PyArray_DATA(d)
    cdef const void* s_data = cnp.PyArray_DATA(s)
    if type_num == cnp.NPY_FLOAT32:
        with nogil:
            add_strided[float](<float*>d_data, <const float*>s_data, n, shape, d_strides, s_strides)
    else:
        with nogil:
            add_strided[double](<double*>d_data, <const double*>s_data, n, shape, d_strides, s_strides)
    return True


_param_server.register_compiled_add(_add_into)
