# Optimizer steps (include/thinc_optimizers.hh).

cdef extern from "thinc_optimizers.hh" namespace "thinc_kernels" nogil:
    void adam(float*, const float*, float*, float*, index_t, double, double, double, double, double,
              float*)
    void adam(double*, const double*, double*, double*, index_t, double, double, double, double, double,
              double*)
    double sum_of_squares(const float*, index_t)
    double sum_of_squares(const double*, index_t)
    void scale_inplace(float*, index_t, float)
    void scale_inplace(double*, index_t, double)
    void update_averages(float*, const float*, index_t, float)
    void update_averages(double*, const double*, index_t, double)


def _adam(cnp.ndarray weights, cnp.ndarray gradient, cnp.ndarray mom1, cnp.ndarray mom2,
          double beta1, double beta2, double eps, double learn_rate, double mod_rate,
          bint consume_gradient=False):
    """The Adam step in place; consume_gradient also zeroes `gradient` as it
    is read (it must then be the caller's own writable array)."""
    cdef index_t n = weights.size
    cdef void* consumed = cnp.PyArray_DATA(gradient) if consume_gradient else NULL
    if weights.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            adam(<float*>cnp.PyArray_DATA(weights), <const float*>cnp.PyArray_DATA(gradient),
                 <float*>cnp.PyArray_DATA(mom1), <float*>cnp.PyArray_DATA(mom2), n, beta1, beta2, eps,
                 learn_rate, mod_rate, <float*>consumed)
    else:
        with nogil:
            adam(<double*>cnp.PyArray_DATA(weights), <const double*>cnp.PyArray_DATA(gradient),
                 <double*>cnp.PyArray_DATA(mom1), <double*>cnp.PyArray_DATA(mom2), n, beta1, beta2, eps,
                 learn_rate, mod_rate, <double*>consumed)


def _clip_gradient(cnp.ndarray gradient, double threshold):
    cdef index_t n = gradient.size
    cdef double norm
    cdef bint single = gradient.descr.type_num == cnp.NPY_FLOAT32
    with nogil:
        norm = sum_of_squares(<const float*>cnp.PyArray_DATA(gradient), n) if single else \
            sum_of_squares(<const double*>cnp.PyArray_DATA(gradient), n)
    norm = norm ** 0.5
    # Not "norm <= threshold": a NaN norm must leave the gradient as it is (as
    # the reference does), not scale every entry to NaN.
    if not norm > threshold:
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
