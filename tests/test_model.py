"""Tests for thinc.model.Model: dims, params, grads, refs, running, tree edits,
copying, operator overloading and the module's tree utilities."""

import asyncio
import contextlib
import copy
import re
import threading

import numpy
import pytest

from thinc.backends import NumpyOps, get_current_ops
from thinc.model import (
    Model,
    change_attr_values,
    deserialize_attr,
    serialize_attr,
    set_dropout_rate,
    wrap_model_recursive,
)
from thinc.shims import Shim


def identity_forward(model, X, is_train):
    return X, lambda dY: dY


def scale_forward(model, X, is_train):
    W = model.get_param("W")

    def backprop(dY):
        model.inc_grad("W", (dY * X).sum(axis=0))
        return dY * W

    return X * W, backprop


def scale_init(model, X=None, Y=None):
    if X is not None:
        model.set_dim("nI", X.shape[1])
    model.set_param("W", numpy.full((model.get_dim("nI"),), 2.0, dtype="f"))


def node(name, layers=(), **kwargs):
    return Model(name, identity_forward, layers=list(layers), **kwargs)


def names(models):
    return [m.name for m in models]


def build_tree():
    # a -> [b -> [d, e], c -> [f]]
    d, e, f = node("d"), node("e"), node("f")
    b, c = node("b", [d, e]), node("c", [f])
    return node("a", [b, c])


def build_shared_tree():
    # r -> [x -> [s], y -> [s, x]]: s and x are shared.
    s = node("s")
    x = node("x", [s])
    y = node("y", [s, x])
    return node("r", [x, y]), s, x, y


# --- construction -------------------------------------------------------------


def test_ids_increase_and_name_is_kept():
    first, second = node("first"), node("second")
    assert second.id > first.id
    assert Model.global_id >= second.id
    assert first.name == "first"


def test_ids_are_unique_across_threads():
    ids = []
    lock = threading.Lock()

    def make():
        made = [node("t").id for _ in range(200)]
        with lock:
            ids.extend(made)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 800


def test_ops_default_to_current_and_can_be_given():
    assert node("m").ops is get_current_ops()
    ops = NumpyOps()
    assert node("m", ops=ops).ops is ops


def test_constructor_copies_containers_but_not_arrays():
    layers, dims, attrs, refs = [node("child")], {"nO": None}, {"k": 1}, {}
    W = numpy.zeros(2, dtype="f")
    model = Model(
        "m", identity_forward, layers=layers, dims=dims, attrs=attrs, refs=refs, params={"W": W}
    )
    assert model.layers == layers and model.layers is not layers
    assert model.attrs == attrs and model.attrs is not attrs
    model.attrs["k"] = 2
    assert attrs["k"] == 1
    assert model.get_param("W") is W
    assert model.layers is model.layers  # the property gives the live list
    assert isinstance(model.dim_names, tuple) and isinstance(model.param_names, tuple)


# --- dims ---------------------------------------------------------------------


def test_dims_states_and_errors():
    model = node("lin", dims={"nO": None, "nI": 3})
    assert model.dim_names == ("nO", "nI")
    assert model.has_dim("nI") is True
    assert model.has_dim("nO") is None
    assert model.has_dim("zz") is False
    assert model.get_dim("nI") == 3
    assert model.maybe_get_dim("nO") is None
    assert model.maybe_get_dim("zz") is None
    with pytest.raises(ValueError, match="'nO' for model 'lin': value unset"):
        model.get_dim("nO")
    with pytest.raises(KeyError, match="'zz' for model 'lin'"):
        model.get_dim("zz")
    with pytest.raises(KeyError, match="unknown dimension 'zz'"):
        model.set_dim("zz", 1)


def test_set_dim_conflicts():
    model = node("lin", dims={"nO": None}, params={"W": None})
    model.set_dim("nO", 2)
    model.set_dim("nO", 2)  # the same value again is fine
    with pytest.raises(ValueError, match="dimension 'nO' for model 'lin' from 2 to 5"):
        model.set_dim("nO", 5)
    with pytest.raises(ValueError, match="from 2 to None"):
        model.set_dim("nO", None)
    # force works while no param is allocated...
    model.set_dim("nO", 5, force=True)
    assert model.get_dim("nO") == 5
    # ...but not once one is.
    model.set_param("W", numpy.zeros(5, dtype="f"))
    with pytest.raises(ValueError, match="from 5 to 6"):
        model.set_dim("nO", 6, force=True)
    model.set_param("W", None)
    model.set_dim("nO", 7, force=True)
    assert model.get_dim("nO") == 7


