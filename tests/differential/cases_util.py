"""Differential cases: util (see cases.py for the format).

thinc.util, thinc.types (Ragged, Padded, ArgsKwargs, SizedGenerator), the config
system and registries, and the batching helpers of Ops (minibatch, multibatch)."""

from typing import Any, Callable, List, Tuple

# (function pattern, edge pattern, why ours may differ from 8.3.14)
KNOWN_DIFFERENCES: List[Tuple[str, str, str]] = [
    (
        "util.to_categorical",
        "bool-labels",
        "8.3.14 uses bool labels as a row mask (garbage); ours refuses non-integer labels",
    ),
    # Ragged indexing: 8.3.14 handles plain ints and slices with a start >= 0 only.
    (
        "Ragged.__getitem__*",
        "int=-1",
        "8.3.14 pairs the last sequence's rows with no lengths (lengths[-1:0]); ours selects it",
    ),
    (
        "Ragged.__getitem__",
        "numpy-int*",
        "8.3.14 crashes (TypeError) iterating a numpy integer; ours selects that sequence",
    ),
    (
        "Ragged.__getitem__",
        "slice=:*",
        "8.3.14 crashes (TypeError: None >= 1) on a slice without a start; ours slices",
    ),
    (
        "Ragged.__getitem__",
        "slice=-*",
        "8.3.14 returns rows from the first sequence on for a negative start (garbage)",
    ),
    (
        "Ragged.__getitem__",
        "slice=*:*2",
        "8.3.14 ignores the step for the rows (garbage) or crashes without a start",
    ),
    (
        "Ragged.__getitem__",
        "*empty",
        "8.3.14 crashes (ValueError from vstack of nothing) on no indices; ours selects none",
    ),
    ("Ragged.__getitem__", "list=[]", "8.3.14 crashes (ValueError from vstack of nothing)"),
    (
        "Ragged.__getitem__",
        "array-bool",
        "8.3.14 reads booleans as positions 0/1 (garbage); ours selects as a mask",
    ),
    (
        "Ragged.__getitem__",
        "array-2d",
        "8.3.14 crashes (TypeError converting a row to int); ours raises IndexError",
    ),
    (
        "Ragged.__getitem__",
        "str",
        "8.3.14 crashes (ValueError from int('a')); ours raises TypeError",
    ),
    (
        "Ragged.__getitem__(3d)",
        "*",
        "8.3.14 flattens an int-selected sequence's rows to 2d (slices and lists keep them)",
    ),
    (
        "Ragged",
        "field:zero-width-*",
        "8.3.14 reshapes empty data to (0, 0), losing its rows; ours keeps (3, 0)",
    ),
    (
        "Ragged",
        "field:list-data",
        "8.3.14 crashes (AttributeError: list.size); ours raises TypeError",
    ),
    # Padded indexing: 8.3.14 copies lengths into size_at_t and indexes the time axis.
    (
        "Padded",
        "api:getitem-int",
        "8.3.14 sets size_at_t to the lengths (garbage); ours recomputes it per step",
    ),
    (
        "Padded",
        "api:getitem-list",
        "8.3.14 indexes the time axis with sequence positions (garbage)",
    ),
    (
        "Padded",
        "api:getitem-int-out-of-range",
        "8.3.14 returns an empty Padded for a missing sequence; ours raises IndexError",
    ),
    # Batching.
    ("Ops.minibatch(more)", "padded", "8.3.14 indexes a Padded's time axis (garbage)"),
    (
        "Ops.minibatch(more)",
        "pairs",
        "8.3.14 crashes (TypeError) indexing a list inside Pairs with an array",
    ),
    (
        "Ops.minibatch(more)",
        "str",
        "8.3.14 crashes on iteration (TypeError: string indices); ours refuses up front",
    ),
    (
        "Ops.minibatch(more)",
        "dict",
        "8.3.14 crashes on iteration (TypeError: unhashable array); ours refuses up front",
    ),
    (
        "Ops.minibatch(more)",
        "sized-generator",
        "8.3.14 crashes on iteration (TypeError: not subscriptable); ours refuses up front",
    ),
    ("Ops.*batch(more)", "size=-1", "8.3.14 loops for ever"),
    (
        "Ops.*batch(more)",
        "size=numpy-int",
        "8.3.14 crashes (TypeError: next() of a numpy int); ours uses the number",
    ),
    (
        "Ops.minibatch(more)",
        "size=float",
        "8.3.14 crashes (TypeError: next() of a float); ours uses the number",
    ),
    (
        "Ops.*batch(more)",
        "sizes=list",
        "8.3.14 crashes (TypeError: a list is not an iterator) on its documented sequence",
    ),
    (
        "Ops.minibatch(more)",
        "sizes=iter-runs-out",
        "8.3.14 leaks StopIteration; ours raises ValueError",
    ),
    (
        "Ops.multibatch(more)",
        "other-longer",
        "8.3.14 silently drops the longer sequence's extra items; ours refuses",
    ),
    (
        "Ops.multibatch(more)",
        "first-empty",
        "8.3.14 silently drops the other sequence's items; ours refuses unequal lengths",
    ),
    (
        "use_ops",
        "cupy",
        "8.3.14 builds a CupyOps without CuPy (it fails on first use); ours refuses",
    ),
    (
        "get_ops",
        "cupy",
        "8.3.14 builds a CupyOps without CuPy (it fails on first use); ours refuses",
    ),
]


def _module(name: str) -> Any:
    """A submodule of whichever thinc this side imports (thinc.api lacks some names)."""
    import importlib

    return importlib.import_module(name)


def _ragged(t: Any, np: Any, floats: Callable[..., Any], lengths: Any, *row: int) -> Any:
    total = int(sum(lengths))
    return t.Ragged(floats(np, total, *(row or (2,))), np.asarray(lengths, "int32"))


def _padded(t: Any, np: Any, floats: Callable[..., Any]) -> Any:
    return t.Padded(
        floats(np, 3, 2, 4),
        np.asarray([2, 2, 1], "int32"),
        np.asarray([3, 2], "int32"),
        np.asarray([1, 0], "int32"),
    )


def _batches(batches: Any) -> Any:
    """A SizedGenerator's length and its batches (as lists where they are lists)."""
    return len(batches), [b for b in batches]


