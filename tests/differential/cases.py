"""The differential test's cases: calls into ``thinc.api`` on generated edge inputs.

Plain Python, importable by this thinc and by thinc 8.3.14 alike: each case is
``(function name, edge case, call)``, where ``call(api, numpy)`` returns a value."""

from typing import Any, Callable, List, Tuple

# The runner imports this file as a top-level module, pytest from the package.
try:
    from .helpers import fill_params, floats, forward_backward  # noqa: F401
except ImportError:
    from helpers import fill_params, floats, forward_backward  # type: ignore[no-redef]  # noqa: F401

Case = Tuple[str, str, Callable[[Any, Any], Any]]
CASES: List[Case] = []


def case(function: str, edge: str, call: Callable[[Any, Any], Any]) -> None:
    CASES.append((function, edge, call))


# ---------------------------------------------------------------- edge inputs

# name -> builder(np) of a float array
ARRAYS = {
    "empty-batch": lambda np: floats(np, 0, 4),
    "zero-width": lambda np: floats(np, 3, 0),
    "size-1": lambda np: floats(np, 1, 1),
    "plain": lambda np: floats(np, 3, 4),
    "1d": lambda np: floats(np, 5),
    "3d": lambda np: floats(np, 2, 3, 4),
    "float64": lambda np: floats(np, 3, 4).astype("float64"),
}
# name -> builder(np) of (X, lengths)
SEQUENCES = {
    "empty-batch": lambda np: (floats(np, 0, 3), np.zeros((0,), "int32")),
    "zero-length-seq": lambda np: (floats(np, 4, 3), np.asarray([0, 3, 0, 1], "int32")),
    "size-1": lambda np: (floats(np, 1, 1), np.asarray([1], "int32")),
    "plain": lambda np: (floats(np, 5, 3), np.asarray([2, 3], "int32")),
    "float-lengths": lambda np: (floats(np, 5, 3), np.asarray([2.0, 3.0], "float32")),
    "lengths-too-long": lambda np: (floats(np, 5, 3), np.asarray([4, 3], "int32")),
    "lengths-too-short": lambda np: (floats(np, 5, 3), np.asarray([1, 1], "int32")),
}
# name -> builder(np) of a list of 2d arrays
LISTS = {
    "empty-list": lambda np: [],
    "zero-length-seq": lambda np: [floats(np, 0, 3), floats(np, 2, 3, seed=1)],
    "only-empty-seqs": lambda np: [floats(np, 0, 3), floats(np, 0, 3)],
    "size-1": lambda np: [floats(np, 1, 3)],
    "plain": lambda np: [floats(np, 2, 3), floats(np, 4, 3, seed=1)],
}

# ------------------------------------------------------------- Ops: unary math

UNARY = [
    "relu",
    "sigmoid",
    "gelu",
    "gelu_approx",
    "swish",
    "mish",
    "dish",
    "hard_sigmoid",
    "hard_tanh",
    "hard_swish",
    "hard_swish_mobilenet",
    "relu_k",
    "clipped_linear",
    "softmax",
    "dsigmoid",
    "dtanh",
    "erf",
    "sechsq",
    "as_contig",
    "logloss",
]
for _name in UNARY:
    for _edge, _make in ARRAYS.items():
        case(f"Ops.{_name}", _edge, lambda t, np, n=_name, m=_make: getattr(t.NumpyOps(), n)(m(np)))
    case(
        f"Ops.{_name}",
        "int-array",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(np.arange(6, dtype="int32").reshape(2, 3)),
    )
    case(f"Ops.{_name}", "None", lambda t, np, n=_name: getattr(t.NumpyOps(), n)(None))

# backprop(dY, X-or-Y) pairs
BACKPROP = [
    "backprop_relu",
    "backprop_gelu",
    "backprop_gelu_approx",
    "backprop_mish",
    "backprop_dish",
    "backprop_hard_sigmoid",
    "backprop_hard_tanh",
    "backprop_hard_swish",
    "backprop_hard_swish_mobilenet",
    "backprop_relu_k",
    "backprop_clipped_linear",
    "backprop_sigmoid",
    "backprop_softmax",
]
for _name in BACKPROP:
    for _edge in ["empty-batch", "zero-width", "size-1", "plain", "3d"]:
        _make = ARRAYS[_edge]
        case(
            f"Ops.{_name}",
            _edge,
            lambda t, np, n=_name, m=_make: getattr(t.NumpyOps(), n)(m(np), m(np) * 0.5),
        )
    case(
        f"Ops.{_name}",
        "shape-mismatch",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(floats(np, 3, 4), floats(np, 4, 3)),
    )
for _edge in ["empty-batch", "size-1", "plain"]:
    case(
        "Ops.backprop_swish",
        _edge,
        lambda t, np, m=ARRAYS[_edge]: t.NumpyOps().backprop_swish(m(np), m(np), m(np) * 0.5),
    )

# ----------------------------------------------------------- Ops: sequences

for _name in ["reduce_sum", "reduce_mean", "reduce_max", "reduce_first", "reduce_last"]:
    for _edge, _make in SEQUENCES.items():
        case(
            f"Ops.{_name}", _edge, lambda t, np, n=_name, m=_make: getattr(t.NumpyOps(), n)(*m(np))
        )
for _name in ["reduce_sum", "reduce_mean"]:
    for _edge in ["empty-batch", "zero-length-seq", "size-1", "plain"]:
        case(
            f"Ops.backprop_{_name}",
            _edge,
            lambda t, np, n=_name, m=SEQUENCES[_edge]: getattr(t.NumpyOps(), "backprop_" + n)(
                floats(np, len(m(np)[1]), 3), m(np)[1]
            ),
        )
for _edge in ["empty-batch", "size-1", "plain"]:
    _make = SEQUENCES[_edge]
    case(
        "Ops.softmax_sequences",
        _edge,
        lambda t, np, m=_make: t.NumpyOps().softmax_sequences(*m(np)),
    )
    for _nW in [0, 1, 2]:
        case(
            "Ops.seq2col",
            f"{_edge},nW={_nW}",
            lambda t, np, m=_make, w=_nW: t.NumpyOps().seq2col(m(np)[0], w, lengths=m(np)[1]),
        )
        case(
            "Ops.backprop_seq2col",
            f"{_edge},nW={_nW}",
            lambda t, np, m=_make, w=_nW: t.NumpyOps().backprop_seq2col(
                np.tile(m(np)[0], (1, 2 * w + 1)), w, lengths=m(np)[1]
            ),
        )
