# Fused layer steps (include/thinc_norm.hh): layer norm rows, maxout blocks.

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
