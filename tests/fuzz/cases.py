"""Fuzz cases for NumpyOps' compiled kernels, the linalg wrappers, the compiled
layers and Model.from_bytes: random adversarial calls and mutated model files
(drawn through a Chooser, from a seeded numpy Generator or from hypothesis), the
corpus of known reproducers, and run_case, which the worker (harness.py) calls."""

import itertools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy

NAN, INF = float("nan"), float("inf")
# fmt: off
SPECIAL_FLOATS = [
    NAN, INF, -INF, 0.0, -0.0, 1e-45, 1e-38, -1e-40, 1.0, -1.0, 20.5, -20.5, 88.0, -88.0, 1e30,
    -1e30, 3e38, -3e38
]
SIZES = [0, 1, 2, 3, 7, 8, 9, 16, 17, 33]
BAD_COUNTS = [
    2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, -1, -(2**31), 1.5, 3.5, 2.0, NAN, INF,
    "2", None, True
]
# fmt: on
BAD_SCALARS = [NAN, INF, -INF, 0.0, -1.0, 1e30, -1e30, 1e-30, 2**63, "x", None]
INDEX_DTYPES = ["int32", "int64", "uint64", "int8", "uint8", "int16"]


class Chooser:
    """Random choices drawn from a numpy Generator (the long run) or from
    hypothesis' data object (the tests, so failures shrink)."""

    def __init__(self, rng: Optional[numpy.random.Generator] = None, data: Any = None) -> None:
        self.rng = rng
        self.data = data

    def integer(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        if self.data is not None:
            from hypothesis import strategies

            return self.data.draw(strategies.integers(low, high))
        assert self.rng is not None
        return int(self.rng.integers(low, high, endpoint=True))

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, probability: float) -> bool:
        return self.integer(0, 999) < probability * 1000

    def values(self) -> numpy.random.Generator:
        """A generator for array contents, which need no shrinking."""
        return numpy.random.default_rng(self.integer(0, 2**32 - 1))


# Arrays with a layout that pickling would lose (read-only, strided, misaligned,
# Fortran order) travel as (LAID, layout, array), and the worker lays them out.
# A plain tuple, so the worker can unpickle cases without importing this module.
LAID = "__laid_out__"


def _lay_out(layout: str, source: numpy.ndarray) -> numpy.ndarray:
    if layout == "readonly":
        array = source.copy()
        array.flags.writeable = False
    elif layout == "fortran":
        array = numpy.asfortranarray(source)
    elif layout == "strided":
        array = numpy.repeat(source, 2, axis=-1)[..., ::2] if source.ndim else source
    else:
        raw = numpy.zeros(source.nbytes + 1, dtype=numpy.uint8)
        array = numpy.frombuffer(raw.data, dtype=source.dtype, count=source.size, offset=1)
        array = array.reshape(source.shape)
        array[...] = source
    return array


def is_laid_out(value: Any) -> bool:
    """Whether `value` is a (LAID, layout, array) marker. The tag is checked as a
    str first: an args tuple of three starting with an array would otherwise
    compare the array with the tag, and its truth value raised ValueError before
    the kernel ran (15% of the kernel calls never reached a kernel so: maxout,
    scatter_add, affine, sparse_linear and eight more families)."""
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and value[0] == LAID
    )


def _built(value: Any) -> Any:
    if is_laid_out(value):
        return _lay_out(value[1], value[2])
    if isinstance(value, (tuple, list)):
        return type(value)(_built(item) for item in value)
    if isinstance(value, dict):
        return {key: _built(item) for key, item in value.items()}
    return value


# --- arrays -----------------------------------------------------------------------


def _dtype(ch: Chooser, usual: str = "float32") -> Any:
    if ch.chance(0.85):
        return ch.choice([usual, "float32", "float64"])
    return ch.choice(["float16", "int32", "int64", "bool", ">f4", ">f8", "complex64"])


def floats(ch: Chooser, shape: Tuple[int, ...], dtype: Any = None) -> Any:
    """An array of the given shape: mostly normal values, sometimes special ones,
    sometimes an odd dtype or layout."""
    values = ch.values()
    data = numpy.asarray(values.normal(size=shape) * ch.choice([1.0, 10.0, 1e4]))
    if ch.chance(0.3):
        mask = values.random(shape) < 0.25
        data[mask] = values.choice(SPECIAL_FLOATS, size=int(mask.sum()))
    with numpy.errstate(all="ignore"):
        array = data.astype(dtype if dtype is not None else _dtype(ch))
    return laid_out(ch, array)


def laid_out(ch: Chooser, array: numpy.ndarray) -> Any:
    if ch.chance(0.8):
        return array
    return (LAID, ch.choice(["readonly", "fortran", "strided", "misaligned"]), array)


def integers(ch: Chooser, shape: Tuple[int, ...], low: int, high: int) -> Any:
    values = ch.values()
    dtype = ch.choice(INDEX_DTYPES) if ch.chance(0.2) else ch.choice(["int32", "int64"])
    data = values.integers(low, high, size=shape, endpoint=True)
    if ch.chance(0.1) and data.size:
        data.flat[values.integers(0, data.size)] = ch.choice([2**31 - 1, 2**62, -(2**62), -1])
    return laid_out(ch, data.astype(dtype))


def elementwise_shape(ch: Chooser) -> Tuple[int, ...]:
    ndim = ch.choice([0, 1, 1, 2, 2, 2, 3])
    return tuple(ch.choice(SIZES) for _ in range(ndim))


def matrix_shape(ch: Chooser) -> Tuple[int, int]:
    return ch.choice(SIZES), ch.choice(SIZES)


