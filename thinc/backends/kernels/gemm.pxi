# Matrix products through thinc.backends.cblas, the one place that picks the BLAS.

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


def _checked_gemm(bint use_blis, x, y, out, bint trans1, bint trans2, M, N, K):
    # gemm after its checks; affine comes here too, so nothing is checked twice.
    if not use_blis:
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