def test_set_dim_accepts_numpy_ints_and_rejects_other_types():
    model = node("lin", dims={"nO": None, "nI": None})
    model.set_dim("nO", numpy.int64(4))
    assert model.get_dim("nO") == 4
    with pytest.raises(TypeError, match="'nI'.*float"):
        model.set_dim("nI", 3.5)
    with pytest.raises(TypeError, match="'nI'"):
        model.set_dim("nI", "3")


# --- params and gradients -----------------------------------------------------


def test_params_states_and_errors():
    b = numpy.zeros(2, dtype="f")
    model = node("lin", params={"W": None, "b": b})
    assert model.param_names == ("W", "b")
    assert model.has_param("W") is None
    assert model.has_param("b") is True
    assert model.has_param("zz") is False
    assert model.get_param("b") is b
    assert model.maybe_get_param("W") is None
    assert model.maybe_get_param("zz") is None
    with pytest.raises(KeyError, match="'W' for model 'lin' has not been allocated"):
        model.get_param("W")
    with pytest.raises(KeyError, match="Unknown param: 'zz' for model 'lin'"):
        model.get_param("zz")
    W = numpy.ones((2, 3), dtype="f")
    model.set_param("W", W)
    assert model.get_param("W") is W and model.has_param("W") is True
    model.set_param("extra", numpy.ones(1, dtype="f"))
    assert model.param_names == ("W", "b", "extra")
    model.set_param("W", None)
    assert model.has_param("W") is None
    assert model.maybe_get_param("W") is None


def test_grads():
    model = node("lin", params={"W": numpy.zeros(2, dtype="f"), "b": numpy.zeros(2, dtype="f")})
    assert model.grad_names == ()
    assert model.has_grad("W") is False
    assert model.maybe_get_grad("W") is None
    with pytest.raises(KeyError):
        model.get_grad("W")
    increment = numpy.ones(2, dtype="f")
    model.inc_grad("W", increment)
    assert model.get_grad("W") is not increment  # the first increment is copied
    model.inc_grad("W", increment)
    numpy.testing.assert_array_equal(model.get_grad("W"), [2.0, 2.0])
    numpy.testing.assert_array_equal(increment, [1.0, 1.0])
    replacement = numpy.full(2, 5.0, dtype="f")
    model.set_grad("b", replacement)
    assert model.get_grad("b") is replacement
    assert model.grad_names == ("W", "b")
    # A gradient for an undeclared name is stored but not listed.
    model.set_grad("zz", numpy.ones(1, dtype="f"))
    assert model.grad_names == ("W", "b")


def test_get_gradients_visits_shared_nodes_once():
    shared = node("shared", params={"W": numpy.zeros(2, dtype="f"), "u": numpy.zeros(1, dtype="f")})
    top = node("top", [shared, shared], params={"T": numpy.zeros(1, dtype="f")})
    shared.set_grad("W", numpy.ones(2, dtype="f"))
    top.set_grad("T", numpy.ones(1, dtype="f"))
    gradients = top.get_gradients()
    assert set(gradients) == {(top.id, "T"), (shared.id, "W")}
    param, grad = gradients[(shared.id, "W")]
    assert param is shared.get_param("W") and grad is shared.get_grad("W")


# --- refs ---------------------------------------------------------------------


def test_refs():
    child = node("child")
    grandchild = node("grandchild")
    child.layers.append(grandchild)
    model = node("top", [child], refs={"unset": None})
    assert model.ref_names == ("unset",)
    assert model.has_ref("unset") is None
    assert model.has_ref("zz") is False
    assert model.maybe_get_ref("zz") is None
    model.set_ref("deep", grandchild)
    model.set_ref("self", model)
    assert model.get_ref("deep") is grandchild
    assert model.get_ref("self") is model
    assert model.has_ref("deep") is True
    with pytest.raises(ValueError, match="'unset' for model 'top': value unset"):
        model.get_ref("unset")
    with pytest.raises(KeyError, match="'zz' for model 'top'"):
        model.get_ref("zz")
    with pytest.raises(ValueError, match="not in tree"):
        model.set_ref("outsider", node("outsider"))
    assert "outsider" not in model.ref_names
    model.set_ref("deep", None)
    assert model.has_ref("deep") is None


