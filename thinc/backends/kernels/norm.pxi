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

cdef extern from "thinc_sequences.hh" namespace "thinc_kernels" nogil:
    void seq2col_rows(const float*, index_t, index_t, index_t, index_t, index_t, float*)
    void seq2col_rows(const double*, index_t, index_t, index_t, index_t, index_t, double*)


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


cdef index_t maxout_block_rows(index_t rows, index_t nO, index_t nP, index_t itemsize):
    return max(1, min(rows, MAXOUT_BLOCK_BYTES // (nO * nP * itemsize)))


cdef void maxout_blocks(const real_t* X, index_t rows, index_t n_col, index_t nW, const real_t* W,
                        const real_t* b, real_t* best, int32_t* which, real_t* pieces,
                        real_t* windows, index_t nO, index_t nP, index_t block) noexcept nogil:
    # Maxout over seq2col(X, nW) (nW = 0: over X itself), one gemm per block of
    # rows into `pieces`, then bias and max from it, without the (rows, K)
    # windows ever existing. A row's window is K consecutive floats of X, so
    # where thinc's own kernel takes the product a block reads them in place,
    # rows n_col apart (at the array's ends from a zero-padded copy of the
    # block's rows); elsewhere the block's windows are built in `windows`
    # first, which stays in cache, unlike the full array. The blocks and the
    # kernel are those of seq2col then nW = 0, so the bits are too.
    cdef index_t K = (2 * nW + 1) * n_col, width = nO * nP, start = 0, size, low, high
    cdef bint done
    cdef const real_t* rows_in_place
    while start < rows:
        size = min(block, rows - start)
        done = False
        if nW == 0:
            rows_in_place = X + start * n_col
        elif real_t is float:
            low = start - nW
            high = start + size + nW
            if low >= 0 and high <= rows:
                rows_in_place = X + low * n_col
            else:
                memset(windows, 0, (high - low) * n_col * sizeof(real_t))
                memcpy(windows + (max(low, 0) - low) * n_col, X + max(low, 0) * n_col,
                       (min(high, rows) - max(low, 0)) * n_col * sizeof(real_t))
                rows_in_place = windows
            done = gemm_f32_rows_overlapping(True, size, width, K, rows_in_place, n_col, W, K,
                                             pieces, width)
        if not done:
            if nW > 0:
                seq2col_rows(X, rows, n_col, nW, start, size, windows)
                rows_in_place = windows
            if real_t is float:
                gemm_f32(False, True, size, width, K, 1.0, rows_in_place, K, W, K, 0.0, pieces, width)
            else:
                gemm_f64(False, True, size, width, K, 1.0, rows_in_place, K, W, K, 0.0, pieces, width)
        maxout_bias(pieces, b, best + start * nO, which + start * nO if which != NULL else NULL,
                    size, nO, nP)
        start += size


def _maxout_forward_blocks(cnp.ndarray X, index_t nW, cnp.ndarray W, cnp.ndarray b,
                           cnp.ndarray best, which):
    """maxout_blocks over seq2col(X, nW) (X one sequence; nW = 0: X itself):
    the (rows, nO * nP) pieces and the windows never exist in full. which may
    be None."""
    cdef index_t rows = X.shape[0], n_col = X.shape[1], nO = W.shape[0], nP = W.shape[1]
    cdef index_t block = maxout_block_rows(rows, nO, nP, X.itemsize)
    cdef cnp.ndarray pieces = numpy.empty((block, nO * nP), dtype=X.dtype)
    # Room for a block's windows, or for its padded source rows (fewer).
    cdef cnp.ndarray windows = numpy.empty((block if nW else 0, (2 * nW + 1) * n_col), dtype=X.dtype)
    cdef int32_t* which_data = NULL
    if which is not None:
        which_data = <int32_t*>cnp.PyArray_DATA(which)
    if X.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            maxout_blocks(<const float*>cnp.PyArray_DATA(X), rows, n_col, nW,
                          <const float*>cnp.PyArray_DATA(W), <const float*>cnp.PyArray_DATA(b),
                          <float*>cnp.PyArray_DATA(best), which_data,
                          <float*>cnp.PyArray_DATA(pieces), <float*>cnp.PyArray_DATA(windows),
                          nO, nP, block)
    else:
        with nogil:
            maxout_blocks(<const double*>cnp.PyArray_DATA(X), rows, n_col, nW,
                          <const double*>cnp.PyArray_DATA(W), <const double*>cnp.PyArray_DATA(b),
                          <double*>cnp.PyArray_DATA(best), which_data,
                          <double*>cnp.PyArray_DATA(pieces), <double*>cnp.PyArray_DATA(windows),
                          nO, nP, block)


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