case("Ops.seq2col", "negative-nW", lambda t, np: t.NumpyOps().seq2col(floats(np, 3, 2), -1))
case("Ops.seq2col", "no-lengths", lambda t, np: t.NumpyOps().seq2col(floats(np, 3, 2), 1))

for _edge, _make in LISTS.items():
    case("Ops.flatten", _edge, lambda t, np, m=_make: t.NumpyOps().flatten(m(np)))
    case("Ops.flatten", _edge + ",pad=1", lambda t, np, m=_make: t.NumpyOps().flatten(m(np), pad=1))
    case("Ops.list2padded", _edge, lambda t, np, m=_make: t.NumpyOps().list2padded(m(np)))
    case("Ops.pad", _edge, lambda t, np, m=_make: t.NumpyOps().pad(m(np)))
    case(
        "Ops.unflatten",
        _edge,
        lambda t, np, m=_make: t.NumpyOps().unflatten(
            t.NumpyOps().flatten(m(np)), [len(x) for x in m(np)]
        ),
    )
    case(
        "Ops.padded2list",
        _edge,
        lambda t, np, m=_make: t.NumpyOps().padded2list(t.NumpyOps().list2padded(m(np))),
    )
    case(
        "Ops.unpad",
        _edge,
        lambda t, np, m=_make: t.NumpyOps().unpad(t.NumpyOps().pad(m(np)), [len(x) for x in m(np)]),
    )
case(
    "Ops.flatten",
    "float-scalars",
    lambda t, np: t.NumpyOps().flatten([np.asarray(1.0), np.asarray(2.0)]),
)
case(
    "Ops.unflatten",
    "lengths-too-short",
    lambda t, np: t.NumpyOps().unflatten(floats(np, 5, 2), [1, 1]),
)
case(
    "Ops.unflatten",
    "lengths-too-long",
    lambda t, np: t.NumpyOps().unflatten(floats(np, 2, 2), [3, 3]),
)

for _n in [-1, 0, 1, 2, 5]:
    for _edge, _keys in [("empty-keys", []), ("size-1", [7]), ("plain", [1, 2, 3, 4])]:
        case(
            "Ops.ngrams",
            f"n={_n},{_edge}",
            lambda t, np, n=_n, k=_keys: t.NumpyOps().ngrams(n, np.asarray(k, dtype="uint64")),
        )
for _edge, _ids in [("empty", (0,)), ("size-1", (1,)), ("2d", (2, 3))]:
    case(
        "Ops.hash",
        _edge,
        lambda t, np, s=_ids: t.NumpyOps().hash(
            np.arange(int(np.prod(s)), dtype="uint64").reshape(s), 7
        ),
    )

# -------------------------------------------------------- Ops: tables, misc

for _edge, _shape in [("empty-batch", (0, 3)), ("size-1", (1, 1)), ("plain", (2, 3))]:
    case(
        "Ops.gather_add",
        _edge,
        lambda t, np, s=_shape: t.NumpyOps().gather_add(
            floats(np, 5, 4), np.arange(int(np.prod(s)), dtype="int32").reshape(s) % 5
        ),
    )
    case(
        "Ops.scatter_add",
        _edge,
        lambda t, np, s=_shape: t.NumpyOps().scatter_add(
            floats(np, 5, 4), np.arange(s[0], dtype="int32") % 5, floats(np, s[0], 4)
        ),
    )
case(
    "Ops.gather_add",
    "out-of-range",
    lambda t, np: t.NumpyOps().gather_add(floats(np, 5, 4), np.asarray([[9]], "int32")),
)
for _edge, _shape in [("empty-batch", (0, 2, 3)), ("size-1", (1, 1, 1)), ("plain", (2, 3, 4))]:
    case("Ops.maxout", _edge, lambda t, np, s=_shape: t.NumpyOps().maxout(floats(np, *s)))
    case(
        "Ops.backprop_maxout",
        _edge,
        lambda t, np, s=_shape: t.NumpyOps().backprop_maxout(
            floats(np, s[0], s[1]), np.zeros(s[:2], "int32"), s[2]
        ),
    )
for _edge, (_a, _b) in {
    "empty-batch": ((0, 4), (4, 3)),
    "zero-inner": ((3, 0), (0, 2)),
    "size-1": ((1, 1), (1, 1)),
    "plain": ((3, 4), (4, 2)),
    "mismatch": ((3, 4), (3, 2)),
}.items():
    case(
        "Ops.gemm",
        _edge,
        lambda t, np, a=_a, b=_b: t.NumpyOps().gemm(floats(np, *a), floats(np, *b)),
    )
    case(
        "Ops.affine",
        _edge,
        lambda t, np, a=_a, b=_b: t.NumpyOps().affine(
            floats(np, *a), floats(np, *b).T, floats(np, b[1])
        ),
    )
for _drop in [None, 0.0, 0.5, 1.0]:
    for _shape in [(0, 3), (3,)]:
        case(
            "Ops.get_dropout_mask",
            f"drop={_drop},shape={_shape}",
            lambda t, np, d=_drop, s=_shape: (lambda m: None if m is None else m.shape)(
                t.NumpyOps().get_dropout_mask(s, d)
            ),
        )
for _edge, _shape in [("empty", (0,)), ("zero-dims", (0, 0)), ("size-1", (1,)), ("int-shape", 3)]:
    for _name in ["alloc", "alloc_f", "alloc_i"]:
        case(f"Ops.{_name}", _edge, lambda t, np, n=_name, s=_shape: getattr(t.NumpyOps(), n)(s))
case("Ops.alloc2f", "zero", lambda t, np: t.NumpyOps().alloc2f(0, 0))
case("Ops.alloc1f", "negative", lambda t, np: t.NumpyOps().alloc1f(-1))
for _name in ["asarray", "asarray_f", "asarray_i", "asarray1f", "asarray2f", "asarray1i"]:
    for _edge, _value in [
        ("empty-list", []),
        ("nested", [[1, 2], [3, 4]]),
        ("scalars", [1.5, 2.5]),
        ("strings", ["a", "b"]),
    ]:
        case(f"Ops.{_name}", _edge, lambda t, np, n=_name, v=_value: getattr(t.NumpyOps(), n)(v))
