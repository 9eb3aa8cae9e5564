# Sequence kernels (include/thinc_sequences.hh): per-sequence softmax, reductions,
# seq2col. Lengths reach them checked (see checks.pxi).

cdef extern from "thinc_sequences.hh" namespace "thinc_kernels" nogil:
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
