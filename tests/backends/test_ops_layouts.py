"""NumpyOps against the reference Ops on unusual array layouts: strided, transposed,
negative-stride, offset, unaligned, read-only, stride-0 and big-endian arrays,
float64, integer ids of several widths.

The compiled kernels read raw memory, so each NumpyOps op must copy (or refuse)
what it cannot read in place and write its in-place results through the caller's
view. Two parts: every case of tests/differential/cases_layouts.py run with Ops
standing in for NumpyOps (no thinc 8.3.14 needed), then exhaustive small grids
of layouts per op family. In-place ops are compared on their result, the arrays
they write and the buffers behind them."""

import fnmatch
import itertools
from typing import Any, Callable, Dict, List, Tuple

import numpy
import pytest

import thinc.api
from thinc.api import get_current_ops, set_current_ops
from thinc.backends.numpy_ops import NumpyOps
from thinc.backends.ops import Ops

from ..differential import cases_layouts
from ..differential.cases_layouts import extremes, layout, values
from ..differential.compare import outcome_difference
from ..differential.helpers import floats
from ..differential.runner import describe

# Where NumpyOps may differ from Ops by design: (function pattern, edge pattern, why).
EXPECTED: List[Tuple[str, str, str]] = [
    (
        "layout.Ops.adam",
        "*",
        "NumpyOps hands a writable gradient back zeroed, as thinc 8.3's NumpyOps does",
    ),
    ("layout.Ops.get_dropout_mask", "drop=0.5", "random draws"),
    (
        "layout.Ops.gemm",
        "mixed-f32-f64",
        "NumpyOps' gemm refuses mixed float32/float64 operands, as thinc 8.3's does; "
        "Ops' numpy dot upcasts",
    ),
    ("layout.[LMR]*", "f64-*", "float64 input to float32 params: the same mixed gemm"),
    (
        "layout.Ops.*",
        "0d",
        "NumpyOps' kernels return a 0-d array where numpy arithmetic gives a numpy scalar "
        "(thinc 8.3.14's compiled relu and mish do the same as ours; its numpy ops do not)",
    ),
    (
        "layout.Ops.scatter_add",
        "alias:values-are-table-rows",
        "values that alias the table: the kernel adds each row as it finds it, as thinc "
        "8.3.14's NumpyOps does; numpy's add.at buffers the values first",
    ),
]


class _ReferenceAPI:
    """thinc.api with the reference Ops standing in for NumpyOps."""

    def __getattr__(self, name: str) -> Any:
        return Ops if name == "NumpyOps" else getattr(thinc.api, name)


def outcome(call: Callable[[Any, Any], Any], api: Any, ops: Any) -> Any:
    previous = get_current_ops()
    set_current_ops(ops)
    try:
        return ("ok", describe(call(api, numpy)))
    except Exception as error:  # noqa: BLE001 - every failure is an outcome here
        names = [cls.__name__ for cls in type(error).__mro__]
        return ("raise", type(error).__name__, names, str(error)[:200])
    finally:
        set_current_ops(previous)


def _all_cases() -> Dict[str, List[Tuple[str, Callable]]]:
    by_function: Dict[str, List[Tuple[str, Callable]]] = {}

    def case(function: str, edge: str, call: Callable) -> None:
        by_function.setdefault(function, []).append((edge, call))

    cases_layouts.register_all(case, floats)
    return by_function


CASES = _all_cases()


@pytest.mark.parametrize("function", sorted(CASES))
def test_layout_cases_agree_with_reference_ops(function):
    problems = []
    for edge, call in CASES[function]:
        if any(
            fnmatch.fnmatchcase(function, f) and fnmatch.fnmatchcase(edge, e)
            for f, e, _ in EXPECTED
        ):
            continue
        ours = outcome(call, thinc.api, NumpyOps())
        reference = outcome(call, _ReferenceAPI(), Ops())
        found = outcome_difference(ours, reference)
        if found:
            problems.append(f"{function} [{edge}]: {found}")
    assert not problems, "\n".join(problems)