for _name in ["reshape2f", "reshape2i", "reshape2"]:
    case(
        f"Ops.{_name}",
        "empty",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(np.zeros((0,), "f"), 0, 3),
    )
    case(
        f"Ops.{_name}",
        "bad-size",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(np.zeros((5,), "f"), 2, 3),
    )
for _edge, _value in [("empty", (0, 3)), ("plain", (3, 4))]:
    case("Ops.position_encode", _edge, lambda t, np, v=_value: t.NumpyOps().position_encode(*v))
    case("Ops.tile", _edge, lambda t, np, v=_value: t.NumpyOps().tile(floats(np, *v), 2))
    case(
        "Ops.clip_gradient",
        _edge,
        lambda t, np, v=_value: t.NumpyOps().clip_gradient(floats(np, *v), 1.0),
    )
case(
    "Ops.insert_into",
    "plain",
    lambda t, np: t.NumpyOps().insert_into((3, 4), [floats(np, 1, 2), floats(np, 2, 3)]),
)
case("Ops.insert_into", "empty-list", lambda t, np: t.NumpyOps().insert_into((3, 4), []))
for _size in [1, 2, 5]:
    for _edge, _items in [("empty", []), ("plain", list(range(5)))]:
        case(
            "Ops.minibatch",
            f"size={_size},{_edge}",
            lambda t, np, s=_size, i=_items: [list(b) for b in t.NumpyOps().minibatch(s, i)],
        )
case("Ops.minibatch", "size=0", lambda t, np: [list(b) for b in t.NumpyOps().minibatch(0, [1, 2])])
case(
    "Ops.multibatch",
    "mismatched",
    lambda t, np: [b for b in t.NumpyOps().multibatch(2, [1, 2, 3], [1, 2])],
)

# ------------------------------------------------------------------ utilities

for _edge, _value in [
    ("strings", lambda np: ["a", "b"]),
    ("string", lambda np: "abc"),
    ("None", lambda np: None),
    ("int", lambda np: 3),
    ("empty-list", lambda np: []),
    ("array", lambda np: floats(np, 2, 3)),
    ("1d-array", lambda np: floats(np, 3)),
    ("list-of-arrays", lambda np: [floats(np, 2, 3)]),
    ("nested-empty", lambda np: [[]]),
    ("list-of-lists", lambda np: [[1.0, 2.0]]),
]:
    case("get_width", _edge, lambda t, np, v=_value: t.get_width(v(np)))
case(
    "get_width",
    "Ragged",
    lambda t, np: t.get_width(t.Ragged(floats(np, 3, 2), np.asarray([3], "i"))),
)
case("get_width", "Padded", lambda t, np: t.get_width(t.list2padded().predict([floats(np, 2, 3)])))
case("get_width", "1d-ids", lambda t, np: t.get_width(np.asarray([0, 5, 2], "int32")))
case("get_width", "1d-empty", lambda t, np: t.get_width(np.zeros((0,), "int32")))
case("Linear.initialize", "X=strings", lambda t, np: t.Linear(3, 4).initialize(X=["a", "b"]))
for _edge, _value in [
    ("empty", []),
    ("plain", [0, 2, 1]),
    ("2d", [[0, 1]]),
    ("negative", [-1]),
    ("too-big", [5]),
]:
    case(
        "to_categorical",
        _edge,
        lambda t, np, v=_value: t.to_categorical(np.asarray(v, "int32"), n_classes=3),
    )
case(
    "to_categorical",
    "label_smoothing",
    lambda t, np: t.to_categorical(np.asarray([0, 2], "int32"), n_classes=3, label_smoothing=0.1),
)
case(
    "to_categorical",
    "label_smoothing-too-big",
    lambda t, np: t.to_categorical(np.asarray([0], "int32"), n_classes=3, label_smoothing=0.9),
)
case(
    "to_categorical", "no-n_classes-empty", lambda t, np: t.to_categorical(np.asarray([], "int32"))
)
for _edge, _value in [
    ("numpy", lambda np: floats(np, 2)),
    ("list", lambda np: [1]),
    ("None", lambda np: None),
]:
    case("get_array_module", _edge, lambda t, np, v=_value: t.get_array_module(v(np)).__name__)
    case("is_cupy_array", _edge, lambda t, np, v=_value: t.is_cupy_array(v(np)))
case("Ops.to_numpy", "list", lambda t, np: t.NumpyOps().to_numpy([1, 2]))

# ------------------------------------------------------------------- types

case(
    "Ragged",
    "float-lengths",
    lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([1.0, 2.0], "f")).lengths,
)
case(
    "Ragged",
    "float-lengths-dataXd",
    lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([1.0, 2.0], "f")).dataXd,
)
case("Ragged", "list-lengths", lambda t, np: t.Ragged(floats(np, 3, 2), [1, 2]).lengths)
case(
    "Ragged",
    "lengths-too-long",
    lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([5], "i")).lengths,
)
case("Ragged", "empty", lambda t, np: t.Ragged(floats(np, 0, 2), np.zeros((0,), "i"))[0:0].data)
case("Ragged", "getitem", lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "i"))[1].data)
case(
    "Ragged",
    "getitem-out-of-range",
    lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "i"))[5].data,
)
case(
    "Padded",
    "parts-disagree",
    lambda t, np: (
        t.Padded(
            floats(np, 3, 2, 4),
            np.asarray([2, 1, 1], "i"),
            np.asarray([3, 1], "i"),
            np.asarray([0, 1], "i"),
        ).data.shape
    ),
)
case(
    "Padded",
    "lengths-indices-disagree",
    lambda t, np: (
        t.Padded(
            floats(np, 2, 2, 1),
            np.asarray([2, 2], "i"),
            np.asarray([2, 2], "i"),
            np.asarray([0], "i"),
        ).indices
    ),
)
case(
    "Padded",
    "columns-disagree",
    lambda t, np: (
        t.Padded(
            floats(np, 2, 3, 1),
            np.asarray([2, 2], "i"),
            np.asarray([2, 2], "i"),
            np.asarray([0, 1], "i"),
        ).lengths
    ),
)
case(
    "Padded",
    "plain",
    lambda t, np: (
        t.Padded(
            floats(np, 3, 2, 4),
            np.asarray([2, 2, 1], "i"),
            np.asarray([3, 2], "i"),
            np.asarray([0, 1], "i"),
        ).size_at_t
    ),
)
case(
    "Padded",
    "getitem",
    lambda t, np: (
        t.Padded(
            floats(np, 3, 2, 4),
            np.asarray([2, 2, 1], "i"),
            np.asarray([3, 2], "i"),
            np.asarray([0, 1], "i"),
        )[0].data
    ),
)
case(
    "Ops.padded2list",
    "lengths-indices-disagree",
    lambda t, np: t.NumpyOps().padded2list(
        t.Padded(
            floats(np, 2, 2, 1),
            np.asarray([2, 2], "i"),
            np.asarray([2, 2], "i"),
            np.asarray([0], "i"),
        )
    ),
)
case(
    "Ops.padded2list",
    "columns-disagree",
    lambda t, np: t.NumpyOps().padded2list(
        t.Padded(
            floats(np, 2, 3, 1),
            np.asarray([2, 2], "i"),
            np.asarray([2, 2], "i"),
            np.asarray([0, 1], "i"),
        )
    ),
)
case(
    "ragged2list",
    "float-lengths",
    lambda t, np: t.ragged2list().predict(t.Ragged(floats(np, 3, 2), np.asarray([1.0, 2.0], "f"))),
)
case(
    "reduce_mean",
    "float-lengths",
    lambda t, np: t.reduce_mean().predict(t.Ragged(floats(np, 3, 2), np.asarray([1.0, 2.0], "f"))),
)
case(
    "ArgsKwargs", "from_items", lambda t, np: t.ArgsKwargs.from_items([(0, "a"), ("k", 1)]).items()
)