# --- running ------------------------------------------------------------------


def test_initialize_infers_dims_and_returns_model():
    model = Model("scale", scale_forward, init=scale_init, dims={"nI": None}, params={"W": None})
    X = numpy.ones((2, 3), dtype="f")
    assert model.initialize(X=X) is model
    assert model.get_dim("nI") == 3
    numpy.testing.assert_array_equal(model.predict(X), numpy.full((2, 3), 2.0))


def test_initialize_passes_X_and_Y_and_default_init_does_nothing():
    seen = []

    def init(model, X=None, Y=None):
        seen.append((X, Y))

    Model("m", identity_forward, init=init).initialize(X=1, Y=2)
    assert seen == [(1, 2)]
    model = node("m")
    assert model.initialize() is model
    model.replace_callbacks(identity_forward)
    assert model.init is None
    assert model.initialize() is model


def test_call_begin_update_predict():
    flags = []

    def forward(model, X, is_train):
        flags.append(is_train)
        return X + 1, lambda dY: dY * 2

    model = Model("m", forward)
    Y, backprop = model(1, is_train=True)
    assert (Y, backprop(3)) == (2, 6)
    assert model.begin_update(1)[0] == 2
    assert model.predict(1) == 2
    assert flags == [True, True, False]
    with pytest.raises(TypeError):
        model(1)  # is_train is required


def test_replace_callbacks():
    model = node("m")
    model.replace_callbacks(lambda m, X, is_train: (X * 10, None), init=scale_init)
    assert model.predict(2) == 20
    assert model.init is scale_init


def test_initialize_validates_only_when_data_validation_is_on(monkeypatch):
    import thinc.model
    import thinc.util

    calls = []
    monkeypatch.setattr(thinc.model, "validate_fwd_input_output", lambda *args: calls.append(args))
    model = node("m")
    model.initialize(X=[1])
    assert calls == []
    with thinc.util.data_validation(True):
        model.initialize(X=[1], Y=[2])
        model.initialize()  # nothing to check
    assert calls == [("m", identity_forward, [1], [2])]


def test_initialize_raises_data_validation_error_for_wrong_input():
    from thinc.types import Floats2d
    from thinc.util import DataValidationError, data_validation

    def forward(model, X: Floats2d, is_train: bool):
        return X, lambda dY: dY

    model = Model("annotated", forward)
    with data_validation(True):
        model.initialize(X=numpy.zeros((2, 2), dtype="f"))
        with pytest.raises(DataValidationError, match="annotated"):
            model.initialize(X=[1, 2, 3])
    model.initialize(X=[1, 2, 3])  # validation is off again


class RecordingOptimizer:
    def __init__(self):
        self.keys = []

    def __call__(self, key, param, grad):
        self.keys.append(key)
        new_param = param - grad
        grad.fill(0)
        return new_param, grad


class RecordingShim(Shim):
    def __init__(self, model=None, log=None):
        super().__init__(model)
        self.log = log if log is not None else []

    def finish_update(self, optimizer):
        self.log.append(("finish_update", optimizer))

    def to_device(self, device_type, device_id):
        self.log.append(("to_device", device_type, device_id))

    @contextlib.contextmanager
    def use_params(self, params):
        self.log.append(("enter", tuple(params)))
        yield
        self.log.append(("exit",))

    def to_bytes(self):
        return srsly_dumps(self._model)

    def from_bytes(self, data):
        self._model = srsly_loads(data)
        return self


def srsly_dumps(value):
    import srsly

    return srsly.msgpack_dumps(value)


def srsly_loads(data):
    import srsly

    return srsly.msgpack_loads(data)


def test_finish_update_updates_each_param_once_and_calls_shims():
    ones = numpy.ones(1, dtype="f")
    shared = node("shared", params={"W": numpy.ones(2, dtype="f"), "nograd": ones, "unset": None})
    log = []
    shim = RecordingShim(log=log)
    top = node("top", [shared, shared], shims=[shim])
    shared.set_grad("W", numpy.full(2, 0.25, dtype="f"))
    shared.set_grad("unset", numpy.ones(1, dtype="f"))
    optimizer = RecordingOptimizer()
    top.finish_update(optimizer)
    assert optimizer.keys == [(shared.id, "W")]
    numpy.testing.assert_allclose(shared.get_param("W"), [0.75, 0.75])
    numpy.testing.assert_array_equal(shared.get_grad("W"), [0.0, 0.0])
    assert log == [("finish_update", optimizer)]


