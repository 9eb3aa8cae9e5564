# Row kernels (include/thinc_rows.hh): softmax over rows and its gradient, maxout.

cdef extern from "thinc_rows.hh" namespace "thinc_kernels" nogil:
    void softmax_rows(const float*, float*, index_t, index_t, float)
    void softmax_rows(const double*, double*, index_t, index_t, double)
    void backprop_softmax_rows(const float*, const float*, float*, index_t, index_t, float)
    void backprop_softmax_rows(const double*, const double*, double*, index_t, index_t, double)
    void maxout(const float*, float*, int32_t*, index_t, index_t)
    void maxout(const double*, double*, int32_t*, index_t, index_t)
    index_t backprop_maxout(const float*, const int32_t*, float*, index_t, index_t)
    index_t backprop_maxout(const double*, const int32_t*, double*, index_t, index_t)


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