# ------------------------------------------------------------------ layers

DENSE = [
    "Linear",
    "Relu",
    "Maxout",
    "Softmax",
    "Mish",
    "Swish",
    "Gelu",
    "HardSwish",
    "HardSwishMobilenet",
    "Dish",
    "HardSigmoid",
    "HardTanh",
    "ReluK",
    "Sigmoid",
    "ClippedLinear",
]
for _name in DENSE:
    for _edge in ["empty-batch", "size-1", "plain"]:
        _rows = {"empty-batch": 0, "size-1": 1, "plain": 3}[_edge]
        _width = 1 if _edge == "size-1" else 4
        case(
            _name,
            _edge,
            lambda t, np, n=_name, r=_rows, w=_width: forward_backward(
                getattr(t, n)(2, w), floats(np, r, w), floats(np, 2, w)
            ),
        )
    case(
        _name,
        "wrong-width",
        lambda t, np, n=_name: forward_backward(
            getattr(t, n)(2, 4), floats(np, 3, 5), floats(np, 2, 4)
        ),
    )
    case(
        _name,
        "1d-input",
        lambda t, np, n=_name: forward_backward(
            getattr(t, n)(2, 4), floats(np, 4), floats(np, 2, 4)
        ),
    )
    case(
        _name,
        "init-empty-sample",
        lambda t, np, n=_name: (
            getattr(t, n)().initialize(X=floats(np, 0, 4), Y=floats(np, 0, 2)).get_dim("nI")
        ),
    )
for _edge, _rows in [("empty-batch", 0), ("size-1", 1), ("plain", 3)]:
    case(
        "LayerNorm",
        _edge,
        lambda t, np, r=_rows: forward_backward(t.LayerNorm(4), floats(np, r, 4), floats(np, 2, 4)),
    )
    case(
        "Dropout",
        _edge,
        lambda t, np, r=_rows: t.Dropout(0.0).initialize().predict(floats(np, r, 4)),
    )
    case(
        "Logistic",
        _edge,
        lambda t, np, r=_rows: forward_backward(t.Logistic(), floats(np, r, 4), floats(np, 2, 4)),
    )
    case(
        "sigmoid_activation",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.sigmoid_activation(), floats(np, r, 4), floats(np, 2, 4)
        ),
    )
    case(
        "softmax_activation",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.softmax_activation(), floats(np, r, 4), floats(np, 2, 4)
        ),
    )
    case(
        "MultiSoftmax",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.MultiSoftmax((2, 3), 4), floats(np, r, 4), floats(np, 2, 4)
        ),
    )
    case(
        "CauchySimilarity",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.CauchySimilarity(4),
            (floats(np, r, 4), floats(np, r, 4, seed=1)),
            (floats(np, 2, 4), floats(np, 2, 4)),
        ),
    )
    case(
        "expand_window",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.expand_window(1), floats(np, r, 4), floats(np, 2, 4)
        ),
    )
IDS = {
    "empty-batch": lambda np: np.zeros((0,), "uint64"),
    "size-1": lambda np: np.asarray([3], "uint64"),
    "plain": lambda np: np.asarray([1, 5, 3], "uint64"),
    "2d-ids": lambda np: np.asarray([[1, 2], [3, 4]], "uint64"),
    "2d-empty": lambda np: np.zeros((0, 2), "uint64"),
    "out-of-range": lambda np: np.asarray([100], "uint64"),
}
for _edge, _ids in IDS.items():
    case(
        "Embed",
        _edge,
        lambda t, np, i=_ids: forward_backward(t.Embed(3, 10), i(np), np.asarray([1, 2], "uint64")),
    )
    case(
        "Embed(column=1)",
        _edge,
        lambda t, np, i=_ids: forward_backward(
            t.Embed(3, 10, column=1), i(np), np.asarray([[1, 2]], "uint64")
        ),
    )
    case(
        "HashEmbed",
        _edge,
        lambda t, np, i=_ids: forward_backward(
            t.HashEmbed(3, 10), i(np), np.asarray([1, 2], "uint64")
        ),
    )
    case(
        "uniqued(Embed(column=1))",
        _edge,
        lambda t, np, i=_ids: forward_backward(
            t.uniqued(t.Embed(3, 10, column=1), column=1), i(np), np.asarray([[1, 2]], "uint64")
        ),
    )
    case(
        "remap_ids",
        _edge,
        lambda t, np, i=_ids: t.remap_ids({1: 0, 3: 1}, default=2).predict(
            [int(v) for v in i(np).ravel()]
        ),
    )
    case(
        "premap_ids",
        _edge,
        lambda t, np, i=_ids: t.premap_ids({1: 0, 3: 1}, default=2).predict(i(np)),
    )