def lengths_for(ch: Chooser, n_rows: int, count: Optional[int] = None) -> Any:
    """Sequence lengths for n_rows rows: mostly a valid split, else one of the
    adversarial kinds (wrapping sums, negatives, wrong totals, odd types)."""
    kind = ch.integer(0, 11)
    values = ch.values()
    n_seq = count if count is not None else ch.integer(0, 5)
    if kind <= 6:
        if n_seq == 0:
            lengths = numpy.zeros(0, dtype="int64")
        else:
            cuts = numpy.sort(values.integers(0, n_rows, size=n_seq - 1, endpoint=True))
            lengths = numpy.diff(numpy.concatenate([[0], cuts, [n_rows]]))
    elif kind == 7:
        lengths = numpy.array([2**62] * 4 + [3], dtype="int64")
        lengths = numpy.concatenate([lengths, [n_rows]]) if ch.chance(0.5) else lengths
    elif kind == 8:
        lengths = numpy.array(
            ch.choice(
                [
                    [2**63 - 1, 2**63 - 1, 2],
                    [2**62, 2**62, 2**62, 2**62 + n_rows],
                    [n_rows + 1, -1],
                    [-(2**63), n_rows],
                ]
            ),
            dtype="int64",
        )
    elif kind == 9:
        lengths = numpy.array([max(n_rows, 1)] * max(n_seq, 1), dtype="int64")
        lengths[0] += ch.choice([-1, 1, 2**40])
    elif kind == 10:
        return ch.choice(
            [
                numpy.array([1.0, 2.0]),
                numpy.ones((2, 2), "int32"),
                [n_rows],
                [],
                numpy.array([2**64 - 1], dtype="uint64"),
                "abc",
                None,
            ]
        )
    else:
        lengths = values.integers(-3, 2**31, size=max(n_seq, 1))
    if count is not None and kind <= 6:
        lengths = lengths[:count]
    dtype = ch.choice(["int32", "int64", "int64", "uint64", "int8"])
    with numpy.errstate(all="ignore"):
        return laid_out(ch, numpy.asarray(lengths).astype(dtype))


def count_value(ch: Chooser, usual: Sequence[int]) -> Any:
    return ch.choice(BAD_COUNTS) if ch.chance(0.2) else ch.choice(list(usual))


def scalar(ch: Chooser, usual: Sequence[float]) -> Any:
    return ch.choice(BAD_SCALARS) if ch.chance(0.15) else ch.choice(list(usual))


def like(ch: Chooser, shape: Tuple[int, ...], dtype: Any) -> Any:
    """An array usually shaped and typed like another, sometimes not."""
    if ch.chance(0.1):
        shape = tuple(size + ch.choice([-1, 1]) if size else 1 for size in shape) or (1,)
    if ch.chance(0.1):
        dtype = _dtype(ch)
    return floats(ch, shape, dtype)


def _dtype_of(array: Any) -> Any:
    return array[2].dtype if isinstance(array, tuple) else array.dtype


# --- kernel cases -------------------------------------------------------------------

UNARY = [
    "relu",
    "sigmoid",
    "swish",
    "gelu",
    "gelu_approx",
    "dish",
    "hard_swish",
    "hard_swish_mobilenet",
    "hard_sigmoid",
    "hard_tanh",
    "dsigmoid",
    "dtanh",
]
BACKPROP_FROM_INPUT = [
    "backprop_relu",
    "backprop_hard_sigmoid",
    "backprop_hard_tanh",
    "backprop_hard_swish",
    "backprop_hard_swish_mobilenet",
    "backprop_sigmoid",
    "backprop_gelu",
    "backprop_gelu_approx",
    "backprop_dish",
]


def _unary(ch: Chooser) -> Tuple[str, tuple, dict]:
    method = ch.choice(UNARY + ["relu_k", "clipped_linear", "mish"])
    X = floats(ch, elementwise_shape(ch))
    kwargs: Dict[str, Any] = {"inplace": ch.chance(0.3)}
    if method == "relu_k":
        kwargs["n"] = scalar(ch, [6.0, 1.0, 0.0])
    elif method == "mish":
        kwargs["threshold"] = scalar(ch, [20.0, 5.0, 0.0])
    elif method == "clipped_linear":
        for name, usual in (
            ("slope", [1.0, 0.2]),
            ("offset", [0.0, 0.5]),
            ("min_val", [0.0, -1.0]),
            ("max_val", [1.0, 6.0]),
        ):
            kwargs[name] = scalar(ch, usual)
    return method, (X,), kwargs


def _backprop(ch: Chooser) -> Tuple[str, tuple, dict]:
    method = ch.choice(
        BACKPROP_FROM_INPUT
        + ["backprop_relu_k", "backprop_clipped_linear", "backprop_mish", "backprop_swish"]
    )
    shape = elementwise_shape(ch)
    X = floats(ch, shape)
    dY = like(ch, shape, _dtype_of(X))
    kwargs: Dict[str, Any] = {"inplace": ch.chance(0.3)}
    if method == "backprop_swish":
        return method, (dY, X, like(ch, shape, _dtype_of(X))), kwargs
    if method == "backprop_relu_k":
        kwargs["n"] = scalar(ch, [6.0, 1.0])
    elif method == "backprop_mish":
        kwargs["threshold"] = scalar(ch, [20.0, 5.0])
    elif method == "backprop_clipped_linear":
        kwargs["min_val"] = scalar(ch, [0.0, -1.0])
        kwargs["max_val"] = scalar(ch, [1.0, 6.0])
    return method, (dY, X), kwargs


