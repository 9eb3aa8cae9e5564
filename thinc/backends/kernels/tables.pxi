# Table kernels (include/thinc_tables.hh): gather_add, scatter_add, hashing ids.

cdef extern from "thinc_tables.hh" namespace "thinc_kernels" nogil:
    ctypedef void (*hash128_function)(const void* key, int length, uint32_t seed, void* out)
    void hash_ids(hash128_function hash, const uint64_t* ids, index_t n, uint32_t seed, uint32_t* out)
    void hash_rows(hash128_function hash, const uint64_t* ids, index_t n, uint32_t seed, uint32_t n_rows,
                   uint32_t* rows)
    index_t gather_add(const float*, const int32_t*, float*, index_t, index_t, index_t, index_t)
    index_t gather_add(const float*, const int64_t*, float*, index_t, index_t, index_t, index_t)
    index_t gather_add(const double*, const int32_t*, double*, index_t, index_t, index_t, index_t)
    index_t gather_add(const double*, const int64_t*, double*, index_t, index_t, index_t, index_t)
    index_t scatter_add(float*, const int32_t*, const float*, index_t, index_t, index_t)
    index_t scatter_add(float*, const int64_t*, const float*, index_t, index_t, index_t)
    index_t scatter_add(double*, const int32_t*, const double*, index_t, index_t, index_t)
    index_t scatter_add(double*, const int64_t*, const double*, index_t, index_t, index_t)


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


def _hash_embed(const uint64_t[::1] ids, uint32_t seed, cnp.ndarray table, uint32_t[:, ::1] rows,
                cnp.ndarray out):
    """HashEmbed's forward: each id's four hash keys modulo the table's rows
    (into rows), and the sum of those rows of the table (into out), in one
    call; the table has fewer than 2 ** 31 rows, so the rows read as int32."""
    cdef index_t n = ids.shape[0], n_col = table.shape[1]
    cdef uint32_t n_rows = <uint32_t>table.shape[0]
    cdef bint single = table.descr.type_num == cnp.NPY_FLOAT32
    if n == 0:
        return
    with nogil:
        hash_rows(<hash128_function>hash128_x64, &ids[0], n, seed, n_rows, &rows[0, 0])
        if single:
            gather_add(<const float*>cnp.PyArray_DATA(table), <const int32_t*>&rows[0, 0],
                       <float*>cnp.PyArray_DATA(out), n_rows, n_col, n, 4)
        else:
            gather_add(<const double*>cnp.PyArray_DATA(table), <const int32_t*>&rows[0, 0],
                       <double*>cnp.PyArray_DATA(out), n_rows, n_col, n, 4)