for _edge, _make in LISTS.items():
    for _name in ["list2ragged", "list2padded", "list2array"]:
        case(
            _name,
            _edge,
            lambda t, np, n=_name, m=_make: forward_backward(
                getattr(t, n)(), m(np), [floats(np, 2, 3)]
            ),
        )
    case(
        "with_array(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_array(t.Linear(2, 3)), m(np), [floats(np, 2, 3)]
        ),
    )
    case(
        "with_array(Linear) padded",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_array(t.Linear(2, 3)),
            t.NumpyOps().list2padded(m(np)),
            t.NumpyOps().list2padded([floats(np, 2, 3)]),
        ),
    )
    case(
        "with_padded(noop)",
        _edge,
        lambda t, np, m=_make: forward_backward(t.with_padded(t.noop()), m(np), [floats(np, 2, 3)]),
    )
    case(
        "with_ragged(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_ragged(t.Linear(2, 3)), m(np), [floats(np, 2, 3)]
        ),
    )
    case(
        "with_flatten(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_flatten(t.Linear(2, 3)), [m(np)], [[floats(np, 2, 3)]]
        ),
    )
    case(
        "with_list(noop)",
        _edge,
        lambda t, np, m=_make: forward_backward(t.with_list(t.noop()), m(np), [floats(np, 2, 3)]),
    )
    case(
        "LSTM",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.LSTM(2, 3),
            t.NumpyOps().list2padded(m(np)) if m(np) else m(np),
            t.NumpyOps().list2padded([floats(np, 2, 3)]),
        ),
    )
    for _name in ["reduce_sum", "reduce_mean", "reduce_max", "reduce_first", "reduce_last"]:
        case(
            _name,
            _edge,
            lambda t, np, n=_name, m=_make: forward_backward(
                getattr(t, n)(),
                t.list2ragged().predict(m(np)),
                t.list2ragged().predict([floats(np, 2, 3)]),
            ),
        )
    case(
        "ParametricAttention",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.ParametricAttention(3),
            t.list2ragged().predict(m(np)),
            t.list2ragged().predict([floats(np, 2, 3)]),
        ),
    )
for _edge, _value in [
    ("strings", ["ab", "c"]),
    ("empty-list", []),
    ("list-of-lists", [["ab", "c"], []]),
    ("string", "abc"),
]:
    case("strings2arrays", _edge, lambda t, np, v=_value: t.strings2arrays().predict(v))
case(
    "with_array(Embed)",
    "empty-ids-seq",
    lambda t, np: forward_backward(
        t.with_array(t.Embed(3, 10)),
        [np.zeros((0,), "uint64"), np.ones((2,), "uint64")],
        [np.ones((2,), "uint64")],
    ),
)
case(
    "with_array(Embed)",
    "only-empty-ids",
    lambda t, np: forward_backward(
        t.with_array(t.Embed(3, 10)), [np.zeros((0,), "uint64")], [np.ones((2,), "uint64")]
    ),
)
case(
    "with_array(Linear) ragged",
    "empty-batch",
    lambda t, np: forward_backward(
        t.with_array(t.Linear(2, 3)),
        t.Ragged(floats(np, 0, 3), np.zeros((0,), "i")),
        [floats(np, 2, 3)],
    ),
)
case(
    "with_array(Linear) padded",
    "3d-empty",
    lambda t, np: forward_backward(
        t.with_array(t.Linear(2, 3)),
        t.Padded(
            floats(np, 0, 0, 3), np.zeros((0,), "i"), np.zeros((0,), "i"), np.zeros((0,), "i")
        ),
        [floats(np, 2, 3)],
    ),
)
case(
    "ragged2list",
    "empty",
    lambda t, np: t.ragged2list().predict(t.Ragged(floats(np, 0, 2), np.zeros((0,), "i"))),
)
case("padded2list", "empty", lambda t, np: t.padded2list().predict(t.NumpyOps().list2padded([])))
for _depth in [0, 1]:
    case(
        "PyTorchLSTM", f"depth={_depth}", lambda t, np, d=_depth: t.PyTorchLSTM(3, 3, depth=d).name
    )
    case("LSTM", f"depth={_depth}", lambda t, np, d=_depth: t.LSTM(3, 3, depth=d).name)
case("chain", "one-layer", lambda t, np: t.chain(t.Linear(2, 3)).name)
case(
    "chain",
    "empty-batch",
    lambda t, np: forward_backward(
        t.chain(t.Linear(3, 4), t.Relu(2, 3)), floats(np, 0, 4), floats(np, 2, 4)
    ),
)
case(
    "concatenate",
    "empty-batch",
    lambda t, np: forward_backward(
        t.concatenate(t.Linear(3, 4), t.Linear(2, 4)), floats(np, 0, 4), floats(np, 2, 4)
    ),
)
case("concatenate", "no-layers", lambda t, np: t.concatenate().name)
case(
    "add",
    "empty-batch",
    lambda t, np: forward_backward(
        t.add(t.Linear(3, 4), t.Linear(3, 4)), floats(np, 0, 4), floats(np, 2, 4)
    ),
)
case(
    "residual",
    "empty-batch",
    lambda t, np: forward_backward(t.residual(t.Linear(4, 4)), floats(np, 0, 4), floats(np, 2, 4)),
)
case("clone", "zero", lambda t, np: t.clone(t.Linear(4, 4), 0).name)
case("clone", "one", lambda t, np: t.clone(t.Linear(4, 4), 1).name)
case(
    "tuplify",
    "empty-batch",
    lambda t, np: forward_backward(
        t.tuplify(t.noop(), t.noop()), floats(np, 0, 4), floats(np, 2, 4)
    ),
)
case(
    "array_getitem",
    "empty-batch",
    lambda t, np: forward_backward(
        t.array_getitem(slice(0, 2)), floats(np, 0, 4), floats(np, 2, 4)
    ),
)
case(
    "with_reshape(Linear)",
    "empty-batch",
    lambda t, np: forward_backward(
        t.with_reshape(t.Linear(4, 4)), floats(np, 0, 2, 4), floats(np, 2, 2, 4)
    ),
)
case(
    "with_array2d(Linear)",
    "empty-list",
    lambda t, np: forward_backward(t.with_array2d(t.Linear(2, 3)), [], [floats(np, 2, 3)]),
)
case(
    "map_list(Linear)",
    "empty-list",
    lambda t, np: forward_backward(t.map_list(t.Linear(2, 3)), [], [floats(np, 2, 3)]),
)
case(
    "bidirectional",
    "empty-padded",
    lambda t, np: forward_backward(
        t.bidirectional(t.LSTM(2, 3)),
        t.NumpyOps().list2padded([floats(np, 0, 3)]),
        t.NumpyOps().list2padded([floats(np, 2, 3)]),
    ),
)