def test_adam_zeroes_only_a_writable_gradient():
    """The one designed difference of NumpyOps.adam: the gradient comes back zeroed
    where it can be written, on any layout; weights and moments match Ops."""
    for name in ["c", "cols2", "neg", "unaligned", "readonly", "f64-cols2"]:
        results = []
        for ops in (NumpyOps(), Ops()):
            weights = layout(numpy, "c" if name == "readonly" else name, values(numpy, (7,)))[0]
            gradient, buffer = layout(numpy, name, values(numpy, (7,), seed=1))
            mom1 = layout(numpy, "c" if name == "readonly" else name, values(numpy, (7,), 2))[0]
            mom2 = numpy.abs(mom1) + 0
            ops.adam(weights, gradient, mom1, mom2, 0.9, 0.999, 1e-8, 0.01)
            results.append((weights.copy(), gradient.copy(), mom1.copy(), mom2.copy(), buffer))
        (w, g, m1, m2, buf), (rw, rg, rm1, rm2, _) = results
        for got, want in [(w, rw), (m1, rm1), (m2, rm2)]:
            numpy.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
        if name == "readonly":
            numpy.testing.assert_array_equal(g, rg)
        else:
            assert not g.any(), name
            if name == "cols2":
                # The gaps of the strided view stay as they were.
                assert (buf[1::2] == cases_layouts.FILL).all()


# ----------------------------------------------------------- exhaustive grids

ALL_LAYOUTS = cases_layouts.LAYOUTS + ["f64-" + name for name in cases_layouts.LAYOUTS]
SMALL_LAYOUTS = ["c", "fortran", "T", "cols2", "rows2", "neg", "negcols", "offset", "unaligned"]
SMALL_LAYOUTS += ["readonly", "stride0", "f64-cols2", "f64-T"]


def same(ours: Callable[[], Any], reference: Callable[[], Any], label: str, rtol: float) -> None:
    """Both raise the same exception type, or both return equal values (NaN = NaN)."""
    try:
        want = reference()
    except Exception as error:  # noqa: BLE001
        with pytest.raises(type(error)):
            ours()
        return
    got = ours()
    _assert_same(got, want, label, rtol)


def _assert_same(got: Any, want: Any, label: str, rtol: float) -> None:
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), label
        for g, w in zip(got, want):
            _assert_same(g, w, label, rtol)
    elif isinstance(want, numpy.ndarray):
        assert isinstance(got, numpy.ndarray), label
        assert got.shape == want.shape, label
        assert (got.dtype.kind == "f") == (want.dtype.kind == "f"), label
        numpy.testing.assert_allclose(
            got, want, rtol=rtol, atol=rtol, err_msg=label, equal_nan=True
        )
    else:
        assert got == want, label


def tol(dtype_name: str) -> float:
    return 1e-12 if dtype_name.startswith("f64-") else 2e-6


# Elementwise kernels use their own approximations (erf, exp) in float64 too.
ELEMENTWISE_TOL = 1e-5


def _in_place(op: Callable, array_name: str, seed: int = 0, shape=(3, 5)) -> Callable[[], Any]:
    """Runs op on a fresh array in the layout, returning the result, the array
    after the call and the buffer behind it."""

    def run() -> Any:
        X, buffer = layout(numpy, array_name, values(numpy, shape, seed))
        result = op(X)
        return result, X.copy(), numpy.array(buffer)

    return run


def _elementwise_rows() -> Dict[str, str]:
    from thinc.backends.numpy_ops import elementwise_rows

    return {name: direction for name, (direction, _) in elementwise_rows().items()}


ROWS = _elementwise_rows()
FORWARD = sorted(name for name, direction in ROWS.items() if direction == "forward")
BACKWARD = sorted(name for name, direction in ROWS.items() if direction == "backward")


def _takes_inplace(name: str) -> bool:
    import inspect

    return "inplace" in inspect.signature(getattr(Ops, name)).parameters