def _softmax(ch: Chooser) -> Tuple[str, tuple, dict]:
    shape = elementwise_shape(ch)
    X = floats(ch, shape)
    axis = ch.choice([-1, -1, -1, 0, 1, 2, 5])
    temperature = scalar(ch, [1.0, 1.0, 0.5, 2.0])
    if ch.chance(0.5):
        return (
            "softmax",
            (X,),
            {"axis": axis, "temperature": temperature, "inplace": ch.chance(0.3)},
        )
    return (
        "backprop_softmax",
        (X, like(ch, shape, _dtype_of(X))),
        {"axis": axis, "temperature": temperature},
    )


def _sequences(ch: Chooser) -> Tuple[str, tuple, dict]:
    method = ch.choice(
        [
            "softmax_sequences",
            "backprop_softmax_sequences",
            "reduce_sum",
            "reduce_mean",
            "reduce_max",
            "reduce_first",
            "reduce_last",
        ]
    )
    rows, cols = matrix_shape(ch)
    X = floats(ch, (rows, cols) if ch.chance(0.9) else elementwise_shape(ch))
    lengths = lengths_for(ch, rows)
    if method == "backprop_softmax_sequences":
        return method, (like(ch, (rows, cols), _dtype_of(X)), X, lengths), {}
    return method, (X, lengths), {}


def _reduction_gradients(ch: Chooser) -> Tuple[str, tuple, dict]:
    method = ch.choice(["backprop_reduce_sum", "backprop_reduce_mean", "backprop_reduce_max"])
    n_seq, cols = ch.integer(0, 5), ch.choice(SIZES)
    d_out = floats(ch, (n_seq, cols))
    values = ch.values()
    if ch.chance(0.8):
        lengths = laid_out(
            ch, values.integers(0, 6, size=n_seq).astype(ch.choice(["int32", "int64"]))
        )
    else:
        lengths = lengths_for(ch, ch.choice(SIZES))
    if method == "backprop_reduce_max":
        which = integers(ch, (n_seq, cols) if ch.chance(0.9) else (n_seq, cols + 1), -1, 6)
        return method, (d_out, which, lengths), {}
    return method, (d_out, lengths), {}


def _windows(ch: Chooser) -> Tuple[str, tuple, dict]:
    rows, cols = matrix_shape(ch)
    nW = count_value(ch, [0, 1, 1, 2, 3])
    lengths = lengths_for(ch, rows) if ch.chance(0.6) else None
    if ch.chance(0.5):
        return "seq2col", (floats(ch, (rows, cols)), nW), {"lengths": lengths}
    width = 2 * nW + 1 if isinstance(nW, int) and 0 <= nW < 8 else 3
    if ch.chance(0.15):
        width += 1
    return "backprop_seq2col", (floats(ch, (rows, cols * width)), nW), {"lengths": lengths}


def _maxout(ch: Chooser) -> Tuple[str, tuple, dict]:
    rows, nO = matrix_shape(ch)
    P = ch.integer(0, 5)
    if ch.chance(0.5):
        return "maxout", (floats(ch, (rows, nO, P) if ch.chance(0.9) else (rows, nO)),), {}
    which = integers(
        ch, (rows, nO), -1 if ch.chance(0.1) else 0, max(P - 1, 0) + ch.choice([0, 0, 1])
    )
    return "backprop_maxout", (floats(ch, (rows, nO)), which, count_value(ch, [P, 1, 2, 3])), {}


def _tables(ch: Chooser) -> Tuple[str, tuple, dict]:
    n_row, cols = matrix_shape(ch)
    high = n_row - 1 + (1 if ch.chance(0.1) else 0)
    low = -1 if ch.chance(0.1) else 0
    if ch.chance(0.5):
        table = floats(ch, (n_row, cols))
        indices = integers(ch, (ch.choice(SIZES), ch.integer(0, 4)), low, max(high, 0))
        return "gather_add", (table, indices), {}
    n_index = ch.choice(SIZES)
    table = floats(ch, (n_row, cols) if ch.chance(0.8) else (n_row,))
    indices = integers(ch, (n_index,), low - (n_row if ch.chance(0.2) else 0), max(high, 0))
    values = like(ch, (n_index, cols), _dtype_of(table))
    return "scatter_add", (table, indices, values), {}


def _hash(ch: Chooser) -> Tuple[str, tuple, dict]:
    ids = integers(ch, (ch.choice(SIZES),), 0, 2**62) if ch.chance(0.9) else floats(ch, (3,))
    return "hash", (ids, count_value(ch, [0, 1, 2**32 - 1, 2**32, -1])), {}


def _optimizer(ch: Chooser) -> Tuple[str, tuple, dict]:
    shape = elementwise_shape(ch)
    weights = floats(ch, shape)
    dtype = _dtype_of(weights)
    method = ch.choice(["adam", "clip_gradient", "update_averages"])
    if method == "adam":
        arrays = (weights, like(ch, shape, dtype), like(ch, shape, dtype), like(ch, shape, dtype))
        options = (scalar(ch, [0.9]), scalar(ch, [0.999]), scalar(ch, [1e-8]), scalar(ch, [0.001]))
        return method, arrays + options, {}
    if method == "clip_gradient":
        return method, (weights, scalar(ch, [1.0, 0.1, 10.0])), {}
    return method, (weights, like(ch, shape, dtype), count_value(ch, [0, 1, 10, 1000])), {}


def _fused(ch: Chooser) -> Tuple[str, tuple, dict]:
    rows, cols = matrix_shape(ch)
    method = ch.choice(
        [
            "_layer_norm_forward",
            "_layer_norm_backward",
            "_maxout_forward",
            "_maxout_piece_gradients",
        ]
    )
    X = floats(ch, (rows, cols))
    dtype = _dtype_of(X)
    if method == "_layer_norm_forward":
        return method, (X, like(ch, (cols,), dtype), like(ch, (cols,), dtype)), {}
    if method == "_layer_norm_backward":
        return (
            method,
            (
                like(ch, (rows, cols), dtype),
                X,
                like(ch, (cols,), dtype),
                like(ch, (rows,), dtype),
                like(ch, (rows,), dtype),
            ),
            {},
        )
    nO, nP = ch.integer(0, 4), ch.integer(0, 4)
    if method == "_maxout_forward":
        return method, (X, like(ch, (nO, nP, cols), dtype), like(ch, (nO, nP), dtype)), {}
    which = integers(ch, (rows, nO), 0, max(nP - 1, 0) + ch.choice([0, 0, 1]))
    return method, (floats(ch, (rows, nO)), which, count_value(ch, [nP, 1])), {}