# --------------------------------------------------------------- losses

for _edge, (_rows, _cols) in [("empty-batch", (0, 3)), ("size-1", (1, 1)), ("plain", (3, 3))]:
    case(
        "CategoricalCrossentropy",
        _edge,
        lambda t, np, r=_rows, c=_cols: t.CategoricalCrossentropy(normalize=True)(
            abs(floats(np, r, c)) / 4, np.zeros((r,), "int32")
        ),
    )
    case(
        "CosineDistance",
        _edge,
        lambda t, np, r=_rows, c=_cols: t.CosineDistance(normalize=True)(
            floats(np, r, c), floats(np, r, c, seed=1)
        ),
    )
    case(
        "L2Distance",
        _edge,
        lambda t, np, r=_rows, c=_cols: t.L2Distance(normalize=True)(
            floats(np, r, c), floats(np, r, c, seed=1)
        ),
    )
    case(
        "SequenceCategoricalCrossentropy",
        _edge,
        lambda t, np, r=_rows, c=_cols: t.SequenceCategoricalCrossentropy()(
            [abs(floats(np, r, c)) / 4], [np.zeros((r,), "int32")]
        ),
    )
case(
    "SequenceCategoricalCrossentropy",
    "empty-list",
    lambda t, np: t.SequenceCategoricalCrossentropy()([], []),
)
case(
    "CategoricalCrossentropy",
    "strings-no-names",
    lambda t, np: t.CategoricalCrossentropy()(floats(np, 2, 2), ["a", "b"]),
)

# ------------------------------------------------------------- training

case("Model", "mixed_precision-cpu", lambda t, np: t.PyTorchWrapper_v2(None, mixed_precision=True))
case("PyTorchGradScaler", "enabled-cpu", lambda t, np: t.PyTorchGradScaler(enabled=True).found_inf)
for _name in ["Adam", "SGD", "RAdam"]:
    case(
        _name,
        "empty-param",
        lambda t, np, n=_name: getattr(t, n)(0.1)(
            (0, "W"), np.zeros((0,), "f"), np.zeros((0,), "f")
        ),
    )
for _name, _args in [
    ("constant", (0.5,)),
    ("decaying", (1.0, 0.1)),
    ("compounding", (1.0, 10.0, 1.5)),
    ("warmup_linear", (1.0, 2, 10)),
    ("slanted_triangular", (1.0, 10)),
    ("cyclic_triangular", (0.1, 1.0, 2)),
    ("constant_then", (1.0, 2, [0.5])),
]:
    case(
        _name,
        "steps-0-3",
        lambda t, np, n=_name, a=_args: [getattr(t, n)(*a)(step=s) for s in range(4)],
    )

# ------------------------------------------------------------ more layers

for _edge, _make in LISTS.items():
    case(
        "ParametricAttention_v2",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.ParametricAttention_v2(nO=3),
            t.list2ragged().predict(m(np)),
            t.list2ragged().predict([floats(np, 2, 3)]),
        ),
    )
    case(
        "with_flatten_v2(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_flatten_v2(t.Linear(2, 3)), [m(np)], [[floats(np, 2, 3)]]
        ),
    )
    case(
        "with_getitem(0, Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_getitem(0, t.with_array(t.Linear(2, 3))), (m(np), 1), ([floats(np, 2, 3)], 1)
        ),
    )
    case(
        "with_debug(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_debug(t.with_array(t.Linear(2, 3))), m(np), [floats(np, 2, 3)]
        ),
    )
    case(
        "with_cpu(Linear)",
        _edge,
        lambda t, np, m=_make: forward_backward(
            t.with_cpu(t.with_array(t.Linear(2, 3)), t.NumpyOps()), m(np), [floats(np, 2, 3)]
        ),
    )
for _edge, _rows in [("empty-batch", 0), ("size-1", 1), ("plain", 3)]:
    case(
        "Softmax_v2",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.Softmax_v2(2, 4), floats(np, r, 4), floats(np, 2, 4)
        ),
    )
    case(
        "Softmax_v2(unnormalized)",
        _edge,
        lambda t, np, r=_rows: (
            t.Softmax_v2(2, 4, normalize_outputs=False)
            .initialize(X=floats(np, 2, 4))
            .predict(floats(np, r, 4))
            .shape
        ),
    )
    case(
        "siamese",
        _edge,
        lambda t, np, r=_rows: forward_backward(
            t.siamese(t.Linear(3, 4), t.CauchySimilarity(3)),
            (floats(np, r, 4), floats(np, r, 4, seed=1)),
            (floats(np, 2, 4), floats(np, 2, 4)),
        ),
    )
for _edge, _ids in IDS.items():
    case(
        "remap_ids_v2",
        _edge,
        lambda t, np, i=_ids: t.remap_ids_v2({1: 0, 3: 1}, default=2).predict(i(np)),
    )
    case(
        "remap_ids_v2(column=0)",
        _edge,
        lambda t, np, i=_ids: t.remap_ids_v2({1: 0, 3: 1}, default=2, column=0).predict(i(np)),
    )
for _name in ["SparseLinear", "SparseLinear_v2"]:
    for _edge, _lengths in [("empty-batch", []), ("zero-features", [0, 2]), ("plain", [1, 2])]:
        case(
            _name,
            _edge,
            lambda t, np, n=_name, ls=_lengths: (
                t.NumpyOps()
                .asarray(
                    getattr(t, n)(2, length=16)
                    .initialize()
                    .predict(
                        (
                            np.arange(sum(ls), dtype="uint64"),
                            np.ones(sum(ls), "f"),
                            np.asarray(ls, "int32"),
                        )
                    )
                )
                .shape
            ),
        )

# --------------------------------------------------------- more Ops

for _edge, _n in [("empty", 0), ("size-1", 1), ("plain", 6)]:
    case(
        "Ops.adam",
        _edge,
        lambda t, np, n=_n: t.NumpyOps().adam(
            floats(np, n),
            floats(np, n, seed=1),
            np.zeros(n, "f"),
            np.zeros(n, "f"),
            0.9,
            0.999,
            1e-8,
            0.01,
        ),
    )
    case(
        "Ops.update_averages",
        _edge,
        lambda t, np, n=_n: (
            lambda ema: (t.NumpyOps().update_averages(ema, floats(np, n, seed=1), 3), ema)[1]
        )(floats(np, n)),
    )