def test_use_params_swaps_and_restores():
    child = node("child", params={"W": numpy.zeros(2, dtype="f"), "u": None})
    log = []
    top = node("top", [child], shims=[RecordingShim(log=log)])
    original = child.get_param("W")
    replacement = numpy.ones(2, dtype="f")
    params = {
        (child.id, "W"): replacement,
        (child.id, "u"): numpy.ones(3, dtype="f"),
        (999999, "W"): 5,
    }
    with top.use_params(params) as result:
        assert result is None
        assert child.get_param("W") is replacement
        assert child.get_param("u").shape == (3,)
    assert child.get_param("W") is original
    assert child.has_param("u") is None
    assert log == [("enter", tuple(params)), ("exit",)]


def test_use_params_restores_after_an_exception_and_nests():
    model = node("m", params={"W": numpy.zeros(2, dtype="f")})
    original = model.get_param("W")
    with pytest.raises(RuntimeError):
        with model.use_params({(model.id, "W"): numpy.ones(2, dtype="f")}):
            raise RuntimeError("boom")
    assert model.get_param("W") is original
    with model.use_params({(model.id, "W"): numpy.ones(2, dtype="f")}):
        with model.use_params({(model.id, "W"): numpy.full(2, 3.0, dtype="f")}):
            assert model.get_param("W")[0] == 3.0
        assert model.get_param("W")[0] == 1.0
    assert model.get_param("W") is original


# --- walking and editing the tree ---------------------------------------------


def test_walk_orders():
    tree = build_tree()
    assert names(tree.walk()) == ["a", "b", "c", "d", "e", "f"]
    assert names(tree.walk(order="bfs")) == ["a", "b", "c", "d", "e", "f"]
    assert names(tree.walk(order="dfs_pre")) == ["a", "b", "d", "e", "c", "f"]
    assert names(tree.walk(order="dfs_post")) == ["d", "e", "b", "f", "c", "a"]


def test_walk_visits_shared_nodes_once():
    tree, *_ = build_shared_tree()
    assert names(tree.walk()) == ["r", "x", "y", "s"]
    assert names(tree.walk(order="dfs_pre")) == ["r", "x", "s", "y"]
    assert names(tree.walk(order="dfs_post")) == ["s", "x", "y", "r"]


@pytest.mark.parametrize("order", ["dfs_in", "zz", ""])
def test_walk_rejects_unknown_orders(order):
    with pytest.raises(ValueError, match="Invalid order, must be one of: bfs, dfs_pre, dfs_post"):
        list(build_tree().walk(order=order))


def test_walk_handles_deep_chains():
    deepest = node("leaf")
    current = deepest
    for depth in range(3000):
        current = node(f"n{depth}", [current])
    assert len(list(current.walk(order="dfs_post"))) == 3001
    assert list(current.walk(order="dfs_pre"))[-1] is deepest


def test_bfs_walk_is_lazy():
    child = node("child")
    top = node("top", [child])
    walker = iter(top.walk())
    assert next(walker) is top
    child.layers.append(node("late"))
    assert names(walker) == ["child", "late"]


def test_remove_node():
    tree, s, x, y = build_shared_tree()
    y.set_ref("s", s)
    tree.remove_node(s)
    assert names(tree.walk()) == ["r", "x", "y"]
    assert x.layers == [] and y.layers == [x]
    assert y.ref_names == ("s",) and y.maybe_get_ref("s") is None
    tree.remove_node(node("absent"))  # not an error
    assert names(tree.walk()) == ["r", "x", "y"]


def test_replace_node():
    p = node("p")
    q = node("q", [p])
    top = node("top", [q, p])
    top.set_ref("p", p)
    q.set_ref("p", p)
    new = node("new", [p])  # the new node may wrap the old one
    assert top.replace_node(p, new) is True
    assert names(top.layers) == ["q", "new"]
    assert q.layers == [new] and new.layers == [p]
    assert top.get_ref("p") is new and q.get_ref("p") is new
    assert top.replace_node(node("absent"), new) is False
    assert top.replace_node(top, new) is True  # found, nothing to replace
    assert names(top.layers) == ["q", "new"]