def _products(ch: Chooser) -> Tuple[str, tuple, dict]:
    M, N, K = ch.choice(SIZES), ch.choice(SIZES), ch.choice(SIZES)
    trans1, trans2 = ch.chance(0.5), ch.chance(0.5)
    if ch.chance(0.1):
        K2 = K + 1
    else:
        K2 = K
    dtype = _dtype(ch)
    x = floats(ch, (K, M) if trans1 else (M, K), dtype)
    y = floats(ch, (N, K2) if trans2 else (K2, N), dtype)
    if ch.chance(0.5):
        kwargs: Dict[str, Any] = {"trans1": trans1, "trans2": trans2}
        if ch.chance(0.3):
            kwargs["out"] = like(ch, (M, N), dtype)
        return "gemm", (x, y), kwargs
    W = floats(ch, (N, K2), dtype)
    return "affine", (floats(ch, (M, K), dtype), W, like(ch, (N,), dtype)), {}


def _lstm(ch: Chooser) -> Tuple[str, tuple, dict]:
    depth, dirs, nO, nI = ch.integer(1, 2), ch.integer(1, 2), ch.integer(1, 3), ch.integer(0, 3)
    values = ch.values()
    steps = ch.integer(0, 4)
    sizes = sorted(values.integers(1, 4, size=steps).tolist(), reverse=True)
    rows = int(sum(sizes))
    size = 0
    width = nI
    for _ in range(depth):
        size += dirs * (4 * nO * width + 8 * nO + 4 * nO * nO)
        width = nO * dirs
    if ch.chance(0.1):
        size += ch.choice([-1, 1])
    params = floats(ch, (size,), "float32")
    H0 = floats(ch, (depth, dirs, nO), "float32")
    C0 = floats(ch, (depth, dirs, nO), "float32")
    X = floats(ch, (rows, nI), "float32" if ch.chance(0.9) else None)
    size_at_t: Any = numpy.array(sizes, dtype="int32")
    if ch.chance(0.3):
        size_at_t = lengths_for(ch, rows)
    method = ch.choice(["lstm_forward_training", "lstm_forward_inference", "backprop_lstm"])
    if method == "backprop_lstm":
        # The worker runs the forward pass first (see run_case).
        dY = floats(ch, (rows, dirs * nO) if ch.chance(0.9) else (rows, nO + 1), "float32")
        return (
            "lstm_backprop",
            (params, H0, C0, X, numpy.array(sizes, dtype="int32"), dY, size_at_t),
            {},
        )
    return method, (params, H0, C0, X, size_at_t), {}


KERNEL_FAMILIES: List[Callable[[Chooser], Tuple[str, tuple, dict]]] = [
    _unary,
    _unary,
    _backprop,
    _backprop,
    _softmax,
    _sequences,
    _sequences,
    _reduction_gradients,
    _windows,
    _windows,
    _maxout,
    _tables,
    _hash,
    _optimizer,
    _fused,
    _products,
    _lstm,
]


def _linalg(ch: Chooser) -> Tuple[str, tuple, dict]:
    values = ch.values()

    def vector(size: int) -> List[float]:
        return [float(v) for v in values.normal(size=size)]

    n = ch.choice(SIZES)
    method = ch.choice(
        [
            "vec_arg_max",
            "vec_max",
            "vec_sum",
            "vec_norm",
            "vec_mean_variance",
            "vec_ops",
            "vecvec_ops",
            "vecvec_batch_add",
            "vecvec_arg_max_if_true",
            "vecvec_arg_max_if_zero",
            "mat_mean_var_rows",
            "Matrix",
        ]
    )
    if method in ("vec_arg_max", "vec_max", "vec_sum", "vec_norm", "vec_mean_variance"):
        return method, (vector(n),), {}
    if method == "vec_ops":
        return method, (vector(n), scalar(ch, [2.0, 0.5])), {}
    if method in ("vecvec_ops", "vecvec_arg_max_if_zero"):
        other = n if ch.chance(0.8) else ch.choice(SIZES)
        extra = (scalar(ch, [1.0]),) if method == "vecvec_ops" else ()
        return method, (vector(n), vector(other)) + extra, {}
    if method == "vecvec_batch_add":
        rows = [vector(n if ch.chance(0.8) else ch.choice(SIZES)) for _ in range(ch.integer(0, 4))]
        if ch.chance(0.05):
            return method, ([1.0] * 100000, [[1.0]] * 50, 1.0), {}
        return method, (vector(n), rows, scalar(ch, [1.0])), {}
    if method == "vecvec_arg_max_if_true":
        size = ch.choice(SIZES + [64, 65, 200])
        flags = [ch.chance(0.5) for _ in range(size if ch.chance(0.8) else ch.choice(SIZES))]
        return method, (vector(size), flags), {}
    if method == "mat_mean_var_rows":
        rows = [vector(n if ch.chance(0.8) else ch.choice(SIZES)) for _ in range(ch.integer(0, 4))]
        return method, (rows, scalar(ch, [0.0, 1e-8])), {}
    shape = (count_value(ch, [0, 1, 3]), count_value(ch, [0, 2, 4]))
    return method, shape, {}