case("Ops.position_encode", "odd-width", lambda t, np: t.NumpyOps().position_encode(3, 5))
for _name in ["reshape1f", "reshape3f", "reshape4f", "reshape_f"]:
    case(
        f"Ops.{_name}",
        "empty",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(
            np.zeros((0,), "f"),
            *(
                (0,)
                if n == "reshape1f"
                else (0, 2, 1)
                if n == "reshape3f"
                else (0, 2, 1, 1)
                if n == "reshape4f"
                else ((0, 2),)
            ),
        ),
    )
for _name in ["alloc3f", "alloc4f", "alloc2i", "alloc3i"]:
    case(
        f"Ops.{_name}",
        "zero",
        lambda t, np, n=_name: getattr(t.NumpyOps(), n)(*([0] * int(n[5]))).shape,
    )

# ------------------------------------------------------------ Model API

MODEL_CALLS = {
    "get_dim-unset": lambda t, np: t.Linear().get_dim("nO"),
    "get_dim-missing": lambda t, np: t.Linear().get_dim("nX"),
    "set_dim-change": lambda t, np: t.Linear(2, 3).initialize().set_dim("nO", 4),
    "set_dim-new-name": lambda t, np: t.Linear(2, 3).set_dim("nX", 4),
    "has_dim-missing": lambda t, np: t.Linear().has_dim("nX"),
    "has_dim-unset": lambda t, np: t.Linear().has_dim("nO"),
    "get_param-uninitialized": lambda t, np: t.Linear(2, 3).get_param("W"),
    "get_param-missing": lambda t, np: t.Linear(2, 3).initialize().get_param("Q"),
    "set_param-wrong-shape": lambda t, np: (
        t.Linear(2, 3).initialize().set_param("W", np.zeros((5, 5), "f"))
    ),
    "get_grad-missing": lambda t, np: t.Linear(2, 3).initialize().get_grad("W"),
    "get_ref-missing": lambda t, np: t.Linear(2, 3).get_ref("x"),
    "has_ref-missing": lambda t, np: t.Linear(2, 3).has_ref("x"),
    "initialize-no-dims": lambda t, np: t.Linear().initialize(),
    "initialize-mismatched-X": lambda t, np: t.Linear(2, 3).initialize(X=floats(np, 2, 5)),
    "predict-uninitialized": lambda t, np: t.Linear(2, 3).predict(floats(np, 2, 3)),
    "chain-dims-disagree": lambda t, np: t.chain(t.Linear(2, 3), t.Linear(4, 5)).initialize(),
    "to_bytes-uninitialized": lambda t, np: len(t.Linear(2, 3).to_bytes()) > 0,
    "from_bytes-other-shape": lambda t, np: t.Linear(2, 3).from_bytes(
        t.Linear(4, 5).initialize().to_bytes()
    ),
    "walk-order": lambda t, np: [
        n.name for n in t.chain(t.Linear(2, 3), t.residual(t.Relu(3, 3))).walk()
    ],
    "walk-dfs-post": lambda t, np: [
        n.name for n in t.chain(t.Linear(2, 3), t.residual(t.Relu(3, 3))).walk(order="dfs_post")
    ],
    "walk-bad-order": lambda t, np: list(t.Linear(2, 3).walk(order="sideways")),
    "param_names": lambda t, np: t.Maxout(2, 3).param_names,
    "dim_names": lambda t, np: t.Maxout(2, 3).dim_names,
    "copy-dims": lambda t, np: t.Linear(2, 3).copy().get_dim("nO"),
    "attrs-set_dropout_rate": lambda t, np: (
        t.set_dropout_rate(t.chain(t.Linear(2, 3), t.Dropout(0.1)), 0.5)
        .layers[1]
        .attrs["dropout_rate"]
    ),
    "replace_node-missing": lambda t, np: t.chain(t.Linear(2, 3), t.Linear(3, 3)).replace_node(
        t.Linear(), t.Linear()
    ),
    "get_dim-None-name": lambda t, np: t.Linear().get_dim(None),
}
for _edge, _call in MODEL_CALLS.items():
    case("Model", _edge, _call)

# ----------------------------------------------- losses and config, bad input

LOSS_CALLS = {
    "CategoricalCrossentropy-shape-mismatch": lambda t, np: t.CategoricalCrossentropy()(
        abs(floats(np, 3, 3)), np.zeros((2,), "int32")
    ),
    "CategoricalCrossentropy-label-too-big": lambda t, np: t.CategoricalCrossentropy()(
        abs(floats(np, 2, 3)), np.asarray([0, 5], "int32")
    ),
    "CategoricalCrossentropy-names": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
        abs(floats(np, 2, 2)) / 4, ["a", "b"]
    ),
    "CategoricalCrossentropy-missing": lambda t, np: t.CategoricalCrossentropy(
        names=["a", "b"], missing_value=""
    )(abs(floats(np, 2, 2)) / 4, ["a", ""]),
    "CategoricalCrossentropy-unknown-name": lambda t, np: t.CategoricalCrossentropy(
        names=["a", "b"]
    )(abs(floats(np, 2, 2)) / 4, ["a", "zzz"]),
    "CategoricalCrossentropy-2d-truths": lambda t, np: t.CategoricalCrossentropy()(
        abs(floats(np, 2, 3)) / 4, np.eye(3, dtype="f")[:2]
    ),
    "CategoricalCrossentropy-label_smoothing": lambda t, np: t.CategoricalCrossentropy(
        label_smoothing=0.1
    )(abs(floats(np, 2, 3)) / 4, np.asarray([0, 2], "int32")),
    "CategoricalCrossentropy-label_smoothing-too-big": lambda t, np: t.CategoricalCrossentropy(
        label_smoothing=0.9
    )(abs(floats(np, 2, 3)) / 4, np.asarray([0, 2], "int32")),
    "SequenceCategoricalCrossentropy-length-mismatch": lambda t, np: (
        t.SequenceCategoricalCrossentropy()(
            [abs(floats(np, 2, 3))], [np.zeros((2,), "int32"), np.zeros((1,), "int32")]
        )
    ),
    "CosineDistance-shape-mismatch": lambda t, np: t.CosineDistance()(
        floats(np, 2, 3), floats(np, 3, 3)
    ),
    "CosineDistance-zero-vectors": lambda t, np: t.CosineDistance()(
        np.zeros((2, 3), "f"), np.zeros((2, 3), "f")
    ),
    "L2Distance-shape-mismatch": lambda t, np: t.L2Distance()(floats(np, 2, 3), floats(np, 3, 3)),
    "L2Distance-ragged": lambda t, np: t.L2Distance().get_grad(
        t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "i")),
        t.Ragged(floats(np, 3, 2, seed=1), np.asarray([1, 2], "i")),
    ),
}
for _edge, _call in LOSS_CALLS.items():
    case("loss", _edge, _call)