# --- copying ------------------------------------------------------------------


def test_copy_is_deep_and_keeps_sharing_and_refs():
    shim = RecordingShim({"weights": [1, 2]})
    shared = node(
        "shared",
        dims={"nO": 2},
        params={"W": numpy.arange(2, dtype="f"), "u": None},
        attrs={"lst": [1]},
        shims=[shim],
    )
    shared.set_grad("W", numpy.ones(2, dtype="f"))
    # A ref may point outside the node's own subtree (into a sibling).
    other = node("other", shims=[shim], refs={"sibling": shared})
    top = node("top", [shared, shared, other], attrs={"d": {"a": 1}})
    top.set_ref("first", shared)
    top.set_ref("unset", None)
    copied = top.copy()
    assert copied.name == "top" and copied.id != top.id
    first, second, third = copied.layers
    assert first is second and first is not shared and first.id != shared.id
    # Params and grads are equal copies.
    assert first.get_param("W") is not shared.get_param("W")
    numpy.testing.assert_array_equal(first.get_param("W"), shared.get_param("W"))
    numpy.testing.assert_array_equal(first.get_grad("W"), [1.0, 1.0])
    assert first.has_param("u") is None
    first.get_param("W")[0] = 100.0
    assert shared.get_param("W")[0] == 0.0
    assert first.get_dim("nO") == 2
    # attrs are deep copies.
    assert copied.attrs == top.attrs and copied.attrs["d"] is not top.attrs["d"]
    assert first.attrs["lst"] is not shared.attrs["lst"]
    # Refs point into the copy.
    assert copied.get_ref("first") is first
    assert third.get_ref("sibling") is first
    assert copied.has_ref("unset") is None
    # A shim shared between nodes stays shared, as a copy.
    assert first.shims[0] is third.shims[0] and first.shims[0] is not shim
    assert first.shims[0]._model == {"weights": [1, 2]}
    assert first.ops is shared.ops and first._func is shared._func


def test_copy_module_works_on_models():
    shared = node("shared", params={"W": numpy.zeros(2, dtype="f")})
    top = node("top", [shared, shared])
    deep = copy.deepcopy(top)
    assert deep.layers[0] is deep.layers[1] and deep.layers[0] is not shared
    numpy.testing.assert_array_equal(deep.layers[0].get_param("W"), [0.0, 0.0])


# --- devices ------------------------------------------------------------------


class RecordingOps(NumpyOps):
    def __init__(self):
        super().__init__()
        self.converted = []

    def asarray(self, data, dtype=None):
        self.converted.append(data.shape)
        return numpy.array(data, dtype=dtype)


def test_to_ops_converts_params_grads_and_moves_shims():
    log = []
    params = {"W": numpy.zeros(2, dtype="f"), "u": None}
    child = node("child", params=params, shims=[RecordingShim(log=log)])
    child.set_grad("W", numpy.ones(2, dtype="f"))
    top = node("top", [child])
    ops = RecordingOps()
    top._to_ops(ops)
    assert top.ops is ops and child.ops is ops
    assert ops.converted == [(2,), (2,)]
    assert log == [("to_device", "cpu", -1)]


def test_to_cpu_keeps_numpy_arrays():
    model = node("m", params={"W": numpy.zeros(2, dtype="f")})
    if not hasattr(model.ops, "asarray"):
        pytest.skip("Ops.asarray not available yet")
    W = model.get_param("W")
    model.to_cpu()
    assert isinstance(model.ops, NumpyOps)
    numpy.testing.assert_array_equal(model.get_param("W"), W)


def test_to_gpu_without_cupy_raises_clearly():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="cupy"):
            node("m").to_gpu(0)
    else:
        pytest.skip("cupy is installed")


# --- operators ----------------------------------------------------------------