def _compiled_layer(ch: Chooser) -> Tuple[str, tuple, dict]:
    """The compiled layers: sparse_linear, premap_ids, and the toy beam search."""
    n = ch.choice(SIZES)
    if ch.chance(0.2):
        nr_class, width = count_value(ch, [1, 2, 3]), count_value(ch, [1, 2, 4])
        rows, columns = ch.integer(0, 4), ch.integer(0, 4)
        tables = [floats(ch, (rows, columns) if ch.chance(0.8) else (columns,)) for _ in range(3)]
        options = {"nr_class": nr_class, "width": width, "limit": count_value(ch, [1, 3])}
        return "toy_beam", tuple(tables), options
    if ch.chance(0.6):
        keys = integers(ch, (n,), 0, 2**62)
        values = floats(
            ch, (n,) if ch.chance(0.9) else (n + 1,), "float32" if ch.chance(0.9) else None
        )
        options = {"nO": ch.integer(1, 4), "length": ch.choice([1, 16, 2**10])}
        return "sparse_linear", (keys, values, lengths_for(ch, n)), options
    ids = integers(ch, (n,) if ch.chance(0.7) else (n, ch.integer(0, 3)), 0, 40)
    column = ch.choice([None, None, 0, 1, 2, -1, 2**40])
    return "premap_ids", (ids,), {"default": count_value(ch, [0, 3]), "column": column}


def kernel_case(ch: Chooser) -> Tuple[Any, ...]:
    draw = ch.integer(0, 99)
    if draw < 8:
        return ("linalg",) + _linalg(ch)
    if draw < 12:
        return ("layer",) + _compiled_layer(ch)
    return ("ops",) + ch.choice(KERNEL_FAMILIES)(ch)


# --- model files ------------------------------------------------------------------


def _architectures() -> Dict[str, Tuple[Callable, Callable, Callable]]:
    """name -> (full model, model with dims left unset, sample input)."""
    from thinc.api import Embed, HashEmbed, LayerNorm, Linear, Maxout, Relu, Softmax, chain

    def floats_in(rows: int, cols: int) -> Callable:
        return lambda: numpy.random.default_rng(7).normal(size=(rows, cols)).astype("float32")

    return {
        "relu_softmax": (
            lambda: chain(Relu(nO=6, nI=4), Softmax(nO=3)),
            lambda: chain(Relu(), Softmax()),
            floats_in(5, 4),
        ),
        "maxout_layernorm": (
            lambda: chain(Maxout(nO=4, nP=3, nI=4), LayerNorm(), Linear(nO=2)),
            lambda: chain(Maxout(), LayerNorm(), Linear()),
            floats_in(5, 4),
        ),
        "embed_maxout": (
            lambda: chain(Embed(nO=4, nV=10), Maxout(nO=3, nP=2), LayerNorm()),
            lambda: chain(Embed(nO=4, nV=10), Maxout(nP=2), LayerNorm()),
            lambda: numpy.array([1, 2, 3, 9], dtype="int32"),
        ),
        "hashembed_linear": (
            lambda: chain(HashEmbed(nO=4, nV=16, seed=1), Linear(nO=2)),
            lambda: chain(HashEmbed(nO=4, nV=16, seed=1), Linear()),
            lambda: numpy.arange(5, dtype="uint64"),
        ),
    }


ARCHITECTURE_NAMES = ["relu_softmax", "maxout_layernorm", "embed_maxout", "hashembed_linear"]
_ORIGINALS: Dict[str, Tuple[bytes, numpy.ndarray]] = {}


def original_model(name: str) -> Tuple[bytes, numpy.ndarray]:
    """The bytes of a trained-looking model of that architecture and its output."""
    if name not in _ORIGINALS:
        from thinc.api import fix_random_seed

        fix_random_seed(0)
        full, _, sample = _architectures()[name]
        model = full()
        model.initialize(X=sample())
        _ORIGINALS[name] = (model.to_bytes(), numpy.asarray(model.predict(sample())))
    return _ORIGINALS[name]


def _reshaped(ch: Chooser, array: numpy.ndarray) -> numpy.ndarray:
    """The same bytes under another shape (transposed, flattened, split...)."""
    options: List[Callable[[], numpy.ndarray]] = [
        lambda: array.reshape(-1),
        lambda: array.reshape((1,) + array.shape),
        lambda: array.reshape(array.shape + (1,)),
        lambda: numpy.ascontiguousarray(array.T),
        lambda: array.reshape(tuple(reversed(array.shape))),
    ]
    if array.size % 2 == 0 and array.size:
        options.append(lambda: array.reshape(2, -1))
    if array.ndim == 3:
        options.append(lambda: numpy.ascontiguousarray(array.transpose(0, 2, 1)))
    if array.dtype == numpy.float32 and array.size % 2 == 0:
        options.append(lambda: array.reshape(-1).view("float64"))
    # Only real changes of shape count (a 1-d array reversed is itself).
    shapes = [option() for option in options]
    changed = [result for result in shapes if result.shape != array.shape] or [array.reshape(-1, 1)]
    return ch.choice(changed)