@pytest.mark.parametrize("name", FORWARD)
def test_elementwise_forward_every_layout(name):
    ours, reference = NumpyOps(), Ops()
    modes = (False, True) if _takes_inplace(name) else (None,)
    for array_name, inplace in itertools.product(ALL_LAYOUTS, modes):
        kwargs = {} if inplace is None else {"inplace": inplace}
        label = f"{name} {array_name} inplace={inplace}"
        same(
            _in_place(lambda X: getattr(ours, name)(X, **kwargs), array_name),
            _in_place(lambda X: getattr(reference, name)(X, **kwargs), array_name),
            label,
            ELEMENTWISE_TOL,
        )
    # Extreme values through a strided view and in place.
    for dtype in ("float32", "float64"):
        for array_name in ("cols2", "c"):
            X = layout(numpy, array_name, extremes(numpy, dtype))[0]
            same(
                lambda: getattr(ours, name)(X.copy()),
                lambda: getattr(reference, name)(X.copy()),
                f"{name} extremes {dtype}",
                1e-5,
            )


@pytest.mark.parametrize("name", BACKWARD)
def test_elementwise_backward_layout_pairs(name):
    import inspect

    ours, reference = NumpyOps(), Ops()
    arrays = [
        p
        for p in list(inspect.signature(getattr(Ops, name)).parameters)[1:]
        if p not in ("inplace",) and p in ("dY", "X", "Y")
    ]
    modes = (False, True) if _takes_inplace(name) else (None,)
    for dy_name, s_name in itertools.product(SMALL_LAYOUTS, repeat=2):
        if dy_name.startswith("f64-") != s_name.startswith("f64-") and "c" not in (dy_name,):
            continue
        for inplace in modes:
            kwargs = {} if inplace is None else {"inplace": inplace}

            def run(ops: Any, dy: str = dy_name, s: str = s_name, kw: dict = kwargs) -> Any:
                dY, buffer = layout(numpy, dy, values(numpy, (3, 5), 1))
                saved = [
                    layout(numpy, s, values(numpy, (3, 5), 2 + i))[0]
                    for i in range(len(arrays) - 1)
                ]
                result = getattr(ops, name)(dY, *saved, **kw)
                return result, dY.copy(), numpy.array(buffer), [numpy.array(a) for a in saved]

            same(
                lambda: run(ours),
                lambda: run(reference),
                f"{name} dY={dy_name} saved={s_name} inplace={inplace}",
                ELEMENTWISE_TOL,
            )
    # Extreme saved values (and gradients) through strided views.
    for dtype in ("float32", "float64"):
        S = layout(numpy, "cols2", extremes(numpy, dtype))[0]
        moderate = layout(numpy, "T", values(numpy, S.shape, 4, dtype=dtype))[0]
        for dY in (numpy.ones_like(S), moderate):
            saved = [S] * (len(arrays) - 1)
            same(
                lambda: getattr(ours, name)(dY, *saved),
                lambda: getattr(reference, name)(dY, *saved),
                f"{name} extremes {dtype}",
                1e-5,
            )


def test_softmax_every_layout_axis_temperature():
    ours, reference = NumpyOps(), Ops()
    for array_name, axis, temperature, inplace in itertools.product(
        ALL_LAYOUTS, (-1, 0, 1), (1.0, 0.5), (False, True)
    ):
        kwargs = dict(axis=axis, temperature=temperature, inplace=inplace)
        same(
            _in_place(lambda X: ours.softmax(X, **kwargs), array_name),
            _in_place(lambda X: reference.softmax(X, **kwargs), array_name),
            f"softmax {array_name} {kwargs}",
            ELEMENTWISE_TOL,
        )
    for y_name, dy_name in itertools.product(SMALL_LAYOUTS, repeat=2):
        for axis in (-1, 0):
            Y = layout(numpy, y_name, reference.softmax(values(numpy, (3, 5)), axis=axis))[0]
            dY = layout(numpy, dy_name, values(numpy, (3, 5), 1).astype(Y.dtype))[0]
            same(
                lambda: ours.backprop_softmax(Y, dY, axis=axis),
                lambda: reference.backprop_softmax(Y, dY, axis=axis),
                f"backprop_softmax {y_name} {dy_name} {axis}",
                1e-5,
            )