def register(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    _to_categorical(case, floats)
    _get_width(case, floats)
    _util_misc(case, floats)
    _ops_context(case, floats)
    _ragged_cases(case, floats)
    _padded_cases(case, floats)
    _argskwargs_cases(case, floats)
    _batching(case, floats)
    _config(case, floats)
    _registry(case, floats)


# ------------------------------------------------------------- to_categorical


def _to_categorical(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    name = "util.to_categorical"

    def tc(values: Any, dtype: str = "int32", **kwargs: Any) -> Any:
        return lambda t, np: t.to_categorical(np.asarray(values, dtype), **kwargs)

    calls = {
        "n_classes=1": tc([0, 0], n_classes=1),
        "n_classes=0": tc([], n_classes=0),
        "n_classes=0-labels": tc([0], n_classes=0),
        "n_classes=-1": tc([0], n_classes=-1),
        "n_classes=None": tc([0, 2]),
        "n_classes=None-2d": tc([[0, 1], [3, 2]]),
        "n_classes=None-3d": tc([[[0], [1]]]),
        "n_classes=numpy-int": lambda t, np: t.to_categorical(
            np.asarray([0, 1], "int32"), n_classes=np.int64(3)
        ),
        "n_classes=float": tc([0, 1], n_classes=3.0),
        "smoothing=0.0": tc([1], n_classes=3, label_smoothing=0.0),
        "smoothing=negative": tc([1], n_classes=3, label_smoothing=-0.1),
        "smoothing,n_classes=1": tc([0], n_classes=1, label_smoothing=0.1),
        "smoothing,n_classes=0": tc([0], n_classes=0, label_smoothing=0.1),
        "smoothing=0.5,n=3": tc([0, 1, 2], n_classes=3, label_smoothing=0.5),
        "smoothing=max": tc([0], n_classes=3, label_smoothing=2 / 3),
        "smoothing=0.49,n=2": tc([1, 0], n_classes=2, label_smoothing=0.49),
        "smoothing=0.5,n=2": tc([1, 0], n_classes=2, label_smoothing=0.5),
        "smoothing-2d": tc([[0, 1], [1, 0]], n_classes=2, label_smoothing=0.2),
        "smoothing-tiny": tc([0], n_classes=4, label_smoothing=1e-9),
        "smoothing-None-n_classes": tc([0, 3], label_smoothing=0.3),
        "int64": tc([2, 0], "int64", n_classes=3),
        "uint8": tc([2, 0], "uint8", n_classes=3),
        "uint64": tc([1], "uint64", n_classes=2),
        "0d": tc(1, n_classes=3),
        "empty-2d": tc([[], []], n_classes=3),
        "float-labels": tc([0.0, 1.0], "float32", n_classes=3),
        "list-labels": lambda t, np: t.to_categorical([0, 1], n_classes=3),
        "list-labels-no-n_classes": lambda t, np: t.to_categorical([0, 1]),
        "numpy-scalar": lambda t, np: t.to_categorical(np.int64(1), n_classes=3),
        "too-big-2d": tc([[0, 3]], n_classes=3),
        "too-big-smoothing": tc([4], n_classes=3, label_smoothing=0.1),
        "bool-labels": tc([True, False], "bool", n_classes=2),
        "n_classes-smaller-than-labels-none": tc([5, 1], label_smoothing=0.0),
    }
    for edge, call in calls.items():
        case(name, edge, call)


# ------------------------------------------------------------------ get_width


def _get_width(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    name = "util.get_width"
    calls = {
        "dim=0": lambda t, np: t.get_width(floats(np, 2, 5), dim=0),
        "dim=1": lambda t, np: t.get_width(floats(np, 2, 5), dim=1),
        "dim=-2-3d": lambda t, np: t.get_width(floats(np, 2, 3, 4), dim=-2),
        "dim-out-of-range": lambda t, np: t.get_width(floats(np, 2, 3), dim=5),
        "0d-array": lambda t, np: t.get_width(np.asarray(3.0, "f")),
        "numpy-scalar": lambda t, np: t.get_width(np.float32(2.0)),
        "tuple-of-arrays": lambda t, np: t.get_width((floats(np, 2, 7), floats(np, 1, 2))),
        "empty-tuple": lambda t, np: t.get_width(()),
        "list-of-ragged": lambda t, np: t.get_width([_ragged(t, np, floats, [1, 2], 6)]),
        "list-of-lists-of-arrays": lambda t, np: t.get_width([[floats(np, 2, 4)]]),
        "deque": lambda t, np: t.get_width(__import__("collections").deque([floats(np, 2, 3)])),
        "dict": lambda t, np: t.get_width({0: floats(np, 2, 3)}),
        "set": lambda t, np: t.get_width({1, 2}),
        "float": lambda t, np: t.get_width(1.5),
        "bool-1d": lambda t, np: t.get_width(np.asarray([True, False])),
        "float-1d": lambda t, np: t.get_width(np.asarray([0.5, 2.7], "f")),
        "negative-ids": lambda t, np: t.get_width(np.asarray([-5, -7], "int32")),
        "uint-ids": lambda t, np: t.get_width(np.asarray([3, 9], "uint64")),
        "zero-width-2d": lambda t, np: t.get_width(floats(np, 3, 0)),
        "empty-rows-2d": lambda t, np: t.get_width(floats(np, 0, 4)),
        "ragged-3d": lambda t, np: t.get_width(_ragged(t, np, floats, [1, 2], 3, 4)),
        "ragged-3d-dim=0": lambda t, np: t.get_width(_ragged(t, np, floats, [1, 2], 3, 4), dim=0),
        "ragged-1d": lambda t, np: t.get_width(t.Ragged(floats(np, 3), np.asarray([3], "i"))),
        "padded": lambda t, np: t.get_width(_padded(t, np, floats)),
        "padded-dim=1": lambda t, np: t.get_width(_padded(t, np, floats), dim=1),
        "object-with-shape-only": lambda t, np: t.get_width(
            type("ShapeOnly", (), {"shape": (2, 3)})()
        ),
        "object-with-shape-and-ndim": lambda t, np: t.get_width(
            type("ShapeNdim", (), {"shape": (2, 3), "ndim": 2})()
        ),
    }
    for edge, call in calls.items():
        case(name, edge, call)


# ---------------------------------------------------------------- other util


def _seeded(t: Any, np: Any, seed: Any) -> Any:
    t.fix_random_seed(seed)
    return np.random.rand(3), __import__("random").random()


def _copy(np: Any, dst: Any, src: Any) -> Any:
    _module("thinc.util").copy_array(dst, src)
    return dst


def _util_misc(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def util(name: str) -> Any:
        return getattr(_module("thinc.util"), name)

    calls = {
        ("util.fix_random_seed", "0"): lambda t, np: _seeded(t, np, 0),
        ("util.fix_random_seed", "default"): lambda t, np: (
            t.fix_random_seed(),
            np.random.rand(2),
        ),
        ("util.fix_random_seed", "42"): lambda t, np: _seeded(t, np, 42),
        ("util.fix_random_seed", "negative"): lambda t, np: _seeded(t, np, -1),
        ("util.fix_random_seed", "2**32+5"): lambda t, np: _seeded(t, np, 2**32 + 5),
        ("util.fix_random_seed", "2**70"): lambda t, np: _seeded(t, np, 2**70),
        ("util.fix_random_seed", "numpy-int"): lambda t, np: _seeded(t, np, np.int64(7)),
        ("util.fix_random_seed", "float"): lambda t, np: _seeded(t, np, 1.5),
        ("util.fix_random_seed", "None"): lambda t, np: _seeded(t, np, None),
        ("util.fix_random_seed", "shuffle"): lambda t, np: (
            t.fix_random_seed(3),
            np.random.permutation(6),
        ),
        ("util.is_xp_array", "numpy"): lambda t, np: util("is_xp_array")(floats(np, 2)),
        ("util.is_xp_array", "list"): lambda t, np: util("is_xp_array")([1.0]),
        ("util.is_xp_array", "numpy-scalar"): lambda t, np: util("is_xp_array")(np.float32(1)),
        ("util.is_xp_array", "0d"): lambda t, np: util("is_xp_array")(np.asarray(1.0)),
        ("util.is_xp_array", "None"): lambda t, np: util("is_xp_array")(None),
        ("util.is_numpy_array", "matrix"): lambda t, np: util("is_numpy_array")(
            np.asarray([[1]]).view(np.matrix)
        ),
        ("util.is_numpy_array", "memmap-like"): lambda t, np: util("is_numpy_array")(
            memoryview(b"ab")
        ),
        ("util.is_torch_array", "numpy"): lambda t, np: util("is_torch_array")(floats(np, 2)),
        ("util.is_tensorflow_array", "numpy"): lambda t, np: util("is_tensorflow_array")(
            floats(np, 2)
        ),
        ("util.is_mxnet_array", "numpy"): lambda t, np: util("is_mxnet_array")(floats(np, 2)),
        ("util.is_cupy_array", "numpy"): lambda t, np: t.is_cupy_array(floats(np, 2)),
        ("util.gpu_is_available", "cpu"): lambda t, np: util("gpu_is_available")(),
        ("util.copy_array", "plain"): lambda t, np: _copy(
            np, np.zeros((2, 3), "f"), floats(np, 2, 3)
        ),
        ("util.copy_array", "broadcast"): lambda t, np: _copy(
            np, np.zeros((2, 3), "f"), floats(np, 3)
        ),
        ("util.copy_array", "float-into-int"): lambda t, np: _copy(
            np, np.zeros((2,), "int32"), np.asarray([1.7, -2.2], "f")
        ),
        ("util.copy_array", "float64-into-float32"): lambda t, np: _copy(
            np, np.zeros((2,), "f"), np.asarray([1.5, 2.5], "f8")
        ),
        ("util.copy_array", "shape-mismatch"): lambda t, np: _copy(
            np, np.zeros((2, 3), "f"), floats(np, 3, 2)
        ),
        ("util.copy_array", "list-src"): lambda t, np: _copy(np, np.zeros((2,), "f"), [1.0, 2.0]),
        ("util.copy_array", "scalar-src"): lambda t, np: _copy(np, np.zeros((2,), "f"), 3.0),
        ("util.copy_array", "list-dst"): lambda t, np: _copy(np, [0.0, 0.0], floats(np, 2)),
        ("util.copy_array", "empty"): lambda t, np: _copy(
            np, np.zeros((0, 3), "f"), floats(np, 0, 3)
        ),
        ("util.partial", "call"): lambda t, np: util("partial")(max, 1)(2, 5),
        ("util.partial", "doc"): lambda t, np: util("partial")(max, 1).__doc__ == max.__doc__,
        ("util.partial", "kwargs"): lambda t, np: util("partial")(sorted, reverse=True)([1, 3, 2]),
        ("util.to_numpy", "list"): lambda t, np: t.to_numpy([[1, 2], [3, 4]]),
        ("util.to_numpy", "tuple"): lambda t, np: t.to_numpy((1.5,)),
        ("util.to_numpy", "scalar"): lambda t, np: t.to_numpy(3),
        ("util.to_numpy", "array-identity"): lambda t, np: (lambda a: t.to_numpy(a) is a)(
            floats(np, 2)
        ),
        ("util.to_numpy", "None"): lambda t, np: t.to_numpy(None),
        ("util.get_array_module", "0d"): lambda t, np: t.get_array_module(np.asarray(1)).__name__,
        ("util.get_array_module", "numpy-scalar"): lambda t, np: (
            t.get_array_module(np.float32(1)).__name__
        ),
        ("util.get_array_module", "Ragged"): lambda t, np: (
            t.get_array_module(_ragged(t, np, floats, [1])).__name__
        ),
        ("util.convert_recursive", "nested"): lambda t, np: util("convert_recursive")(
            lambda x: isinstance(x, int), lambda x: x * 10, [1, (2, "a"), {3: [4.5, 5]}]
        ),
        ("util.convert_recursive", "set-untouched"): lambda t, np: util("convert_recursive")(
            lambda x: isinstance(x, int), lambda x: x * 10, ({1, 2},)
        ),
        ("util.convert_recursive", "argskwargs"): lambda t, np: (
            lambda r: (type(r).__name__, r.args, r.kwargs)
        )(
            util("convert_recursive")(
                lambda x: isinstance(x, float),
                lambda x: -x,
                t.ArgsKwargs(args=(1.0, [2.0]), kwargs={"k": (3.0,)}),
            )
        ),
        ("util.convert_recursive", "arrays"): lambda t, np: util("convert_recursive")(
            util("is_xp_array"), lambda x: x * 2, {"a": [floats(np, 2)], "b": None}
        ),
        ("util.convert_recursive", "match-whole"): lambda t, np: util("convert_recursive")(
            lambda x: isinstance(x, list), len, [[1], 2]
        ),
        ("util.iterate_recursive", "nested"): lambda t, np: list(
            util("iterate_recursive")(
                lambda x: isinstance(x, int), [1, (2, "a"), {3: [4.5, 5]}, {6}]
            )
        ),
        ("util.iterate_recursive", "argskwargs"): lambda t, np: list(
            util("iterate_recursive")(
                lambda x: isinstance(x, str), t.ArgsKwargs(args=("a", 1), kwargs={"k": "v"})
            )
        ),
        ("util.set_active_gpu", "no-gpu"): lambda t, np: t.set_active_gpu(0),
        ("util.prefer_gpu", "no-gpu"): lambda t, np: t.prefer_gpu(),
        ("util.prefer_gpu", "gpu_id=3"): lambda t, np: t.prefer_gpu(3),
        ("util.require_gpu", "no-gpu"): lambda t, np: t.require_gpu(),
        ("util.require_cpu", "ops"): lambda t, np: (
            t.require_cpu(),
            type(t.get_current_ops()).__name__,
        ),
        ("util.xp2tensorflow", "absent"): lambda t, np: t.xp2tensorflow(floats(np, 2)),
        ("util.xp2mxnet", "absent"): lambda t, np: t.xp2mxnet(floats(np, 2)),
        ("util.tensorflow2xp", "numpy"): lambda t, np: t.tensorflow2xp(floats(np, 2)),
        ("util.mxnet2xp", "numpy"): lambda t, np: t.mxnet2xp(floats(np, 2)),
        ("util.assert_tensorflow_installed", "absent"): lambda t, np: util(
            "assert_tensorflow_installed"
        )(),
        ("util.assert_mxnet_installed", "absent"): lambda t, np: util("assert_mxnet_installed")(),
        ("util.ArrayInfo", "consistent"): lambda t, np: (
            util("ArrayInfo")
            .from_array(floats(np, 2, 3))
            .check_consistency(floats(np, 2, 3, seed=1))
        ),
        ("util.ArrayInfo", "shape-mismatch"): lambda t, np: (
            util("ArrayInfo").from_array(floats(np, 2, 3)).check_consistency(floats(np, 3, 2))
        ),
        ("util.ArrayInfo", "dtype-mismatch"): lambda t, np: (
            util("ArrayInfo")
            .from_array(floats(np, 2, 3))
            .check_consistency(floats(np, 2, 3).astype("f8"))
        ),
        ("util.ArrayInfo", "fields"): lambda t, np: (
            lambda info: (tuple(info.shape), str(info.dtype))
        )(util("ArrayInfo").from_array(np.zeros((2, 1), "i"))),
        ("util.data_validation", "flag"): lambda t, np: _validation_flags(t),
        ("util.data_validation", "restored-after-error"): lambda t, np: _validation_after_error(t),
        ("util.DataValidationError", "is-ValueError"): lambda t, np: issubclass(
            t.DataValidationError, ValueError
        ),
        ("util.data_validation", "predict-wrong-rank"): lambda t, np: _validated(
            t, lambda m: m.predict(np.zeros((2,), "f"))
        ),
        ("util.data_validation", "begin_update-list"): lambda t, np: _validated(
            t, lambda m: m.begin_update([np.zeros((2, 2), "f")])[0]
        ),
        ("util.data_validation", "initialize-wrong-X"): lambda t, np: _validated(
            t, lambda m: t.Relu(2, 2).initialize(X=[1, 2]).get_dim("nI")
        ),
        ("util.data_validation", "initialize-int-X"): lambda t, np: _validated(
            t, lambda m: t.Relu(2).initialize(X=np.zeros((3, 4), "i")).get_dim("nI")
        ),
        ("util.data_validation", "off"): lambda t, np: _validated(
            t, lambda m: m.predict(np.zeros((3, 2), "f8")).dtype.name, on=False
        ),
        ("util.data_validation", "chain-mismatch"): lambda t, np: _validated(
            t,
            lambda m: t.chain(t.Relu(3, 2), t.Relu(2, 4)).initialize(X=np.zeros((2, 2), "f")),
        ),
        ("util.validate_fwd_input_output", "Linear-ok"): lambda t, np: _module(
            "thinc.util"
        ).validate_fwd_input_output(
            "linear",
            _module("thinc.layers.linear").forward,
            np.zeros((2, 2), "f"),
            np.zeros((2, 3), "f"),
        ),
        ("util.validate_fwd_input_output", "Linear-bad-X"): lambda t, np: _module(
            "thinc.util"
        ).validate_fwd_input_output("linear", _module("thinc.layers.linear").forward, [1, 2], None),
        ("util.validate_fwd_input_output", "Linear-bad-Y"): lambda t, np: _module(
            "thinc.util"
        ).validate_fwd_input_output(
            "linear", _module("thinc.layers.linear").forward, None, np.zeros((2,), "i")
        ),
        ("util.validate_fwd_input_output", "untyped"): lambda t, np: _module(
            "thinc.util"
        ).validate_fwd_input_output("f", lambda model, X, is_train: (X, None), [1], 2),
        ("thinc.api", "__all__"): lambda t, np: sorted(
            {name for name in t.__all__ if "Torch" not in name}
        ),
    }
    for (function, edge), call in calls.items():
        case(function, edge, call)


def _validated(t: Any, call: Callable[[Any], Any], on: bool = True) -> Any:
    model = t.Relu(2, 2).initialize()
    with t.data_validation(on):
        return call(model)


def _validation_flags(t: Any) -> Any:
    flag = _module("thinc.util").DATA_VALIDATION
    before = flag.get()
    with t.data_validation(False):
        inside_false = flag.get()
        with t.data_validation(True):
            inside_true = flag.get()
        after_inner = flag.get()
    return before, inside_false, inside_true, after_inner, flag.get()


def _validation_after_error(t: Any) -> Any:
    flag = _module("thinc.util").DATA_VALIDATION
    try:
        with t.data_validation(False):
            raise KeyError("x")
    except KeyError:
        pass
    return flag.get()


# ------------------------------------------------------------- ops in context


def _ops_context(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def ops_name(t: Any) -> str:
        return type(t.get_current_ops()).__name__

    def use(t: Any, name: str, **kwargs: Any) -> Any:
        with t.use_ops(name, **kwargs):
            inside = ops_name(t), t.get_current_ops().name
        return inside, ops_name(t)

    def set_and_restore(t: Any, ops: Any) -> Any:
        before = t.get_current_ops()
        t.set_current_ops(ops)
        try:
            return ops_name(t)
        finally:
            t.set_current_ops(before)

    calls = {
        "numpy": lambda t, np: use(t, "numpy"),
        "cpu": lambda t, np: use(t, "cpu"),
        "numpy-kwargs": lambda t, np: use(t, "numpy", use_blis=False),
        "unknown": lambda t, np: use(t, "bogus"),
        "cupy": lambda t, np: use(t, "cupy"),
        "mps": lambda t, np: use(t, "mps"),
        "restored-after-error": lambda t, np: _use_ops_error(t),
    }
    for edge, call in calls.items():
        case("use_ops", edge, call)
    case("set_current_ops", "NumpyOps", lambda t, np: set_and_restore(t, t.NumpyOps()))
    case("get_ops", "numpy", lambda t, np: type(t.get_ops("numpy")).__name__)
    case("get_ops", "cpu", lambda t, np: type(t.get_ops("cpu")).__name__)
    case("get_ops", "unknown", lambda t, np: t.get_ops("tpu"))
    case("get_ops", "cupy", lambda t, np: type(t.get_ops("cupy")).__name__)
    case("get_current_ops", "name", lambda t, np: (t.get_current_ops().name, ops_name(t)))


def _use_ops_error(t: Any) -> Any:
    before = type(t.get_current_ops()).__name__
    try:
        with t.use_ops("numpy"):
            raise KeyError("x")
    except KeyError:
        pass
    return before, type(t.get_current_ops()).__name__


# --------------------------------------------------------------------- Ragged


def _ragged_cases(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def getitem(index: Any, lengths: Any = (1, 2, 3), row: Tuple[int, ...] = (2,)) -> Any:
        def call(t: Any, np: Any) -> Any:
            ragged = _ragged(t, np, floats, list(lengths), *row)
            picked = index(np) if callable(index) else index
            return ragged[picked]

        return call

    indices = {
        "int=0": 0,
        "int=1": 1,
        "int=2": 2,
        "int=3": 3,
        "int=-1": -1,
        "int=-3": -3,
        "int=-4": -4,
        "numpy-int": lambda np: np.int64(1),
        "numpy-int32-0d": lambda np: np.asarray(2, "int32"),
        "bool-True": True,
        "slice=0:2": slice(0, 2),
        "slice=1:3": slice(1, 3),
        "slice=1:": slice(1, None),
        "slice=:2": slice(None, 2),
        "slice=:": slice(None),
        "slice=-1:": slice(-1, None),
        "slice=-2:": slice(-2, None),
        "slice=:-1": slice(None, -1),
        "slice=0:-1": slice(0, -1),
        "slice=::2": slice(None, None, 2),
        "slice=0::2": slice(0, None, 2),
        "slice=::-1": slice(None, None, -1),
        "slice=1:3:1": slice(1, 3, 1),
        "slice=2:1": slice(2, 1),
        "slice=0:0": slice(0, 0),
        "slice=0:10": slice(0, 10),
        "slice=5:9": slice(5, 9),
        "list=[0,2]": [0, 2],
        "list=[2,0]": [2, 0],
        "list=[1,1]": [1, 1],
        "list=[-1]": [-1],
        "list=[]": [],
        "list=[5]": [5],
        "array=[0,2]": lambda np: np.asarray([0, 2], "int32"),
        "array=[2,1,0]-int64": lambda np: np.asarray([2, 1, 0], "int64"),
        "array-empty": lambda np: np.zeros((0,), "int32"),
        "array-bool": lambda np: np.asarray([True, False, True]),
        "array-bool-short": lambda np: np.asarray([True, False]),
        "array-2d": lambda np: np.asarray([[0, 1]], "int32"),
        "array-float": lambda np: np.asarray([0.0, 1.0], "f"),
        "tuple": (0, 1),
        "float": 1.0,
        "None": None,
        "str": "a",
    }
    for edge, index in indices.items():
        case("Ragged.__getitem__", edge, getitem(index))
    for edge, index in [("int=1", 1), ("slice=1:", slice(1, None)), ("list=[2,0]", [2, 0])]:
        case("Ragged.__getitem__(3d)", edge, getitem(index, row=(2, 3)))
        case("Ragged.__getitem__(zero-lengths)", edge, getitem(index, lengths=(0, 3, 0)))
    case(
        "Ragged.__getitem__(3d)",
        "dataXd-of-item",
        lambda t, np: _ragged(t, np, floats, [1, 2], 2, 3)[1].dataXd,
    )
    case(
        "Ragged.__getitem__(chained)",
        "slice-then-int",
        lambda t, np: _ragged(t, np, floats, [1, 2, 3, 1])[1:][1],
    )
    case(
        "Ragged.__getitem__(chained)",
        "slice-then-slice",
        lambda t, np: _ragged(t, np, floats, [1, 2, 3, 1])[1:4][1:],
    )
    case(
        "Ragged.__getitem__(chained)",
        "list-then-int",
        lambda t, np: _ragged(t, np, floats, [1, 2, 3, 1])[[3, 1]][1],
    )
    case(
        "Ragged.__getitem__(lengths-short)",
        "int=-1",
        lambda t, np: t.Ragged(floats(np, 6, 2), np.asarray([1, 2], "i"))[-1],
    )
    case(
        "Ragged.__getitem__(lengths-short)",
        "slice=0:2",
        lambda t, np: t.Ragged(floats(np, 6, 2), np.asarray([1, 2], "i"))[0:2],
    )
    case(
        "Ragged.__getitem__(lengths-int64)",
        "list=[1]",
        lambda t, np: t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "int64"))[[1]],
    )

    fields = {
        "data-3d": lambda t, np: _ragged(t, np, floats, [1, 2], 2, 3).data,
        "dataXd-3d": lambda t, np: _ragged(t, np, floats, [1, 2], 2, 3).dataXd,
        "data_shape-3d": lambda t, np: _ragged(t, np, floats, [1, 2], 2, 3).data_shape,
        "data-1d": lambda t, np: t.Ragged(floats(np, 3), np.asarray([3], "i")).data,
        "dataXd-1d": lambda t, np: t.Ragged(floats(np, 3), np.asarray([3], "i")).dataXd,
        "data_shape-1d": lambda t, np: t.Ragged(floats(np, 3), np.asarray([3], "i")).data_shape,
        "data-4d": lambda t, np: t.Ragged(floats(np, 3, 1, 2, 2), np.asarray([3], "i")).data,
        "dataXd-int": lambda t, np: (
            t.Ragged(np.arange(6, dtype="int32").reshape(3, 2), np.asarray([3], "i")).dataXd
        ),
        "lengths-int64": lambda t, np: (
            t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "int64")).lengths
        ),
        "lengths-uint32": lambda t, np: (
            t.Ragged(floats(np, 3, 2), np.asarray([1, 2], "uint32")).lengths
        ),
        "lengths-identity": lambda t, np: (
            lambda lengths: t.Ragged(floats(np, 3, 2), lengths).lengths is lengths
        )(np.asarray([3], "i")),
        "data-is-view": lambda t, np: (
            lambda data: np.shares_memory(t.Ragged(data, np.asarray([3], "i")).data, data)
        )(floats(np, 3, 2)),
        "len": lambda t, np: len(_ragged(t, np, floats, [1, 0, 2])),
        "len-empty": lambda t, np: len(t.Ragged(floats(np, 0, 2), np.zeros((0,), "i"))),
        "starts_ends-initial": lambda t, np: _ragged(t, np, floats, [1, 2]).starts_ends,
        "has-copy": lambda t, np: hasattr(_ragged(t, np, floats, [1]), "copy"),
        "zero-width-data": lambda t, np: t.Ragged(floats(np, 3, 0), np.asarray([3], "i")).data,
        "zero-width-dataXd": lambda t, np: t.Ragged(floats(np, 3, 0), np.asarray([3], "i")).dataXd,
        "3d-zero-rows-dataXd": lambda t, np: (
            t.Ragged(floats(np, 0, 2, 3), np.zeros((0,), "i")).dataXd
        ),
        "list-data": lambda t, np: t.Ragged([[1.0], [2.0]], np.asarray([2], "i")).data,
        "lengths-too-short-data": lambda t, np: (
            t.Ragged(floats(np, 4, 2), np.asarray([1, 1], "i")).data
        ),
        "lengths-2d": lambda t, np: t.Ragged(floats(np, 4, 2), np.asarray([[1, 3]], "i")).lengths,
        "eq-self": lambda t, np: (lambda r: r == r)(_ragged(t, np, floats, [1])),
    }
    for edge, call in fields.items():
        case("Ragged", f"field:{edge}", call)

    starts_ends = {
        "plain": ([1, 2, 3], "int32"),
        "int64": ([1, 2, 3], "int64"),
        "zeros": ([0, 0], "int32"),
        "empty": ([], "int32"),
        "single": ([4], "int32"),
    }
    for edge, (lengths, dtype) in starts_ends.items():
        for method in ["_get_starts_ends", "_get_starts", "_get_ends"]:
            case(
                f"Ragged.{method}",
                edge,
                lambda t, np, lengths=lengths, dtype=dtype, method=method: getattr(
                    t.Ragged(floats(np, int(sum(lengths)), 2), np.asarray(lengths, dtype)), method
                )(),
            )
    case(
        "Ragged._get_starts_ends",
        "cached",
        lambda t, np: (lambda r: (r._get_starts_ends(), r.starts_ends is r._get_starts_ends()))(
            _ragged(t, np, floats, [2, 1])
        ),
    )


# --------------------------------------------------------------------- Padded


def _padded_cases(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    calls = {
        "copy": lambda t, np: _padded(t, np, floats).copy(),
        "copy-independent": lambda t, np: (
            lambda p: (p.copy().data is p.data, p.copy().lengths is p.lengths)
        )(_padded(t, np, floats)),
        "len": lambda t, np: len(_padded(t, np, floats)),
        "len-empty": lambda t, np: len(
            t.Padded(
                floats(np, 0, 0, 2),
                np.zeros((0,), "i"),
                np.zeros((0,), "i"),
                np.zeros((0,), "i"),
            )
        ),
        "getitem-int": lambda t, np: _padded(t, np, floats)[0],
        "getitem-int-data": lambda t, np: _padded(t, np, floats)[1].data,
        "getitem-int-lengths": lambda t, np: _padded(t, np, floats)[1].lengths,
        "getitem-int-indices": lambda t, np: _padded(t, np, floats)[1].indices,
        "getitem-slice-data": lambda t, np: _padded(t, np, floats)[0:2].data,
        "getitem-slice-indices": lambda t, np: _padded(t, np, floats)[1:].indices,
        "getitem-int-out-of-range": lambda t, np: _padded(t, np, floats)[5].data,
        "getitem-tuple": lambda t, np: _padded(t, np, floats)[0, 1],
        "getitem-list": lambda t, np: _padded(t, np, floats)[[1, 0]],
        "mismatched-fields-len": lambda t, np: len(
            t.Padded(
                floats(np, 3, 2, 4),
                np.asarray([2, 2, 1], "i"),
                np.asarray([3, 2, 1], "i"),
                np.asarray([0, 1], "i"),
            )
        ),
        "list-fields": lambda t, np: (
            t.Padded(floats(np, 1, 1, 1), [1], np.asarray([1], "i"), np.asarray([0], "i")).size_at_t
        ),
        "eq-self": lambda t, np: (lambda p: p == p)(_padded(t, np, floats)),
        "list2padded-roundtrip": lambda t, np: t.NumpyOps().padded2list(
            t.NumpyOps().list2padded([floats(np, 2, 3), floats(np, 3, 3, seed=1)]).copy()
        ),
    }
    for edge, call in calls.items():
        case("Padded", f"api:{edge}", call)


# ----------------------------------------------------------------- ArgsKwargs


def _argskwargs_cases(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def ak(t: Any) -> Any:
        return t.ArgsKwargs(args=(1, "x"), kwargs={"a": 2, "b": None})

    def sized(name: str) -> Any:
        return getattr(_module("thinc.types"), name)

    calls = {
        ("ArgsKwargs.from_items", "ints-out-of-order"): lambda t, np: (
            lambda r: (r.args, r.kwargs)
        )(t.ArgsKwargs.from_items([(1, "a"), (0, "b"), ("k", 3)])),
        ("ArgsKwargs.from_items", "empty"): lambda t, np: (lambda r: (r.args, r.kwargs))(
            t.ArgsKwargs.from_items([])
        ),
        ("ArgsKwargs.from_items", "duplicate-kwarg"): lambda t, np: (lambda r: (r.args, r.kwargs))(
            t.ArgsKwargs.from_items([("k", 1), ("k", 2)])
        ),
        ("ArgsKwargs.from_items", "numpy-int-key"): lambda t, np: (
            lambda r: (r.args, sorted(map(str, r.kwargs)))
        )(t.ArgsKwargs.from_items([(np.int64(0), "a")])),
        ("ArgsKwargs.from_items", "bool-key"): lambda t, np: (lambda r: (r.args, r.kwargs))(
            t.ArgsKwargs.from_items([(True, "a")])
        ),
        ("ArgsKwargs.from_items", "bad-item"): lambda t, np: t.ArgsKwargs.from_items([(1, 2, 3)]),
        ("ArgsKwargs.from_items", "dict-items"): lambda t, np: (lambda r: (r.args, r.kwargs))(
            t.ArgsKwargs.from_items({"a": 1, 0: 2}.items())
        ),
        ("ArgsKwargs.keys", "plain"): lambda t, np: list(ak(t).keys()),
        ("ArgsKwargs.values", "plain"): lambda t, np: list(ak(t).values()),
        ("ArgsKwargs.items", "plain"): lambda t, np: list(ak(t).items()),
        ("ArgsKwargs.items", "roundtrip"): lambda t, np: (lambda r: (r.args, r.kwargs))(
            t.ArgsKwargs.from_items(list(ak(t).items()))
        ),
        ("ArgsKwargs.keys", "empty"): lambda t, np: list(t.ArgsKwargs(args=(), kwargs={}).keys()),
        ("ArgsKwargs", "eq"): lambda t, np: ak(t) == ak(t),
        ("ArgsKwargs", "ne"): lambda t, np: ak(t) == t.ArgsKwargs(args=(1,), kwargs={}),
        ("ArgsKwargs", "positional-init"): lambda t, np: t.ArgsKwargs((1,), {"a": 1}).kwargs,
        ("ArgsKwargs", "list-args"): lambda t, np: t.ArgsKwargs(args=[1, 2], kwargs={}).args,
        ("ArgsKwargs", "missing-field"): lambda t, np: t.ArgsKwargs(args=(1,)),
        ("ArgsKwargs", "repr"): lambda t, np: repr(t.ArgsKwargs(args=(1,), kwargs={"a": 2})),
        ("SizedGenerator", "len-and-items"): lambda t, np: (lambda g: (len(g), list(g), list(g)))(
            sized("SizedGenerator")(lambda: iter([1, 2, 3]), 3)
        ),
        ("SizedGenerator", "length-disagrees"): lambda t, np: (lambda g: (len(g), list(g)))(
            sized("SizedGenerator")(lambda: (i for i in range(2)), 7)
        ),
        ("SizedGenerator", "fields"): lambda t, np: (lambda g: (g.length, callable(g.get_items)))(
            sized("SizedGenerator")(lambda: iter(()), 0)
        ),
        ("SizedGenerator", "no-next"): lambda t, np: next(
            sized("SizedGenerator")(lambda: iter([1]), 1)
        ),
        ("SizedGenerator", "bad-get_items"): lambda t, np: list(
            sized("SizedGenerator")(lambda: 5, 1)
        ),
        ("Unserializable", "obj"): lambda t, np: t.Unserializable(obj=[1, 2]).obj,
    }
    for (function, edge), call in calls.items():
        case(function, edge, call)


# ------------------------------------------------------------------- batching


def _minibatch(t: Any, size: Any, items: Any, **kwargs: Any) -> Any:
    return _batches(t.NumpyOps().minibatch(size, items, **kwargs))


def _multibatch(t: Any, size: Any, *items: Any, **kwargs: Any) -> Any:
    return _batches(t.NumpyOps().multibatch(size, *items, **kwargs))


def _shuffled_passes(t: Any, np: Any, batcher: str) -> Any:
    t.fix_random_seed(0)
    ops = t.NumpyOps()
    if batcher == "minibatch":
        batches = ops.minibatch(2, list(range(7)), shuffle=True)
    else:
        batches = ops.multibatch(2, list(range(7)), np.arange(7) * 10, shuffle=True)
    return list(batches), list(batches), list(batches)


def _batching(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    five = list(range(5))
    mini = {
        "tuple": lambda t, np: _minibatch(t, 2, tuple(five)),
        "array-1d": lambda t, np: _minibatch(t, 2, np.arange(5)),
        "array-2d": lambda t, np: _minibatch(t, 2, floats(np, 5, 3)),
        "array-3d": lambda t, np: _minibatch(t, 3, floats(np, 4, 2, 2)),
        "array-int-dtype": lambda t, np: [
            b.dtype.name for b in t.NumpyOps().minibatch(2, np.arange(5, dtype="int16"))
        ],
        "array-contiguous": lambda t, np: [
            b.flags["C_CONTIGUOUS"] for b in t.NumpyOps().minibatch(2, floats(np, 5, 4)[:, ::2])
        ],
        "ragged": lambda t, np: _minibatch(t, 2, _ragged(t, np, floats, [1, 2, 1])),
        "padded": lambda t, np: _minibatch(t, 1, _padded(t, np, floats)),
        "pairs": lambda t, np: [
            (p.one, p.two)
            for p in t.NumpyOps().minibatch(
                2, _module("thinc.types").Pairs(list(range(3)), np.arange(3) * 2)
            )
        ],
        "list-of-arrays": lambda t, np: _minibatch(t, 2, [floats(np, 1, 2), floats(np, 3, 2)]),
        "range": lambda t, np: _minibatch(t, 2, range(5)),
        "str": lambda t, np: _minibatch(t, 2, "abcde"),
        "sized-generator": lambda t, np: _minibatch(
            t, 2, _module("thinc.types").SizedGenerator(lambda: iter([1, 2, 3]), 3)
        ),
        "of-minibatch-len": lambda t, np: len(
            t.NumpyOps().minibatch(2, list(t.NumpyOps().minibatch(2, list(range(7)))))
        ),
        "dict": lambda t, np: _minibatch(t, 2, {0: "a", 1: "b"}),
        "generator": lambda t, np: _minibatch(t, 2, (i for i in range(3))),
        "int": lambda t, np: _minibatch(t, 2, 5),
        "None": lambda t, np: _minibatch(t, 2, None),
        "empty-tuple": lambda t, np: _minibatch(t, 2, ()),
        "empty-array": lambda t, np: _minibatch(t, 2, np.zeros((0, 3), "f")),
        "size-bigger": lambda t, np: _minibatch(t, 10, five),
        "size=len": lambda t, np: _minibatch(t, 5, five),
        "size=-1": lambda t, np: _minibatch(t, -1, five),
        "size=numpy-int": lambda t, np: _minibatch(t, np.int64(2), five),
        "size=float": lambda t, np: _minibatch(t, 2.0, five),
        "size=bool": lambda t, np: _minibatch(t, True, [1, 2]),
        "size=None": lambda t, np: _minibatch(t, None, five),
        "size=str": lambda t, np: _minibatch(t, "2", five),
        "sizes=iter": lambda t, np: _minibatch(t, iter([1, 2, 3]), five),
        "sizes=iter-long": lambda t, np: _minibatch(t, iter([4, 4, 4, 4]), five),
        "sizes=generator": lambda t, np: _minibatch(t, (n for n in [2, 1, 5]), five),
        "sizes=cycle": lambda t, np: _minibatch(t, __import__("itertools").cycle([1, 3]), five),
        "sizes=repeat": lambda t, np: _minibatch(t, __import__("itertools").repeat(2), five),
        "sizes=iter-runs-out": lambda t, np: _minibatch(t, iter([1, 1]), five),
        "sizes=iter-empty-seq": lambda t, np: _minibatch(t, iter([]), []),
        "sizes=list": lambda t, np: _minibatch(t, [2, 3], five),
        "sizes=iter-with-zero": lambda t, np: _minibatch(t, iter([0, 5]), five),
        "sizes=iter-floats": lambda t, np: _minibatch(t, iter([2.0, 3.0]), five),
        "sizes=iter-numpy": lambda t, np: _minibatch(t, iter(np.asarray([2, 3])), five),
        "sizes=schedule-constant": lambda t, np: _minibatch(t, t.constant(2), five),
        "sizes=compounding": lambda t, np: _minibatch(t, t.compounding(1.0, 4.0, 2.0), five),
        "buffer=0": lambda t, np: _minibatch(t, 2, five, buffer=0),
        "buffer=-1": lambda t, np: _minibatch(t, 2, five, buffer=-1),
        "buffer=2": lambda t, np: _minibatch(t, 2, five, buffer=2),
        "buffer=10": lambda t, np: _minibatch(t, 2, five, buffer=10),
        "shuffle=False-explicit": lambda t, np: _minibatch(t, 2, five, shuffle=False),
        "shuffle-seeded": lambda t, np: (
            t.fix_random_seed(1),
            _minibatch(t, 2, list(range(8)), shuffle=True),
        ),
        "shuffle-seeded-array": lambda t, np: (
            t.fix_random_seed(2),
            _minibatch(t, 3, floats(np, 7, 2), shuffle=True),
        ),
        "shuffle-passes": lambda t, np: _shuffled_passes(t, np, "minibatch"),
        "reiterate": lambda t, np: (lambda g: (list(g), list(g)))(t.NumpyOps().minibatch(2, five)),
        "len-before-iter": lambda t, np: len(t.NumpyOps().minibatch(3, list(range(7)))),
        "positional-shuffle": lambda t, np: t.NumpyOps().minibatch(2, five, True),
        "type": lambda t, np: type(t.NumpyOps().minibatch(2, five)).__name__,
    }
    for edge, call in mini.items():
        case("Ops.minibatch(more)", edge, call)

    multi = {
        "equal-lists": lambda t, np: _multibatch(t, 2, five, [str(i) for i in five]),
        "list-and-array": lambda t, np: _multibatch(t, 2, five, floats(np, 5, 2)),
        "single": lambda t, np: _multibatch(t, 2, five),
        "three": lambda t, np: _multibatch(t, 3, five, tuple(five), np.arange(5)),
        "empty": lambda t, np: _multibatch(t, 2, [], []),
        "other-longer": lambda t, np: _multibatch(t, 2, [1, 2], [1, 2, 3]),
        "other-shorter-last": lambda t, np: _multibatch(t, 2, [1, 2, 3, 4], [1, 2, 3]),
        "other-empty": lambda t, np: _multibatch(t, 2, [1, 2], []),
        "first-empty": lambda t, np: _multibatch(t, 2, [], [1, 2]),
        "other-not-sequence": lambda t, np: _multibatch(t, 2, [1, 2], None),
        "other-generator": lambda t, np: _multibatch(t, 2, [1, 2], (i for i in range(2))),
        "sizes=iter": lambda t, np: _multibatch(t, iter([1, 4]), five, five),
        "sizes=list": lambda t, np: _multibatch(t, [1, 4], five, five),
        "size=numpy-int": lambda t, np: _multibatch(t, np.int64(2), five, five),
        "size=-1": lambda t, np: _multibatch(t, -1, five, five),
        "buffer=0": lambda t, np: _multibatch(t, 2, five, five, buffer=0),
        "buffer=3": lambda t, np: _multibatch(t, 2, five, five, buffer=3),
        "ragged-and-list": lambda t, np: _multibatch(
            t, 2, _ragged(t, np, floats, [1, 2, 1]), ["a", "b", "c"]
        ),
        "shuffle-seeded": lambda t, np: (
            t.fix_random_seed(5),
            _multibatch(t, 2, list(range(6)), np.arange(6) * 10, shuffle=True),
        ),
        "shuffle-passes": lambda t, np: _shuffled_passes(t, np, "multibatch"),
        "batch-type": lambda t, np: [
            type(b).__name__ for b in t.NumpyOps().multibatch(2, five, five)
        ],
        "len": lambda t, np: len(t.NumpyOps().multibatch(4, five, five)),
    }
    for edge, call in multi.items():
        case("Ops.multibatch(more)", edge, call)


# --------------------------------------------------------------------- config

CFG_BASIC = """
[a]
x = 1
y = "text"
z = [1, 2.5, "s"]
w = null
b = true

[a.sub]
q = ${a.x}
r = "pre${a.y}post"

[c]
all = ${a}
"""


def _cfg(t: Any, text: str, **kwargs: Any) -> Any:
    return t.Config().from_str(text, **kwargs)


def _sched_values(t: Any, text: str, steps: int = 4) -> Any:
    sched = t.registry.resolve(_cfg(t, text))["s"]
    return [float(sched(step=i)) for i in range(steps)]


def _config(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    from_str = {
        "basic": lambda t, np: _cfg(t, CFG_BASIC),
        "basic-no-interpolate": lambda t, np: _cfg(t, CFG_BASIC, interpolate=False),
        "overrides": lambda t, np: _cfg(t, CFG_BASIC, overrides={"a.x": 5}),
        "overrides-new-key": lambda t, np: _cfg(t, CFG_BASIC, overrides={"a.nope": 5}),
        "overrides-new-section": lambda t, np: _cfg(t, CFG_BASIC, overrides={"zz.k": 5}),
        "overrides-section-value": lambda t, np: _cfg(t, CFG_BASIC, overrides={"a.sub": 5}),
        "missing-variable": lambda t, np: _cfg(t, "[a]\nx = ${b.y}\n"),
        "missing-variable-no-interpolate": lambda t, np: _cfg(
            t, "[a]\nx = ${b.y}\n", interpolate=False
        ),
        "variable-in-list": lambda t, np: _cfg(t, "[a]\nx = 2\ny = [${a.x}, 3]\n"),
        "variable-in-string-list": lambda t, np: _cfg(t, '[a]\nx = "s"\ny = ["${a.x}", 3]\n'),
        "tuple-value": lambda t, np: _cfg(t, "[a]\nx = (1, 2)\n"),
        "dict-value": lambda t, np: _cfg(t, '[a]\nx = {"k": [1, {"j": 2}]}\n'),
        "unquoted-string": lambda t, np: _cfg(t, "[a]\nx = hello\n"),
        "float-forms": lambda t, np: _cfg(t, "[a]\nx = 1e-3\ny = 1.\nz = -0.0\nw = inf\n"),
        "empty": lambda t, np: _cfg(t, ""),
        "empty-section": lambda t, np: _cfg(t, "[a]\n"),
        "no-section": lambda t, np: _cfg(t, "x = 1\n"),
        "duplicate-section": lambda t, np: _cfg(t, "[a]\nx = 1\n[a]\ny = 2\n"),
        "duplicate-key": lambda t, np: _cfg(t, "[a]\nx = 1\nx = 2\n"),
        "subsection-without-parent": lambda t, np: _cfg(t, "[a.b]\nx = 1\n"),
        "star-section": lambda t, np: _cfg(t, "[a]\n\n[a.*.one]\nx = 1\n\n[a.*.two]\nx = 2\n"),
        "interpolate-section-into-string": lambda t, np: _cfg(
            t, '[a]\nx = 1\n\n[b]\ny = "v${a}"\n'
        ),
        "comments": lambda t, np: _cfg(t, "# top\n[a]\n# inner\nx = 1\n"),
        "multiline-list": lambda t, np: _cfg(t, "[a]\nx = [\n    1,\n    2\n    ]\n"),
        "bad-json": lambda t, np: _cfg(t, "[a]\nx = [1, \n"),
        "key-without-value": lambda t, np: _cfg(t, "[a]\nx\n"),
        "dotted-key": lambda t, np: _cfg(t, "[a]\nx.y = 1\n"),
        "promise": lambda t, np: _cfg(t, '[s]\n@schedules = "constant.v1"\nrate = 0.5\n'),
    }
    for edge, call in from_str.items():
        case("Config.from_str", edge, call)

    misc = {
        ("Config.to_str", "roundtrip"): lambda t, np: _cfg(t, _cfg(t, CFG_BASIC).to_str()),
        ("Config.to_str", "text"): lambda t, np: _cfg(t, CFG_BASIC, interpolate=False).to_str(),
        ("Config.to_str", "interpolated-text"): lambda t, np: _cfg(t, CFG_BASIC).to_str(),
        ("Config.to_str", "from-dict"): lambda t, np: t.Config(
            {"a": {"x": 1, "b": {"y": [1, 2]}}, "c": {"s": "t"}}
        ).to_str(),
        ("Config.to_str", "non-section-top"): lambda t, np: t.Config({"x": 1}).to_str(),
        ("Config.to_bytes", "roundtrip"): lambda t, np: t.Config().from_bytes(
            _cfg(t, CFG_BASIC).to_bytes()
        ),
        ("Config.copy", "independent"): lambda t, np: (
            lambda c: (c.copy().__setitem__("new", {}), sorted(c))[1]
        )(_cfg(t, CFG_BASIC)),
        ("Config.merge", "plain"): lambda t, np: _cfg(t, "[a]\nx = 1\ny = 2\n").merge(
            {"a": {"y": 3, "z": 4}, "b": {"k": 1}}
        ),
        ("Config.merge", "promise-replaced"): lambda t, np: _cfg(
            t, '[s]\n@schedules = "constant.v1"\nrate = 0.5\n'
        ).merge({"s": {"@schedules": "decaying.v1", "base_rate": 1.0, "decay": 0.5}}),
        ("Config.merge", "promise-same"): lambda t, np: _cfg(
            t, '[s]\n@schedules = "constant.v1"\nrate = 0.5\n'
        ).merge({"s": {"rate": 0.7}}),
        ("Config.interpolate", "plain"): lambda t, np: _cfg(
            t, CFG_BASIC, interpolate=False
        ).interpolate(),
        ("Config.is_interpolated", "flags"): lambda t, np: (
            _cfg(t, CFG_BASIC).is_interpolated,
            _cfg(t, CFG_BASIC, interpolate=False).is_interpolated,
        ),
        ("Config", "from-dict"): lambda t, np: t.Config({"a": {"x": 1}}),
        ("Config", "section_order"): lambda t, np: t.Config(
            {"b": {"x": 1}, "a": {"y": 2}}, section_order=["a", "b"]
        ).to_str(),
        ("Config", "ConfigValidationError-base"): lambda t, np: [
            cls.__name__ for cls in t.ConfigValidationError.__mro__
        ],
    }
    for (function, edge), call in misc.items():
        case(function, edge, call)


def _registry(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    resolve = {
        "constant": lambda t, np: _sched_values(t, '[s]\n@schedules = "constant.v1"\nrate = 0.5\n'),
        "decaying": lambda t, np: _sched_values(
            t, '[s]\n@schedules = "decaying.v1"\nbase_rate = 1.0\ndecay = 0.5\n'
        ),
        "compounding": lambda t, np: _sched_values(
            t, '[s]\n@schedules = "compounding.v1"\nstart = 1.0\nstop = 8.0\ncompound = 2.0\n'
        ),
        "warmup_linear": lambda t, np: _sched_values(
            t,
            '[s]\n@schedules = "warmup_linear.v1"\ninitial_rate = 1.0\n'
            "warmup_steps = 2\ntotal_steps = 4\n",
            6,
        ),
        "constant_then-nested": lambda t, np: _sched_values(
            t,
            '[s]\n@schedules = "constant_then.v1"\nrate = 1.0\nsteps = 2\n\n'
            '[s.schedule]\n@schedules = "constant.v1"\nrate = 0.25\n',
        ),
        "schedule-missing-arg": lambda t, np: _sched_values(
            t, '[s]\n@schedules = "decaying.v1"\nbase_rate = 1.0\n'
        ),
        "schedule-bad-type": lambda t, np: _sched_values(
            t, '[s]\n@schedules = "constant.v1"\nrate = "fast"\n'
        ),
        "schedule-int-for-float": lambda t, np: _sched_values(
            t, '[s]\n@schedules = "constant.v1"\nrate = 1\n'
        ),
        "optimizer-Adam": lambda t, np: (
            lambda o: (type(o).__name__, float(o.learn_rate), o.b1, o.b2)
        )(t.registry.resolve(_cfg(t, '[o]\n@optimizers = "Adam.v1"\nlearn_rate = 0.01\n'))["o"]),
        "optimizer-SGD": lambda t, np: (lambda o: (type(o).__name__, float(o.learn_rate), o.L2))(
            t.registry.resolve(_cfg(t, '[o]\n@optimizers = "SGD.v1"\nlearn_rate = 0.1\n'))["o"]
        ),
        "optimizer-RAdam": lambda t, np: (
            type(
                t.registry.resolve(_cfg(t, '[o]\n@optimizers = "RAdam.v1"\nlearn_rate = 0.1\n'))[
                    "o"
                ]
            ).__name__
        ),
        "optimizer-schedule-rate": lambda t, np: (
            lambda o: [float(o.learn_rate)] + [(o.step_schedules(), float(o.learn_rate))[1]]
        )(
            t.registry.resolve(
                _cfg(
                    t,
                    '[o]\n@optimizers = "Adam.v1"\n\n[o.learn_rate]\n'
                    '@schedules = "decaying.v1"\nbase_rate = 1.0\ndecay = 1.0\n',
                )
            )["o"]
        ),
        "optimizer-missing-learn_rate": lambda t, np: (
            type(t.registry.resolve(_cfg(t, '[o]\n@optimizers = "SGD.v1"\n'))["o"]).__name__
        ),
        "layer-chain-ref": lambda t, np: (
            t.registry.resolve(
                _cfg(
                    t,
                    '[m]\n@layers = "chain.v1"\n\n[m.*.a]\n@layers = "Linear.v1"\nnO = 3\n\n'
                    '[m.*.b]\n@layers = "Softmax.v1"\n',
                )
            )["m"].name
        ),
        "layer-init_W": lambda t, np: (
            t.registry.resolve(
                _cfg(
                    t,
                    '[m]\n@layers = "Linear.v1"\nnO = 2\nnI = 2\n\n[m.init_W]\n'
                    '@initializers = "zero_init.v1"\n',
                )
            )["m"]
            .initialize()
            .get_param("W")
        ),
        "loss-CategoricalCrossentropy": lambda t, np: t.registry.resolve(
            _cfg(t, '[l]\n@losses = "CategoricalCrossentropy.v1"\nnormalize = false\n')
        )["l"].get_grad(np.asarray([[0.5, 0.5]], "f"), np.asarray([1], "i")),
        "initializer": lambda t, np: t.registry.resolve(
            _cfg(t, '[i]\n@initializers = "zero_init.v1"\n')
        )["i"](t.NumpyOps(), (2, 1)),
        "initializer-normal": lambda t, np: sorted(
            type(
                t.registry.resolve(_cfg(t, '[i]\n@initializers = "normal_init.v1"\nmean = 0.5\n'))[
                    "i"
                ]
            ).__name__
        ),
        "ops": lambda t, np: (
            type(t.registry.resolve(_cfg(t, '[o]\n@ops = "NumpyOps"\n'))["o"]).__name__
        ),
        "validate=False": lambda t, np: t.registry.resolve(
            _cfg(t, '[s]\n@schedules = "constant.v1"\nrate = "fast"\n'), validate=False
        )["s"](step=0),
        "two-registries-one-block": lambda t, np: t.registry.resolve(
            _cfg(t, '[s]\n@schedules = "constant.v1"\n@layers = "noop.v1"\nrate = 1.0\n')
        ),
        "unknown-registry": lambda t, np: t.registry.resolve(
            _cfg(t, '[s]\n@nothing = "constant.v1"\n')
        ),
        "plain-values": lambda t, np: t.registry.resolve(_cfg(t, CFG_BASIC)),
        "variable-to-promise": lambda t, np: (
            lambda r: (r["s"] is r["t"]["copy"], float(r["t"]["copy"](step=0)))
        )(
            t.registry.resolve(
                _cfg(
                    t,
                    '[s]\n@schedules = "constant.v1"\nrate = 0.5\n\n[t]\ncopy = ${s}\n',
                )
            )
        ),
    }
    for edge, call in resolve.items():
        case("registry.resolve", edge, call)

    checks = {
        "Linear-nO-float": '[m]\n@layers = "Linear.v1"\nnO = 3.5\n',
        "Linear-nO-float-integral": '[m]\n@layers = "Linear.v1"\nnO = 3.0\n',
        "Linear-nO-str-digits": '[m]\n@layers = "Linear.v1"\nnO = "3"\n',
        "Linear-nO-bool": '[m]\n@layers = "Linear.v1"\nnO = true\n',
        "Linear-init_W-int": '[m]\n@layers = "Linear.v1"\ninit_W = 3\n',
        "Embed-nV-str": '[m]\n@layers = "Embed.v1"\nnO = 2\nnV = "x"\n',
        "HashEmbed-seed-float": '[m]\n@layers = "HashEmbed.v1"\nnO = 2\nnV = 4\nseed = 1.5\n',
        "with_array-layer-int": '[m]\n@layers = "with_array.v1"\nlayer = 3\n',
        "chain-layer-str": '[m]\n@layers = "chain.v1"\n*.a = "x"\n',
        "Dropout-rate-str": '[m]\n@layers = "Dropout.v1"\nrate = "high"\n',
        "Adam-use_averages-yes": '[o]\n@optimizers = "Adam.v1"\nuse_averages = "yes"\n',
        "Adam-grad_clip-null": '[o]\n@optimizers = "Adam.v1"\ngrad_clip = null\n',
        "Adam-learn_rate-list": '[o]\n@optimizers = "Adam.v1"\nlearn_rate = [0.1, 0.2]\n',
        "SGD-L2-int": '[o]\n@optimizers = "SGD.v1"\nlearn_rate = 1\nL2 = 0\n',
        "constant_then-schedule-int": '[s]\n@schedules = "constant_then.v1"\nrate = 1.0\n'
        "steps = 2\nschedule = 3\n",
        "warmup_linear-steps-float": '[s]\n@schedules = "warmup_linear.v1"\ninitial_rate = 1.0\n'
        "warmup_steps = 2.5\ntotal_steps = 4\n",
        "CategoricalCrossentropy-names-str": '[l]\n@losses = "CategoricalCrossentropy.v3"\n'
        'names = "ab"\n',
        "CategoricalCrossentropy-smoothing-str": '[l]\n@losses = "CategoricalCrossentropy.v3"\n'
        'label_smoothing = "x"\n',
        "L2Distance-normalize-int": '[l]\n@losses = "L2Distance.v1"\nnormalize = 3\n',
        "uniform_init-lo-str": '[i]\n@initializers = "uniform_init.v1"\nlo = "x"\n',
        "NumpyOps-kwargs": '[o]\n@ops = "NumpyOps"\nuse_blis = false\n',
    }
    for edge, text in checks.items():
        case(
            "registry.resolve(validation)",
            edge,
            lambda t, np, text=text: _resolve_or_errors(t, text),
        )
    # 8.3.14 lets a string through validation as a "Generator" and the optimizer
    # refuses it (ValueError); ours refuses it in validation (a ValueError too).
    case(
        "registry.resolve(validation)",
        "Adam-beta1-str-type",
        lambda t, np: _describe_resolved(
            t.registry.resolve(_cfg(t, '[o]\n@optimizers = "Adam.v1"\nbeta1 = "x"\n'))
        ),
    )

    fill = {
        "Linear": '[m]\n@layers = "Linear.v1"\n',
        "Relu-partial": '[m]\n@layers = "Relu.v1"\nnO = 4\n',
        "HashEmbed": '[m]\n@layers = "HashEmbed.v1"\nnO = 4\nnV = 10\n',
        "Maxout": '[m]\n@layers = "Maxout.v1"\n',
        "LayerNorm": '[m]\n@layers = "LayerNorm.v1"\n',
        "Dropout": '[m]\n@layers = "Dropout.v1"\n',
        "Softmax.v2": '[m]\n@layers = "Softmax.v2"\n',
        "Adam": '[o]\n@optimizers = "Adam.v1"\n',
        "SGD": '[o]\n@optimizers = "SGD.v1"\nlearn_rate = 0.1\n',
        "RAdam": '[o]\n@optimizers = "RAdam.v1"\n',
        "compounding": '[s]\n@schedules = "compounding.v1"\nstart = 1\nstop = 2\ncompound = 1.1\n',
        "cyclic_triangular": '[s]\n@schedules = "cyclic_triangular.v1"\nmin_lr = 0.1\nmax_lr = 1\n',
        "slanted_triangular": '[s]\n@schedules = "slanted_triangular.v1"\nmax_rate = 1\n'
        "num_steps = 10\n",
        "CategoricalCrossentropy.v3": '[l]\n@losses = "CategoricalCrossentropy.v3"\n',
        "SequenceCategoricalCrossentropy.v3": '[l]\n@losses = "SequenceCategoricalCrossentropy.v3"\n',
        "CosineDistance": '[l]\n@losses = "CosineDistance.v1"\n',
        "L2Distance": '[l]\n@losses = "L2Distance.v1"\n',
        "normal_init": '[i]\n@initializers = "normal_init.v1"\n',
        "uniform_init": '[i]\n@initializers = "uniform_init.v1"\n',
        "unknown-arg": '[m]\n@layers = "Linear.v1"\nwidth = 3\n',
        "nested-chain": '[m]\n@layers = "chain.v1"\n\n[m.*.a]\n@layers = "Linear.v1"\n',
    }
    for edge, text in fill.items():
        case(
            "registry.fill",
            edge,
            lambda t, np, text=text: t.registry.fill(_cfg(t, text)).to_str(),
        )

    names = {
        "layers": ["Linear.v1", "Relu.v1", "chain.v1", "with_array.v1", "Nope.v1"],
        "optimizers": ["Adam.v1", "SGD.v1", "RAdam.v1", "Adam.v2"],
        "schedules": ["constant.v1", "warmup_linear.v1", "plateau.v1"],
        "losses": ["L2Distance.v1", "CategoricalCrossentropy.v4"],
        "initializers": ["he_normal_init.v1", "glorot_uniform_init.v1", "bogus.v1"],
        "ops": ["NumpyOps", "CupyOps", "MPSOps", "AppleOps", "BigEndianOps"],
        "datasets": ["mnist.v1"],
    }
    for registry_name, entries in names.items():
        case(
            "registry.get_all",
            registry_name,
            lambda t, np, r=registry_name: sorted(
                name for name in getattr(t.registry, r).get_all() if "Torch" not in name
            ),
        )
        for entry in entries:
            case(
                "registry.has",
                f"{registry_name}:{entry}",
                lambda t, np, r=registry_name, e=entry: t.registry.has(r, e),
            )
            case(
                "registry.get",
                f"{registry_name}:{entry}",
                lambda t, np, r=registry_name, e=entry: t.registry.get(r, e).__name__,
            )
    case("registry.get", "unknown-registry", lambda t, np: t.registry.get("nope", "x"))
    case("registry.has", "unknown-registry", lambda t, np: t.registry.has("nope", "x"))
    case(
        "registry.get_registry_names",
        "thinc",
        lambda t, np: sorted(
            name
            for name in [
                "layers",
                "optimizers",
                "schedules",
                "losses",
                "initializers",
                "datasets",
                "ops",
            ]
            if hasattr(t.registry, name)
        ),
    )
    case("registry.create", "existing", lambda t, np: t.registry.create("layers"))
    case(
        "registry.signatures",
        "layers",
        lambda t, np: _signatures(t, "layers"),
    )
    for registry_name in ["optimizers", "schedules", "losses", "initializers"]:
        case(
            "registry.signatures",
            registry_name,
            lambda t, np, r=registry_name: _signatures(t, r),
        )


def _resolve_or_errors(t: Any, text: str) -> Any:
    """The resolved object, or where validation failed (each error's loc)."""
    try:
        return _describe_resolved(t.registry.resolve(_cfg(t, text)))
    except t.ConfigValidationError as error:
        locs = sorted(tuple(str(part) for part in err.get("loc", ())) for err in error.errors)
        return "ConfigValidationError", locs, error.title


def _describe_resolved(resolved: Any) -> Any:
    """A resolved block's object, as something both sides can compare."""
    (value,) = resolved.values()
    kind = type(value).__name__
    if hasattr(value, "walk"):
        return kind, value.name, sorted(value.attrs.items()) if value.attrs else []
    if kind in ("Optimizer",):
        return kind, [
            getattr(value, name, None) for name in ("b1", "b2", "grad_clip", "L2", "use_averages")
        ]
    return kind


def _signatures(t: Any, registry_name: str) -> Any:
    """Each registered function's parameters: name, kind and a plain default."""
    import inspect

    out = {}
    for name, func in sorted(getattr(t.registry, registry_name).get_all().items()):
        if "Torch" in name:
            continue
        params = []
        for param in inspect.signature(func).parameters.values():
            default = param.default
            if default is inspect.Parameter.empty:
                shown: Any = "<required>"
            elif default is None or isinstance(default, (bool, int, float, str)):
                shown = default
            else:
                shown = f"<{type(default).__name__}>"
            params.append((param.name, str(param.kind), shown))
        out[name] = params
    return out