def _mutate_message(ch: Chooser, msg: Dict) -> str:
    """Change one thing in a decoded model message; returns the mutation's kind."""
    n_nodes = len(msg["nodes"])
    kind = ch.choice(["reshape", "reshape", "reshape", "dim", "dim", "param", "structure", "ref"])
    # A node the mutation applies to (a chain node has no params to reshape).
    with_params = [
        i for i, params in enumerate(msg["params"]) if any(v is not None for v in params.values())
    ]
    with_dims = [i for i, node in enumerate(msg["nodes"]) if node["dims"]]
    if kind in ("reshape", "param") and with_params:
        position = ch.choice(with_params)
    elif kind == "dim" and with_dims:
        position = ch.choice(with_dims)
    else:
        position = ch.integer(0, n_nodes - 1)
        kind = kind if kind == "structure" else "ref"
    node, params = msg["nodes"][position], msg["params"][position]
    named = [name for name, value in params.items() if value is not None]
    if kind == "reshape" and named:
        name = ch.choice(named)
        params[name] = _reshaped(ch, params[name])
    elif kind == "dim" and node["dims"]:
        dim = ch.choice(sorted(node["dims"]))
        node["dims"][dim] = ch.choice([None, 0, 1, 2, 3, 5, 7, 2**31, 2**62, -1, 1.5, "x"])
    elif kind == "param" and named:
        name = ch.choice(named)
        params[name] = ch.choice(
            [
                None,
                numpy.zeros(0, "float32"),
                numpy.float32(1.0),
                [1.0, 2.0],
                "W",
                params[name].astype("float64"),
                params[name].astype("float16"),
                params[name].astype("int32"),
                numpy.zeros((2**20,), "float32"),
            ]
        )
    elif kind == "structure":
        key = ch.choice(["nodes", "attrs", "params", "shims"])
        change = ch.integer(0, 3)
        if change == 0:
            msg[key] = msg[key][:-1]
        elif change == 1:
            msg[key][position] = ch.choice([None, 1, "x", [], {}])
        elif change == 2:
            node["name"] = ch.choice(["linear", "x", ""])
        else:
            node["dims"]["unknown"] = 3
    else:
        node["refs"]["x"] = ch.choice([0, -1, n_nodes, 2**40, "a", None])
    return kind


def _mutate_bytes(ch: Chooser, data: bytes) -> bytes:
    values = ch.values()
    buffer = bytearray(data)
    kind = ch.integer(0, 3)
    if kind == 0:
        for _ in range(ch.integer(1, 8)):
            buffer[int(values.integers(0, len(buffer)))] = int(values.integers(0, 256))
    elif kind == 1:
        del buffer[int(values.integers(0, len(buffer))) :]
    elif kind == 2:
        at = int(values.integers(0, len(buffer)))
        buffer[at:at] = bytes(values.integers(0, 256, size=ch.integer(1, 16)).astype("uint8"))
    else:
        at = int(values.integers(0, len(buffer)))
        buffer[at : at + 1] = ch.choice(
            [b"\xdd\xff\xff\xff\xff", b"\xc6\x7f\xff\xff\xff", b"\xcf" + b"\xff" * 8]
        )
    return bytes(buffer)


def model_case(ch: Chooser) -> Tuple[Any, ...]:
    import srsly

    name = ch.choice(ARCHITECTURE_NAMES)
    data, expected = original_model(name)
    if ch.chance(0.4):
        kind, mutated = "bytes", _mutate_bytes(ch, data)
    else:
        msg = srsly.msgpack_loads(data)
        kind = _mutate_message(ch, msg)
        mutated = srsly.msgpack_dumps(msg)
    # 0: dims left unset, 1: dims set, 2: dims set and initialized.
    return ("model", name, mutated, ch.integer(0, 2), kind, expected)


# --- the worker's side ---------------------------------------------------------------

_OPS: List[Any] = []


def _ops() -> Any:
    if not _OPS:
        from thinc.backends.numpy_ops import NumpyOps

        _OPS.append(NumpyOps())
    return _OPS[0]


def warm_up() -> None:
    """Import what the cases use."""
    import thinc.api  # noqa: F401
    from thinc.backends import linalg  # noqa: F401

    _ops()


def run_case(case: Tuple[Any, ...]) -> Tuple[str, Any]:
    """Run one case; ("ok", detail) or raises (the worker reports the error's type)."""
    kind = case[0]
    if kind == "ops":
        _, method, args, kwargs = case
        if method == "lstm_backprop":
            params, H0, C0, X, sizes, dY, lengths = _built(args)
            ops = _ops()
            _, state = ops.lstm_forward_training(params, H0, C0, X, sizes)
            ops.backprop_lstm(dY, lengths, params, state)
            return ("ok", method)
        with numpy.errstate(all="ignore"):
            getattr(_ops(), method)(*_built(args), **_built(kwargs))
        return ("ok", method)
    if kind == "linalg":
        from thinc.backends import linalg

        _, method, args, kwargs = case
        getattr(linalg, method)(*args, **kwargs)
        return ("ok", method)
    if kind == "model":
        return _run_model_case(case)
    if kind == "layer":
        return _run_layer_case(case)
    # Cases that show the harness notices a dead or stuck worker.
    if kind == "self-test-crash":
        import ctypes

        ctypes.string_at(0)
    if kind == "self-test-hang":
        import time

        time.sleep(3600)
    raise ValueError(f"unknown case kind {kind!r}")


def _run_layer_case(case: Tuple[Any, ...]) -> Tuple[str, Any]:
    from thinc.api import SparseLinear, premap_ids

    _, name, args, options = case
    args = _built(args)
    if name == "toy_beam":
        from thinc.extra.toy_search import ToyBeam

        beam = ToyBeam(options["nr_class"], options["width"], options["limit"])
        for _ in range(3):
            beam.advance(*args)
        beam.contents()
        return ("ok", name)
    if name == "sparse_linear":
        model = SparseLinear(nO=options["nO"], length=options["length"])
        model.initialize()
        scores, backprop = model.begin_update(args)
        backprop(numpy.ones_like(scores))
    else:
        mapping = {key: key * 2 for key in range(0, 40, 3)}
        model = premap_ids(mapping, default=options["default"], column=options["column"])
        model.predict(args[0])
    return ("ok", name)