def test_gemm_every_layout_pair():
    ours, reference = NumpyOps(), Ops()
    for x_name, y_name in itertools.product(ALL_LAYOUTS, repeat=2):
        if x_name.startswith("f64-") != y_name.startswith("f64-"):
            continue
        for trans1, trans2 in itertools.product((False, True), repeat=2):
            X = layout(numpy, x_name, values(numpy, (5, 3) if trans1 else (3, 5)))[0]
            Y = layout(numpy, y_name, values(numpy, (4, 5) if trans2 else (5, 4), 1))[0]
            if "bigendian" in x_name + y_name:
                # Refused, as by thinc 8.3's gemm (not a native float32/float64).
                with pytest.raises(ValueError):
                    ours.gemm(X, Y, trans1=trans1, trans2=trans2)
                continue
            same(
                lambda: ours.gemm(X, Y, trans1=trans1, trans2=trans2),
                lambda: reference.gemm(X, Y, trans1=trans1, trans2=trans2),
                f"gemm {x_name} {y_name} {trans1} {trans2}",
                1e-5,
            )


def test_gemm_out_every_layout():
    ours, reference = NumpyOps(), Ops()
    for out_name in ALL_LAYOUTS:
        dtype = "float64" if out_name.startswith("f64-") else "float32"
        X = values(numpy, (3, 5), dtype=dtype)
        Y = values(numpy, (5, 4), 1, dtype=dtype)

        def run(ops: Any) -> Any:
            out, buffer = layout(numpy, out_name, values(numpy, (3, 4), 2))
            result = ops.gemm(X, Y, out=out)
            return result, out.copy(), numpy.array(buffer), result is out

        if "bigendian" in out_name:
            with pytest.raises(ValueError):
                run(ours)
            continue
        same(lambda: run(ours), lambda: run(reference), f"gemm out={out_name}", 1e-5)


def test_affine_layouts():
    ours, reference = NumpyOps(), Ops()
    for x_name, w_name, b_name in itertools.product(
        SMALL_LAYOUTS, ["c", "T", "cols2", "neg"], ["c", "cols2", "neg", "readonly"]
    ):
        if x_name.startswith("f64-"):
            w_name, b_name = "f64-" + w_name, "f64-" + b_name
        X = layout(numpy, x_name, values(numpy, (3, 5)))[0]
        W = layout(numpy, w_name, values(numpy, (4, 5), 1))[0]
        b = layout(numpy, b_name, values(numpy, (4,), 2))[0]
        same(
            lambda: ours.affine(X, W, b),
            lambda: reference.affine(X, W, b),
            f"affine {x_name} {w_name} {b_name}",
            1e-5,
        )


LENGTH_DTYPES = ["int32", "int64", "uint64", "uint32", "int16"]


@pytest.mark.parametrize(
    "name", ["reduce_sum", "reduce_mean", "reduce_max", "reduce_first", "reduce_last"]
)
def test_reductions_every_layout(name):
    ours, reference = NumpyOps(), Ops()
    for array_name in ALL_LAYOUTS:
        for lengths, l_dtype, l_layout in itertools.product(
            ([2, 1, 3], [6], [1, 1, 1, 1, 1, 1]), LENGTH_DTYPES, ("c", "cols2", "neg")
        ):
            X = layout(numpy, array_name, values(numpy, (6, 3)))[0]
            L = layout(numpy, l_layout, numpy.asarray(lengths, l_dtype))[0]
            same(
                lambda: getattr(ours, name)(X, L),
                lambda: getattr(reference, name)(X, L),
                f"{name} {array_name} lengths={lengths} {l_dtype} {l_layout}",
                tol(array_name) * 10,
            )


