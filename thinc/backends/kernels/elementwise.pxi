# Elementwise ops (include/thinc_elementwise.hh). The header's table is the one
# list: each row becomes a NumpyOps method here, with the signature of the Ops
# method of the same name (its float parameters are the kernel's a, b, c, d).

cdef extern from "thinc_elementwise.hh" namespace "thinc_kernels" nogil:
    int forward_count()
    int backward_count()
    const char* forward_name(int)
    const char* backward_name(int)
    void run_forward(int, const float*, float*, index_t, float, float, float, float)
    void run_forward(int, const double*, double*, index_t, double, double, double, double)
    void run_backward(int, const float*, const float*, float*, index_t, float, float, float, float)
    void run_backward(int, const double*, const double*, double*, index_t, double, double, double,
                      double)
    void swish_backward(const float*, const float*, const float*, float*, index_t)
    void swish_backward(const double*, const double*, const double*, double*, index_t)


cdef object apply_unary(int op, X, bint inplace, double a=0, double b=0, double c=0, double d=0):
    """Runs forward row `op`; the caller has checked is_real_array(X)."""
    cdef cnp.ndarray source = contiguous(X)
    cdef cnp.ndarray target
    if inplace and source is X and cnp.PyArray_ISWRITEABLE(X):
        target = source
    else:
        target = numpy.empty_like(source)
    cdef index_t n = source.size
    if source.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            run_forward(op, <const float*>cnp.PyArray_DATA(source),
                        <float*>cnp.PyArray_DATA(target), n, a, b, c, d)
    else:
        with nogil:
            run_forward(op, <const double*>cnp.PyArray_DATA(source),
                        <double*>cnp.PyArray_DATA(target), n, a, b, c, d)
    if inplace and target is not X:
        X[...] = target
        return X
    return target


cdef object apply_binary(int op, dY, S, bint inplace, double a=0, double b=0, double c=0,
                         double d=0):
    """Runs backward row `op`, writing into dY when inplace; inputs checked by the caller."""
    cdef cnp.ndarray gradient = contiguous(dY)
    cdef cnp.ndarray saved = contiguous(S)
    cdef cnp.ndarray target
    if inplace and gradient is dY and cnp.PyArray_ISWRITEABLE(dY):
        target = gradient
    else:
        target = numpy.empty_like(gradient)
    cdef index_t n = gradient.size
    if gradient.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            run_backward(op, <const float*>cnp.PyArray_DATA(gradient),
                         <const float*>cnp.PyArray_DATA(saved), <float*>cnp.PyArray_DATA(target),
                         n, a, b, c, d)
    else:
        with nogil:
            run_backward(op, <const double*>cnp.PyArray_DATA(gradient),
                         <const double*>cnp.PyArray_DATA(saved), <double*>cnp.PyArray_DATA(target),
                         n, a, b, c, d)
    if inplace and target is not dY:
        dY[...] = target
        return dY
    return target


cdef bint has_nan(double a, double b, double c, double d):
    # A NaN bound compares false everywhere, so the kernels would drop it; the
    # reference (numpy's clip) answers NaN, and NaN options are rare enough to send there.
    return a != a or b != b or c != c or d != d


cdef bint binary_ok(dY, S):
    return is_real_array(dY) and same_layout(dY, S)


def _swish_backward(cnp.ndarray dY, cnp.ndarray X, cnp.ndarray Y, cnp.ndarray dX):
    cdef index_t n = dY.size
    if dY.descr.type_num == cnp.NPY_FLOAT32:
        with nogil:
            swish_backward(<const float*>cnp.PyArray_DATA(dY), <const float*>cnp.PyArray_DATA(X),
                           <const float*>cnp.PyArray_DATA(Y), <float*>cnp.PyArray_DATA(dX), n)
    else:
        with nogil:
            swish_backward(<const double*>cnp.PyArray_DATA(dY), <const double*>cnp.PyArray_DATA(X),
                           <const double*>cnp.PyArray_DATA(Y), <double*>cnp.PyArray_DATA(dX), n)


# -- one NumpyOps method per table row ------------------------------------------
# Each row's method has the exact signature of the Ops method of the same name
# (generated as source, as namedtuple does, so keywords and defaults match at no
# cost per call). It runs the kernel on float32/float64 numpy arrays and hands
# anything else (other dtypes or array types, NaN parameters) to the reference.

def _forward(int op, X, bint inplace, double a, double b, double c, double d):
    """The kernel's result, or None where the reference must run instead."""
    if not is_real_array(X) or has_nan(a, b, c, d):
        return None
    return apply_unary(op, X, inplace, a, b, c, d)


def _backward(int op, dY, S, bint inplace, double a, double b, double c, double d):
    if not binary_ok(dY, S) or has_nan(a, b, c, d):
        return None
    return apply_binary(op, dY, S, inplace, a, b, c, d)


def elementwise_rows():
    """{method name: (direction, row code)} for every row of the kernels' table."""
    rows = {forward_name(i).decode(): ("forward", i) for i in range(forward_count())}
    rows.update({backward_name(i).decode(): ("backward", i) for i in range(backward_count())})
    return rows


_METHOD_TEMPLATE = """
def {name}(self, {parameters}):
    result = {runner}({op}, {arrays}, inplace, {options})
    if result is None:
        return super(cls, self).{name}({arrays}, {passed}inplace=inplace)
    return result
"""


def _install_elementwise_methods(cls) -> None:
    """Gives cls one method per table row, shaped like the reference's."""
    import inspect

    for name, (direction, op) in elementwise_rows().items():
        reference = getattr(Ops, name)
        signature = inspect.signature(reference)
        parameters = list(signature.parameters.values())[1:]
        n_arrays = 1 if direction == "forward" else 2
        arrays = [p.name for p in parameters[:n_arrays]]
        options = [p for p in parameters[n_arrays:] if p.name != "inplace"]
        if len(options) > 4 or any(p.kind != p.POSITIONAL_OR_KEYWORD for p in options):
            raise TypeError(f"{name}: an elementwise row takes at most four float options")
        namespace = {"cls": cls, "_forward": _forward, "_backward": _backward}
        written = []
        for parameter in parameters:
            if parameter.default is parameter.empty:
                written.append(parameter.name)
            else:
                namespace[f"default_{parameter.name}"] = parameter.default
                written.append(f"{parameter.name}=default_{parameter.name}")
            if parameter.kind == parameter.KEYWORD_ONLY and "*" not in written:
                written.insert(len(written) - 1, "*")
        source = _METHOD_TEMPLATE.format(
            name=name, parameters=", ".join(written), op=op, arrays=", ".join(arrays),
            runner="_forward" if direction == "forward" else "_backward",
            options=", ".join([p.name for p in options] + ["0.0"] * (4 - len(options))),
            passed="".join(f"{p.name}, " for p in options),
        )
        exec(compile(source, f"<NumpyOps.{name}: row {op} of the {direction} table>", "exec"),
             namespace)
        method = namespace[name]
        method.__qualname__ = f"{cls.__name__}.{name}"
        method.__doc__ = reference.__doc__
        method.__module__ = cls.__module__
        method.__annotations__ = dict(reference.__annotations__)
        setattr(cls, name, method)