def _run_model_case(case: Tuple[Any, ...]) -> Tuple[str, Any]:
    try:
        from thinc.model import declared_param_dims
    except ImportError:  # an older build, fuzzed through --thinc-root

        def declared_param_dims(node: Any) -> Dict[str, Tuple[str, ...]]:
            return {}

    _, name, data, setup, mutation, expected = case
    full, bare, sample = _architectures()[name]
    model = bare() if setup == 0 else full()
    if setup == 2:
        model.initialize(X=sample())
    model.from_bytes(data)
    for node in model.walk():
        for param, dim_names in declared_param_dims(node).items():
            if not node.has_param(param):
                continue
            shape = tuple(node.get_param(param).shape)
            implied = tuple(node.maybe_get_dim(dim) for dim in dim_names)
            if len(shape) != len(implied) or any(
                s is not None and s != a for s, a in zip(implied, shape)
            ):
                return ("bad", f"{node.name}.{param} loaded as {shape} against dims {implied}")
    try:
        with numpy.errstate(all="ignore"):
            output = numpy.asarray(model.predict(sample()))
    except Exception as error:
        return ("ok", f"loaded; predict raised {type(error).__name__}")
    same = output.shape == expected.shape and numpy.allclose(output, expected, equal_nan=True)
    return ("ok", f"loaded; ran, {'same' if same else 'different'} output ({mutation})")


# --- the corpus --------------------------------------------------------------------

WRAPPING = numpy.array([2**62] * 4 + [3], dtype="int64")
_F = numpy.ones((3, 4), dtype="float32")


def _wrapping_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    """The issue's out-of-bounds reproducers: lengths whose int64 sum wraps to the row count."""
    cases = []
    for dtype in ("float32", "float64"):
        X = _F.astype(dtype)
        d_out = numpy.ones((5, 4), dtype=dtype)
        calls = [
            ("reduce_sum", (X, WRAPPING)),
            ("reduce_mean", (X, WRAPPING)),
            ("reduce_max", (X, WRAPPING)),
            ("reduce_first", (X, WRAPPING)),
            ("reduce_last", (X, WRAPPING)),
            ("backprop_reduce_sum", (d_out, WRAPPING)),
            ("backprop_reduce_mean", (d_out, WRAPPING)),
            ("backprop_reduce_max", (d_out, numpy.zeros((5, 4), "int32"), WRAPPING)),
            ("softmax_sequences", (X, WRAPPING)),
            ("backprop_softmax_sequences", (X, X, WRAPPING)),
        ]
        for method, args in calls:
            cases.append((f"wrap-{method}-{dtype}", ("ops", method, args, {}), "error"))
        cases.append(
            (f"wrap-seq2col-{dtype}", ("ops", "seq2col", (X, 1), {"lengths": WRAPPING}), "error")
        )
        cases.append(
            (
                f"wrap-backprop_seq2col-{dtype}",
                ("ops", "backprop_seq2col", (numpy.ones((3, 12), dtype), 1), {"lengths": WRAPPING}),
                "error",
            )
        )
    params = numpy.zeros(4 * 2 * 3 + 8 * 2 + 4 * 2 * 2, dtype="float32")
    states = numpy.zeros((1, 1, 2), dtype="float32")
    X = numpy.ones((3, 3), dtype="float32")
    cases.append(
        (
            "wrap-lstm-size_at_t",
            ("ops", "lstm_forward_training", (params, states, states, X, WRAPPING), {}),
            "error",
        )
    )
    cases.append(
        (
            "wrap-lstm-inference",
            ("ops", "lstm_forward_inference", (params, states, states, X, WRAPPING), {}),
            "error",
        )
    )
    cases.append(
        (
            "wrap-uint64",
            ("ops", "reduce_sum", (_F, numpy.array([2**64 - 1, 4], dtype="uint64")), {}),
            "error",
        )
    )
    # Integer gradients take the reference Ops, whose numpy.repeat summed the
    # lengths unchecked (found by the long run: a crash, and a hang when zero-width).
    wrapping = numpy.array([2**62] * 4 + [3], dtype="uint64")
    for width in (8, 0):
        for method in ("backprop_reduce_sum", "backprop_reduce_mean"):
            d_out = numpy.ones((5, width), dtype="int64")
            cases.append(
                (
                    f"wrap-reference-{method}-{width}",
                    ("ops", method, (d_out, wrapping), {}),
                    "error",
                )
            )
    return cases


def _window_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    cases = []
    empty = numpy.ones((4, 0), dtype="float32")
    for nW in (2**31 - 1, 2**31, 2**40, 2**62):
        expected = "ok" if nW < 2**31 else "error"
        cases.append((f"zero-width-seq2col-{nW}", ("ops", "seq2col", (empty, nW), {}), expected))
        cases.append(
            (
                f"zero-width-backprop_seq2col-{nW}",
                ("ops", "backprop_seq2col", (empty, nW), {}),
                expected,
            )
        )
    cases.append(
        (
            "zero-width-backprop_reduce_sum",
            (
                "ops",
                "backprop_reduce_sum",
                (numpy.ones((1, 0), "float32"), numpy.array([2**40])),
                {},
            ),
            "any",
        )
    )
    cases.append(
        (
            "zero-width-reduce_sum-many-rows",
            ("ops", "reduce_sum", (numpy.ones((2**40, 0), "float32"), numpy.array([2**40])), {}),
            "ok",
        )
    )
    cases.append(
        (
            "zero-width-softmax_sequences",
            (
                "ops",
                "softmax_sequences",
                (numpy.ones((2**40, 0), "float32"), numpy.array([2**40])),
                {},
            ),
            "ok",
        )
    )
    cases.append(("float-window", ("ops", "seq2col", (_F, 1.5), {}), "error"))
    cases.append(
        (
            "float-pieces",
            (
                "ops",
                "backprop_maxout",
                (numpy.ones((2, 2), "float32"), numpy.zeros((2, 2), "int32"), 3.5),
                {},
            ),
            "error",
        )
    )
    cases.append(
        (
            "negative-step",
            (
                "ops",
                "update_averages",
                (numpy.ones(4, "float32"), numpy.zeros(4, "float32"), -10),
                {},
            ),
            "error",
        )
    )
    return cases