def test_reduction_backprops_layouts():
    ours, reference = NumpyOps(), Ops()
    lengths = numpy.asarray([2, 1, 3], "int32")
    which = numpy.asarray([[1, 0, 1, 0], [0, 0, 0, 0], [2, 1, 0, 2]], "int32")
    for d_name in ALL_LAYOUTS:
        d = layout(numpy, d_name, values(numpy, (3, 4)))[0]
        for l_dtype, w_name, w_dtype in itertools.product(
            LENGTH_DTYPES, ("c", "cols2", "fortran", "neg"), ("int32", "int64")
        ):
            L = lengths.astype(l_dtype)
            W = layout(numpy, w_name, which.astype(w_dtype))[0]
            label = f"{d_name} {l_dtype} which={w_name} {w_dtype}"
            for name in ("backprop_reduce_sum", "backprop_reduce_mean"):
                same(
                    lambda: getattr(ours, name)(d, L),
                    lambda: getattr(reference, name)(d, L),
                    f"{name} {label}",
                    tol(d_name),
                )
            same(
                lambda: ours.backprop_reduce_max(d, W, L),
                lambda: reference.backprop_reduce_max(d, W, L),
                f"backprop_reduce_max {label}",
                tol(d_name),
            )


def test_seq2col_layouts():
    ours, reference = NumpyOps(), Ops()
    for array_name, nW, lengths, l_dtype in itertools.product(
        ALL_LAYOUTS, (1, 2), (None, [2, 3], [5], [0, 5, 0]), ("int32", "int64", "uint64")
    ):
        L = None if lengths is None else numpy.asarray(lengths, l_dtype)
        seq = layout(numpy, array_name, values(numpy, (5, 3)))[0]
        dY = layout(numpy, array_name, values(numpy, (5, 3 * (2 * nW + 1)), 1))[0]
        label = f"{array_name} nW={nW} lengths={lengths} {l_dtype}"
        same(
            lambda: ours.seq2col(seq, nW, lengths=L),
            lambda: reference.seq2col(seq, nW, lengths=L),
            f"seq2col {label}",
            tol(array_name),
        )
        same(
            lambda: ours.backprop_seq2col(dY, nW, lengths=L),
            lambda: reference.backprop_seq2col(dY, nW, lengths=L),
            f"backprop_seq2col {label}",
            tol(array_name) * 10,
        )


def test_maxout_layouts():
    ours, reference = NumpyOps(), Ops()
    for array_name in ALL_LAYOUTS:
        X = layout(numpy, array_name, values(numpy, (3, 4, 3)))[0]
        same(lambda: ours.maxout(X), lambda: reference.maxout(X), f"maxout {array_name}", 0)
        which = numpy.asarray([[0, 1, 2, 1], [2, 2, 0, 0], [1, 0, 1, 2]])
        dY = layout(numpy, array_name, values(numpy, (3, 4)))[0]
        for w_name, w_dtype in itertools.product(
            ("c", "cols2", "fortran", "neg"), ("int32", "int64", "uint8")
        ):
            W = layout(numpy, w_name, which.astype(w_dtype))[0]
            same(
                lambda: ours.backprop_maxout(dY, W, 3),
                lambda: reference.backprop_maxout(dY, W, 3),
                f"backprop_maxout {array_name} {w_name} {w_dtype}",
                0,
            )


INDEX_DTYPES = ["int32", "int64", "uint32", "uint64", "int16", "uint8"]


def test_tables_layouts():
    ours, reference = NumpyOps(), Ops()
    indices = numpy.asarray([[0, 2, 2], [3, 1, 0], [4, 4, 4], [1, 0, 3]])
    for table_name, i_name, i_dtype in itertools.product(
        ALL_LAYOUTS, ("c", "cols2", "fortran", "neg"), INDEX_DTYPES
    ):
        table = layout(numpy, table_name, values(numpy, (5, 3)))[0]
        idx = layout(numpy, i_name, indices.astype(i_dtype))[0]
        label = f"{table_name} {i_name} {i_dtype}"
        same(
            lambda: ours.gather_add(table, idx),
            lambda: reference.gather_add(table, idx),
            f"gather_add {label}",
            tol(table_name) * 10,
        )

        def scatter(ops: Any) -> Any:
            target, buffer = layout(numpy, table_name, values(numpy, (5, 3)))
            flat = idx.reshape(-1)
            ops.scatter_add(target, flat, values(numpy, (flat.shape[0], 3), 1, dtype=target.dtype))
            return target.copy(), numpy.array(buffer)

        same(
            lambda: scatter(ours),
            lambda: scatter(reference),
            f"scatter_add {label}",
            tol(table_name) * 10,
        )