SYMBOLS = ["+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "&", "^", "|"]


def apply(symbol, left, right):
    return {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "@": lambda: left @ right,
        "/": lambda: left / right,
        "//": lambda: left // right,
        "%": lambda: left % right,
        "**": lambda: left**right,
        "<<": lambda: left << right,
        ">>": lambda: left >> right,
        "&": lambda: left & right,
        "^": lambda: left ^ right,
        "|": lambda: left | right,
    }[symbol]()


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_define_operators_binds_each_symbol(symbol):
    a, b = node("a"), node("b")
    with pytest.raises(TypeError, match=re.escape(f"Undefined operator: {symbol}")):
        apply(symbol, a, b)
    with Model.define_operators({symbol: lambda x, y: (symbol, x.name, y)}):
        assert apply(symbol, a, 3) == (symbol, "a", 3)
    with pytest.raises(TypeError):
        apply(symbol, a, b)


def test_define_operators_nesting_replaces_and_restores():
    a, b = node("a"), node("b")
    with Model.define_operators({">>": lambda x, y: "chain"}) as result:
        assert result is None
        with Model.define_operators({"|": lambda x, y: "concat"}):
            assert a | b == "concat"
            with pytest.raises(TypeError, match="Undefined operator: >>"):
                a >> b
        assert a >> b == "chain"
    with pytest.raises(TypeError):
        a >> b


def test_define_operators_restores_after_an_exception():
    with pytest.raises(RuntimeError):
        with Model.define_operators({">>": lambda x, y: "chain"}):
            raise RuntimeError("boom")
    with pytest.raises(TypeError):
        node("a") >> node("b")


def test_define_operators_is_thread_local():
    a, b = node("a"), node("b")
    seen = {}
    started = threading.Event()
    release = threading.Event()

    def other_thread():
        try:
            a >> b
        except TypeError:
            seen["inherited"] = False
        else:
            seen["inherited"] = True
        with Model.define_operators({">>": lambda x, y: "thread"}):
            seen["own"] = a >> b
            started.set()
            release.wait(5)

    with Model.define_operators({">>": lambda x, y: "main"}):
        thread = threading.Thread(target=other_thread)
        thread.start()
        started.wait(5)
        # The other thread's binding does not leak into this one.
        assert a >> b == "main"
        release.set()
        thread.join()
    assert seen == {"inherited": False, "own": "thread"}


def test_define_operators_is_task_local():
    a, b = node("a"), node("b")

    async def task(label, delay):
        with Model.define_operators({"+": lambda x, y: label}):
            await asyncio.sleep(delay)
            return a + b

    async def main():
        return await asyncio.gather(task("one", 0.02), task("two", 0.0))

    assert asyncio.run(main()) == ["one", "two"]


# --- tree utilities -----------------------------------------------------------


def test_change_attr_values_only_sets_existing_attrs():
    a = node("a", attrs={"x": 1, "dropout_rate": 0.1})
    b = node("b", attrs={"x": 2})
    top = node("top", [a, b])
    assert change_attr_values(top, {"a": {"x": 5, "new": 1}, "b": {"x": 6}, "zz": {"x": 0}}) is top
    assert a.attrs == {"x": 5, "dropout_rate": 0.1}
    assert b.attrs == {"x": 6}


def test_set_dropout_rate():
    a = node("a", attrs={"dropout_rate": 0.1, "rate2": 0})
    b = node("b", attrs={"x": 2})
    top = node("top", [a, b], attrs={"dropout_rate": None})
    assert set_dropout_rate(top, 0.5) is top
    assert a.attrs == {"dropout_rate": 0.5, "rate2": 0}
    assert top.attrs == {"dropout_rate": 0.5}
    assert b.attrs == {"x": 2}
    set_dropout_rate(top, 0.7, attrs=["rate2"])
    assert a.attrs == {"dropout_rate": 0.5, "rate2": 0.7}


def test_wrap_model_recursive():
    calls = []

    def wrapper(model):
        calls.append(model.name)
        return Model(f"wrap_{model.name}", identity_forward, layers=[model])

    x = node("x")
    y = node("y", [x])
    z = node("z", [y, x])
    z.set_ref("x", x)
    wrapped = wrap_model_recursive(z, wrapper)
    assert calls == ["z", "y", "x", "z"]
    assert wrapped.name == "wrap_z" and wrapped.layers == [z]
    assert names(z.layers) == ["wrap_y", "wrap_x"]
    assert names(y.layers) == ["wrap_x"]
    assert z.get_ref("x").name == "wrap_x"
    assert names(wrapped.walk()) == ["wrap_z", "z", "wrap_y", "wrap_x", "y", "x"]


class Celsius:
    def __init__(self, degrees):
        self.degrees = degrees


def test_serialize_attr_dispatches_on_type():
    model = node("m")
    assert serialize_attr({"a": 1}, {"a": 1}, "name", model) == b"\x81\xa1a\x01"
    assert deserialize_attr(None, b"\x81\xa1a\x01", "name", model) == {"a": 1}

    @serialize_attr.register(Celsius)
    def _(_, value, name, model):
        return str(value.degrees).encode("utf8")

    @deserialize_attr.register(Celsius)
    def _(_, value, name, model):
        return Celsius(float(value.decode("utf8")))

    source = node("m", attrs={"temp": Celsius(21.5)})
    target = node("m", attrs={"temp": Celsius(0.0)})
    target.from_bytes(source.to_bytes())
    assert target.attrs["temp"].degrees == 21.5


# --- the parameter store ------------------------------------------------------


def test_param_server_keys_and_errors():
    from thinc.backends import ParamServer

    initial = {(1, "W"): numpy.zeros(2, dtype="f")}
    server = ParamServer(params=initial)
    server.set_param(2, "b", numpy.ones(1, dtype="f"))
    assert server.param_keys == ((1, "W"), (2, "b"))
    assert initial == {(1, "W"): initial[(1, "W")]}  # the given dict is not modified
    assert server.grad_keys == ()
    assert server.has_param(1, "W") and not server.has_param(1, "b")
    assert not server.has_grad(1, "W")
    with pytest.raises(KeyError):
        server.get_param(3, "W")
    with pytest.raises(KeyError):
        server.get_grad(1, "W")
    increment = numpy.ones(2, dtype="f")
    server.inc_grad(1, "W", increment)
    server.inc_grad(1, "W", increment)
    numpy.testing.assert_array_equal(server.get_grad(1, "W"), [2.0, 2.0])
    numpy.testing.assert_array_equal(increment, [1.0, 1.0])
    assert server.grad_keys == ((1, "W"),)


def test_param_server_proxy_receives_params_and_gradient_writes():
    from thinc.backends import ParamServer

    calls = []

    class Proxy:
        def get_param(self, model_id, name):
            calls.append(("get_param", model_id, name))
            return "from proxy"

        def set_param(self, model_id, name, value):
            calls.append(("set_param", model_id, name))

        def set_grad(self, model_id, name, value):
            calls.append(("set_grad", model_id, name))

        def inc_grad(self, model_id, name, value):
            calls.append(("inc_grad", model_id, name))

    server = ParamServer(proxy=Proxy())
    server.set_param(1, "W", numpy.zeros(1, dtype="f"))
    assert server.get_param(1, "W") == "from proxy"
    server.set_grad(1, "W", numpy.zeros(1, dtype="f"))
    server.inc_grad(1, "W", numpy.zeros(1, dtype="f"))
    assert calls == [
        ("set_param", 1, "W"),
        ("get_param", 1, "W"),
        ("set_grad", 1, "W"),
        ("inc_grad", 1, "W"),
    ]


def test_models_pickle_with_sharing_and_refs():
    import pickle

    child = node("child", dims={"nO": 2}, params={"W": numpy.arange(2, dtype="f")})
    top = node("top", [child, child], refs={"child": child})
    loaded = pickle.loads(pickle.dumps(top))
    assert loaded.layers[0] is loaded.layers[1]
    assert loaded.get_ref("child") is loaded.layers[0]
    numpy.testing.assert_array_equal(loaded.layers[0].get_param("W"), [0.0, 1.0])
    assert loaded.layers[0].get_dim("nO") == 2


@pytest.mark.parametrize("factory", ["Linear", "Relu", "Softmax", "Mish"])
def test_a_dtype_mismatch_names_the_innermost_layer(factory):
    import thinc.api

    inner = getattr(thinc.api, factory)(4, 3)
    model = thinc.api.chain(inner, thinc.api.Linear(2, 4))
    model.initialize()
    with pytest.raises(ValueError) as caught:
        model.predict(numpy.ones((2, 3), dtype="float64"))
    message = str(caught.value)
    assert f"in layer '{inner.name}'" in message and "float64 input" in message
    assert "X.astype('float32')" in message
    assert message.count("in layer") == 1


def test_other_value_errors_pass_through_unchanged():
    def forward(model, X, is_train):
        raise ValueError("plain failure")

    with pytest.raises(ValueError, match="^plain failure$"):
        Model("failing", forward).predict(numpy.ones((1, 1), "f"))