def _linalg_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    keys = numpy.arange(3, dtype="uint64")
    values = numpy.ones(3, dtype="float32")
    return [
        (
            "sparse-linear-wrapping-lengths",
            (
                "layer",
                "sparse_linear",
                (keys, values, numpy.array([2**63 - 1, 2**63 - 1, 5], dtype="int64")),
                {"nO": 2, "length": 16},
            ),
            "error",
        ),
        (
            "toy-beam-short-costs",
            (
                "layer",
                "toy_beam",
                (numpy.zeros((1, 3), "float32"), numpy.zeros((0, 0), "float32"), None),
                {"nr_class": 3, "width": 2, "limit": 5},
            ),
            "error",
        ),
        (
            "sparse-linear-uint64-lengths",
            (
                "layer",
                "sparse_linear",
                (keys, values, numpy.array([2**64 - 1, 4], dtype="uint64")),
                {"nO": 2, "length": 16},
            ),
            "error",
        ),
        (
            "linalg-ragged-batch",
            ("linalg", "vecvec_batch_add", ([1.0] * 100000, [[1.0]] * 50, 1.0), {}),
            "error",
        ),
        (
            "linalg-ragged-matrix",
            ("linalg", "mat_mean_var_rows", ([[1.0, 2.0], [3.0]], 0.0), {}),
            "error",
        ),
        ("linalg-huge-matrix", ("linalg", "Matrix", (70000, 70000), {}), "any"),
        (
            "linalg-flags-65",
            ("linalg", "vecvec_arg_max_if_true", ([1.0] * 65, [True] * 65), {}),
            "error",
        ),
    ]


def _activation_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    special = numpy.array(SPECIAL_FLOATS * 3, dtype="float32")
    cases = []
    for method in UNARY + ["mish", "relu_k", "clipped_linear", "softmax"]:
        for dtype in ("float32", "float64"):
            cases.append(
                (f"special-{method}-{dtype}", ("ops", method, (special.astype(dtype),), {}), "ok")
            )
            cases.append(
                (f"zero-d-{method}-{dtype}", ("ops", method, (numpy.array(-2.0, dtype),), {}), "ok")
            )
    cases.append(("relu_k-nan-cap", ("ops", "relu_k", (special,), {"n": NAN}), "ok"))
    cases.append(
        ("mish-far-negative", ("ops", "mish", (numpy.array([-3e38], "float32"),), {}), "ok")
    )
    return cases


def _empty_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    """Maxout and layer norm with a zero in every dim: the first fuzz crash after the
    harness found its last (the piece gradients of no units divided by zero)."""
    cases = []
    for rows, cols, nO, nP in itertools.product((0, 1, 3), (0, 2), (0, 2), (0, 1, 3)):
        X = numpy.ones((rows, cols), "float32")
        which = numpy.zeros((rows, nO), "int32")
        W, b = numpy.ones((nO, nP, cols), "float32"), numpy.zeros((nO, nP), "float32")
        d_best = numpy.ones((rows, nO), "float32")
        shape = f"{rows}x{cols}-nO{nO}-nP{nP}"
        # No pieces may be refused (a clear error: no winner can be in range).
        expected = "ok" if nP else "any"
        cases += [
            (
                f"empty-piece-gradients-{shape}",
                ("ops", "_maxout_piece_gradients", (d_best, which, nP), {}),
                expected,
            ),
            (
                f"empty-backprop-maxout-{shape}",
                ("ops", "backprop_maxout", (d_best, which, nP), {}),
                expected,
            ),
            (f"empty-maxout-forward-{shape}", ("ops", "_maxout_forward", (X, W, b), {}), expected),
            (
                f"empty-layer-norm-{shape}",
                (
                    "ops",
                    "_layer_norm_forward",
                    (X, numpy.ones(cols, "float32"), numpy.zeros(cols, "float32")),
                    {},
                ),
                "any",
            ),
        ]
    return cases


def _model_cases() -> List[Tuple[str, Tuple[Any, ...], str]]:
    """Reshaped and transposed params that once loaded silently into fresh models."""
    import srsly

    cases = []
    for name in ARCHITECTURE_NAMES:
        data, expected = original_model(name)
        msg = srsly.msgpack_loads(data)
        for position, params in enumerate(msg["params"]):
            for param, value in params.items():
                if value is None or value.ndim != 2 or value.shape[0] == value.shape[1]:
                    continue
                altered = srsly.msgpack_loads(data)
                altered["params"][position][param] = numpy.ascontiguousarray(value.T)
                mutated = srsly.msgpack_dumps(altered)
                for setup in (0, 1, 2):
                    cases.append(
                        (
                            f"transposed-{name}-{position}-{param}-{setup}",
                            ("model", name, mutated, setup, "reshape", expected),
                            "error",
                        )
                    )
        for setup in (0, 1, 2):
            cases.append(
                (f"intact-{name}-{setup}", ("model", name, data, setup, "none", expected), "ok")
            )
    return cases


def corpus() -> List[Tuple[str, Tuple[Any, ...], str]]:
    """(name, case, expected outcome: "ok", "error" or "any" that is neither crash nor hang)."""
    return (
        _wrapping_cases()
        + _window_cases()
        + _linalg_cases()
        + _activation_cases()
        + _empty_cases()
        + _model_cases()
    )