def test_hash_ids_of_every_width_and_layout():
    ours, reference = NumpyOps(), Ops()
    for i_name, i_dtype in itertools.product(("c", "cols2", "neg", "readonly"), INDEX_DTYPES):
        data = numpy.asarray([0, 1, 5, 127, 3], i_dtype)
        if i_dtype in ("int64", "int16"):
            data[3] = -3
        ids = layout(numpy, i_name, data)[0]
        for seed in (0, 7, 2**32 - 1):
            same(
                lambda: ours.hash(ids, seed),
                lambda: reference.hash(ids, seed),
                f"hash {i_name} {i_dtype} {seed}",
                0,
            )


def test_optimizer_steps_layouts():
    ours, reference = NumpyOps(), Ops()
    for name in ALL_LAYOUTS:
        for threshold in (0.5, 1e6):

            def clip(ops: Any) -> Any:
                gradient, buffer = layout(numpy, name, values(numpy, (3, 4)))
                result = ops.clip_gradient(gradient, threshold)
                return result, gradient.copy(), numpy.array(buffer)

            same(
                lambda: clip(ours),
                lambda: clip(reference),
                f"clip {name} {threshold}",
                tol(name) * 10,
            )
        for w_name in ("c", "T", "cols2", "neg", "f64-c", "f32-c"):

            def average(ops: Any) -> Any:
                ema, buffer = layout(numpy, name, values(numpy, (3, 4)))
                weights = layout(numpy, w_name, values(numpy, (3, 4), 1))[0]
                result = ops.update_averages(ema, weights, 3)
                return result, ema.copy(), numpy.array(buffer)

            same(
                lambda: average(ours),
                lambda: average(reference),
                f"averages {name} {w_name}",
                tol(name),
            )


def test_position_encode_out_layouts():
    ours, reference = NumpyOps(), Ops()
    for out_name in ALL_LAYOUTS:

        def run(ops: Any) -> Any:
            out, buffer = layout(numpy, out_name, values(numpy, (3, 5)))
            result = ops.position_encode(3, 5, out=out)
            return result, out.copy(), numpy.array(buffer)

        same(lambda: run(ours), lambda: run(reference), f"position_encode out={out_name}", 1e-5)


def test_lstm_layouts_with_input_gradient():
    ours, reference = NumpyOps(), Ops()
    nO, nI = 2, 3
    n_params = 4 * nO * nI + 4 * nO + 4 * nO * nO + 4 * nO
    for p_name, x_name, h_name in itertools.product(
        SMALL_LAYOUTS, ("c", "T", "cols2", "neg", "readonly", "f64-c"), ("c", "cols2", "neg")
    ):

        def run(ops: Any) -> Any:
            params = layout(numpy, p_name, values(numpy, (n_params,)) / 4)[0]
            H0 = layout(numpy, h_name, values(numpy, (1, 1, nO), 1))[0]
            C0 = layout(numpy, h_name, values(numpy, (1, 1, nO), 2))[0]
            X = layout(numpy, x_name, values(numpy, (5, nI), 3))[0]
            size_at_t = numpy.asarray([2, 2, 1], "int32")
            Y, state = ops.lstm_forward_training(params, H0, C0, X, size_at_t)
            inference = ops.lstm_forward_inference(params, H0, C0, X, size_at_t)
            dX, d_params = ops.backprop_lstm(Y * 0.5, size_at_t, params, state)
            return Y, inference, dX, d_params, numpy.array(params), numpy.array(X)

        same(lambda: run(ours), lambda: run(reference), f"lstm {p_name} {x_name} {h_name}", 1e-4)