CONFIG_CALLS = {
    "resolve-Linear": lambda t, np: (
        t.registry.resolve(t.Config().from_str('[m]\n@layers = "Linear.v1"\nnO = 3\n'))["m"].name
    ),
    "resolve-unknown": lambda t, np: t.registry.resolve(
        t.Config().from_str('[m]\n@layers = "Nope.v9"\n')
    ),
    "resolve-bad-arg": lambda t, np: t.registry.resolve(
        t.Config().from_str('[m]\n@layers = "Linear.v1"\nbogus = 3\n')
    ),
    "resolve-bad-type": lambda t, np: t.registry.resolve(
        t.Config().from_str('[m]\n@layers = "Linear.v1"\nnO = "x"\n')
    ),
    "resolve-chain": lambda t, np: (
        t.registry.resolve(
            t.Config().from_str(
                '[m]\n@layers = "chain.v1"\n\n[m.*.a]\n@layers = "Relu.v1"\n\n[m.*.b]\n@layers = "Softmax.v1"\n'
            )
        )["m"].name
    ),
    "resolve-Adam": lambda t, np: (
        type(
            t.registry.resolve(
                t.Config().from_str('[o]\n@optimizers = "Adam.v1"\nlearn_rate = 0.1\n')
            )["o"]
        ).__name__
    ),
    "from_str-bad": lambda t, np: t.Config().from_str("[m\n"),
    "registry-create-twice": lambda t, np: (
        t.registry.create("diffcases_x") if not hasattr(t.registry, "diffcases_x") else None,
        t.registry.create("diffcases_x"),
    ),
}
for _edge, _call in CONFIG_CALLS.items():
    case("config", _edge, _call)

for _name, _args in [("Adam", (-1.0,)), ("SGD", (0.0,)), ("Adam", (0.1,))]:
    case(
        _name,
        f"learn_rate={_args[0]},step",
        lambda t, np, n=_name, a=_args: (
            lambda o: (o((0, "W"), np.ones(3, "f"), np.full(3, 0.5, "f"))[0], o.step_schedules())
        )(getattr(t, n)(*a)),
    )
case(
    "Adam", "shape-mismatch", lambda t, np: t.Adam(0.1)((0, "W"), np.ones(3, "f"), np.ones(2, "f"))
)
case(
    "Adam",
    "grad_clip",
    lambda t, np: t.Adam(0.1, grad_clip=0.1)((0, "W"), np.ones(3, "f"), np.full(3, 5.0, "f"))[0],
)
case(
    "Adam",
    "L2",
    lambda t, np: t.Adam(0.1, L2=0.1, L2_is_weight_decay=False)(
        (0, "W"), np.ones(3, "f"), np.full(3, 0.5, "f")
    )[0],
)
case("SGD", "float64", lambda t, np: t.SGD(0.1)((0, "W"), np.ones(3), np.full(3, 0.5))[0])

# --------------------------------------------- more sequence backprops

for _edge in ["empty-batch", "zero-length-seq", "size-1", "plain"]:
    _make = SEQUENCES[_edge]
    case(
        "Ops.backprop_reduce_first",
        _edge,
        lambda t, np, m=_make: (
            t.NumpyOps().backprop_reduce_first(
                floats(np, len(m(np)[1]), m(np)[0].shape[1]), t.NumpyOps().reduce_first(*m(np))[1]
            )
            if len(m(np)[1]) and min(m(np)[1]) > 0
            else None
        ),
    )
    case(
        "Ops.backprop_reduce_last",
        _edge,
        lambda t, np, m=_make: (
            t.NumpyOps().backprop_reduce_last(
                floats(np, len(m(np)[1]), m(np)[0].shape[1]), t.NumpyOps().reduce_last(*m(np))[1]
            )
            if len(m(np)[1]) and min(m(np)[1]) > 0
            else None
        ),
    )
    case(
        "Ops.backprop_reduce_max",
        _edge,
        lambda t, np, m=_make: (
            t.NumpyOps().backprop_reduce_max(
                floats(np, len(m(np)[1]), m(np)[0].shape[1]),
                t.NumpyOps().reduce_max(*m(np))[1],
                m(np)[1],
            )
            if len(m(np)[1]) and min(m(np)[1]) > 0
            else None
        ),
    )
    case(
        "Ops.backprop_softmax_sequences",
        _edge,
        lambda t, np, m=_make: t.NumpyOps().backprop_softmax_sequences(
            m(np)[0], t.NumpyOps().softmax_sequences(*m(np)), m(np)[1]
        ),
    )
for _dtype in ["float32", "float64", "int32", "uint64"]:
    case(
        "Ops.as_contig",
        f"dtype={_dtype}",
        lambda t, np, d=_dtype: t.NumpyOps().as_contig(floats(np, 3, 4).T, dtype=d),
    )
    case(
        "Ops.asarray",
        f"dtype={_dtype}",
        lambda t, np, d=_dtype: t.NumpyOps().asarray([1, 2], dtype=d),
    )


# ------------------------------------------------- further families, a module each

# Each module defines register(case, floats), which adds its cases through the
# two helpers above (imported by name, so the runner, which imports this file as
# a top-level module, and pytest, which imports it from the package, both work).
# A module may also list KNOWN_DIFFERENCES (test_against_8_3.py's format).
EXTRA_MODULES = ["cases_training", "cases_layers", "cases_util", "cases_layouts"]
EXTRA_KNOWN: List[Tuple[str, str, str]] = []


def _register_extras() -> None:
    import importlib

    for name in EXTRA_MODULES:
        if __package__:
            module = importlib.import_module(f".{name}", __package__)
        else:
            module = importlib.import_module(name)
        module.register(case, floats)
        EXTRA_KNOWN.extend(getattr(module, "KNOWN_DIFFERENCES", []))


_register_extras()
