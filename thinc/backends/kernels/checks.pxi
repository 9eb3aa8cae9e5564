# Input checks at the NumpyOps boundary: each op checks once, then hands the
# kernels contiguous arrays of the right dtype and lengths known to fit.

cdef inline bint is_real_array(X):
    return (isinstance(X, numpy.ndarray)
            and ((<cnp.ndarray>X).descr.type_num == cnp.NPY_FLOAT32
                 or (<cnp.ndarray>X).descr.type_num == cnp.NPY_FLOAT64)
            and (<cnp.ndarray>X).descr.byteorder != b'>')


cdef inline cnp.ndarray contiguous(X):
    # Kernels read raw memory in C order, so strided or misaligned views are copied.
    if cnp.PyArray_IS_C_CONTIGUOUS(X) and cnp.PyArray_ISALIGNED(X):
        return X
    return aligned_c(X)


cdef inline cnp.ndarray aligned_c(X, dtype=None):
    # numpy.ascontiguousarray, but never misaligned: it hands back a C-ordered
    # view at an odd byte offset as it is (numpy allows those), and a kernel's
    # float loads from one are undefined behaviour (UBSan stops on them).
    cdef cnp.ndarray array = numpy.ascontiguousarray(X, dtype=dtype)
    if cnp.PyArray_ISALIGNED(array):
        return array
    return array.copy()


cdef inline bint is_writeable_contiguous(X):
    return (cnp.PyArray_IS_C_CONTIGUOUS(X) and cnp.PyArray_ISALIGNED(X)
            and cnp.PyArray_ISWRITEABLE(X))


def check_lengths(lengths, index_t n_rows, str op_name, bint allow_short=True,
                  bint require_positive=False):
    """Lengths as a contiguous int64 array, after checking type, sign and total."""
    return checked_lengths(lengths, n_rows, op_name, allow_short, require_positive, NULL)


cdef cnp.ndarray checked_lengths(lengths, index_t n_rows, str op_name, bint allow_short,
                                 bint require_positive, index_t* total_out):
    # Runs on every sequence op, so it reads the array through its pointer and
    # hands back the total (the caller would otherwise pay for lengths.sum()).
    if not isinstance(lengths, numpy.ndarray):
        lengths = numpy.asarray(lengths)
    cdef cnp.ndarray array = lengths
    if array.descr.kind != b"i" and array.descr.kind != b"u":
        raise ValueError(f"{op_name}: lengths must be integers, got dtype {lengths.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{op_name}: lengths must be 1-dimensional, got shape {lengths.shape}")
    cdef cnp.ndarray result = aligned_c(array, numpy.int64)
    cdef const int64_t* values = <const int64_t*>cnp.PyArray_DATA(result)
    cdef Py_ssize_t i, count = result.shape[0]
    cdef int64_t total = 0, smallest = values[0] if count else 0, value
    for i in range(count):
        if values[i] < smallest:
            smallest = values[i]
    if smallest < 0:
        raise ValueError(f"{op_name}: lengths must be non-negative, got {smallest}")
    if require_positive and count and smallest == 0:
        raise ValueError(f"{op_name}: all sequence lengths must be > 0, got 0")
    for i in range(count):
        value = values[i]
        # Compared before adding (total <= n_rows holds), so lengths whose sum
        # would wrap around int64 are refused instead of passing the total check.
        if value > n_rows - total:
            raise LengthsMismatchError(
                f"{op_name}: lengths must sum up to the number of rows ({n_rows}), "
                f"got {sum(result.tolist())}"
            )
        total += value
    if not allow_short and total != n_rows:
        raise LengthsMismatchError(
            f"{op_name}: lengths must sum up to the number of rows ({n_rows}), got {total}"
        )
    if total_out != NULL:
        total_out[0] = total
    return result


cdef inline object same_layout(A, B):
    return (isinstance(B, numpy.ndarray) and (<cnp.ndarray>A).descr.type_num
            == (<cnp.ndarray>B).descr.type_num and A.shape == B.shape)


def _check_gemm_operand(array, name: str):
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"gemm expects numpy arrays, but '{name}' is {type(array).__name__}")
    if array.ndim != 2:
        raise ValueError(
            f"gemm expects 2-dimensional arrays, but '{name}' has {array.ndim} dimension(s)"
        )


def _check_window(nW, op_name: str) -> int:
    try:
        return _ops_check_window(nW)
    except ValueError as error:
        raise ValueError(f"{op_name}: {error}") from None


def _sequence_lengths(lengths, n_rows: int, op_name: str):
    if lengths is None:
        return numpy.asarray([n_rows], dtype=numpy.int64)
    return check_lengths(lengths, n_rows, op_name, allow_short=False)


cdef cnp.ndarray checked_reduction_gradient(d_out, lengths, str op_name, index_t* total):
    cdef cnp.ndarray lengths64 = checked_lengths(lengths, MAX_GRADIENT_ROWS, op_name, True, False,
                                                 total)
    if lengths64.shape[0] != d_out.shape[0]:
        raise ValueError(
            f"{op_name}: got {lengths64.shape[0]} lengths for {d_out.shape[0]} gradient rows"
        )
    return lengths64


def _int32_like(which, shape, op_name: str, name: str):
    if not isinstance(which, numpy.ndarray) or which.dtype.kind not in "iu":
        raise ValueError(f"{op_name}: '{name}' must be an integer array")
    if which.shape != shape:
        raise ValueError(f"{op_name}: '{name}' has shape {which.shape}, expected {shape}")
    if which.dtype == numpy.int32:
        return contiguous(which)
    if which.size and (which.max() > 2 ** 31 - 1 or which.min() < -(2 ** 31)):
        raise IndexError(f"{op_name}: '{name}' holds values outside the int32 range")
    return aligned_c(which, numpy.int32)


def _index_array(indices):
    # int32 and int64 are read directly; other integer types are widened.
    if indices.dtype == numpy.int32 or indices.dtype == numpy.int64:
        return contiguous(indices)
    if indices.dtype == numpy.uint64 and indices.size and indices.max() > 2 ** 62:
        raise IndexError(f"index {indices.max()} is out of bounds")
    return aligned_c(indices, numpy.int64)
