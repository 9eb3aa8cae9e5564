"""One table of calls that covers every CupyOps override: the inputs each takes
(built on the host with numpy), and the kernel each must launch. The CPU tests
run the table with the kernels emulated on the CPU; the GPU tests run it on the
device; both compare with NumpyOps and the reference Ops."""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy

# Values where activations are easy to get wrong: NaN must come out NaN, and
# infinities and large magnitudes must not turn into NaN (or the reverse)
# differently from the CPU backend.
SPECIAL_VALUES = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 30.0, -30.0, 3.0, -3.0, 2.5]


@dataclass
class Case:
    method: str
    build: Callable[[numpy.random.Generator, str], Tuple[tuple, dict]]
    kernel: str  # base name; the suffix follows the dtype
    # Tolerances for float32; float64 gets 1e-10 relative.
    rtol: float = 1e-5
    atol: float = 1e-6
    # Special values in the first array argument.
    specials: bool = False
    # Which outputs the reference Ops computes the same way (None: all); adam's
    # gradient comes back zeroed from NumpyOps and CupyOps, as in thinc 8.3.
    reference_outputs: Optional[Tuple[int, ...]] = None
    id: str = field(default="")

    def __post_init__(self) -> None:
        self.id = self.id or self.method


def _activation_input(rng: numpy.random.Generator, dtype: str, shape=(7, 5)) -> numpy.ndarray:
    return (rng.normal(size=shape) * 3).astype(dtype)


def _forward(method: str, kernel: str = "", **kwargs: Any) -> Case:
    def build(rng, dtype):
        return (_activation_input(rng, dtype),), dict(kwargs)

    return Case(method, build, kernel or method, specials=True, id=f"{method}{kwargs or ''}")


def _backward(method: str, kernel: str = "", from_output: str = "", **kwargs: Any) -> Case:
    """A gradient method taking (dY, X); from_output names the forward method
    whose output is the saved array instead (sigmoid's gradient reads Y)."""

    def build(rng, dtype):
        X = _activation_input(rng, dtype)
        if from_output:
            from thinc.backends.ops import Ops

            X = getattr(Ops(), from_output)(X)
        dY = rng.normal(size=X.shape).astype(dtype)
        return (dY, X), dict(kwargs)

    return Case(method, build, kernel or method, id=f"{method}{kwargs or ''}")


def _backward_swish(rng, dtype):
    from thinc.backends.ops import Ops

    X = _activation_input(rng, dtype)
    Y = Ops().swish(X)
    return (rng.normal(size=X.shape).astype(dtype), X, Y), {}


def _lengths(rng: numpy.random.Generator, positive: bool = False) -> numpy.ndarray:
    lengths = rng.integers(1 if positive else 0, 5, size=6).astype("int32")
    return lengths


def _seq2col(rng, dtype):
    lengths = _lengths(rng)
    X = rng.normal(size=(int(lengths.sum()), 3)).astype(dtype)
    return (X, 2), {"lengths": lengths}


def _backprop_seq2col(rng, dtype):
    lengths = _lengths(rng)
    dY = rng.normal(size=(int(lengths.sum()), 15)).astype(dtype)
    return (dY, 2), {"lengths": lengths}


def _reduce(rng, dtype, positive=False):
    lengths = _lengths(rng, positive)
    X = rng.normal(size=(int(lengths.sum()), 4)).astype(dtype)
    return (X, lengths), {}


def _backprop_reduce(rng, dtype, positive=False):
    lengths = _lengths(rng, positive)
    return (rng.normal(size=(len(lengths), 4)).astype(dtype), lengths), {}


def _backprop_reduce_max(rng, dtype):
    lengths = _lengths(rng, positive=True)
    d_maxes = rng.normal(size=(len(lengths), 4)).astype(dtype)
    which = (rng.integers(0, 1000, size=d_maxes.shape) % lengths[:, None]).astype("int32")
    return (d_maxes, which, lengths), {}


def _maxout(rng, dtype):
    return (rng.normal(size=(6, 4, 3)).astype(dtype),), {}


def _backprop_maxout(rng, dtype):
    dY = rng.normal(size=(6, 4)).astype(dtype)
    return (dY, rng.integers(0, 3, size=(6, 4)).astype("int32"), 3), {}


def _maxout_forward(rng, dtype):
    X = rng.normal(size=(6, 5)).astype(dtype)
    W = rng.normal(size=(4, 3, 5)).astype(dtype)
    b = rng.normal(size=(4, 3)).astype(dtype)
    return (X, W, b), {}


def _maxout_piece_gradients(rng, dtype):
    d_best = rng.normal(size=(6, 4)).astype(dtype)
    return (d_best, rng.integers(0, 3, size=(6, 4)).astype("int32"), 3), {}


def _layer_norm_forward(rng, dtype):
    X = (rng.normal(size=(9, 6)) * 2 + 1).astype(dtype)
    G = rng.normal(size=(6,)).astype(dtype)
    b = rng.normal(size=(6,)).astype(dtype)
    return (X, G, b), {}


def _layer_norm_backward(rng, dtype):
    from thinc.backends.ops import Ops

    (X, G, b), _ = _layer_norm_forward(rng, dtype)
    _, (mean, inverse_std) = Ops()._layer_norm_forward(X, G, b)
    dY = rng.normal(size=X.shape).astype(dtype)
    return (dY, X, G, mean, inverse_std), {}


def _pad(rng, dtype):
    lengths = [3, 0, 5, 1]
    if dtype in ("int32", "int64"):
        seqs = [rng.integers(-100, 100, size=(n, 2, 3)).astype(dtype) for n in lengths]
    else:
        seqs = [rng.normal(size=(n, 2, 3)).astype(dtype) for n in lengths]
    return (seqs,), {"round_to": 4}


def _gather_add(rng, dtype):
    table = rng.normal(size=(10, 4)).astype(dtype)
    return (table, rng.integers(0, 10, size=(5, 3)).astype("int32")), {}


def _adam(rng, dtype):
    shape = (13,)
    weights, gradient = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    mom1 = rng.normal(size=shape).astype(dtype)
    mom2 = rng.uniform(0, 1, size=shape).astype(dtype)
    return (weights, gradient, mom1, mom2, 0.9, 0.999, 1e-8, 0.01), {"mod_rate": 0.5}


def _hash(rng, dtype):
    return (rng.integers(0, 2**63, size=(9,)).astype("uint64"), 7), {}


CASES: List[Case] = [
    _forward("relu"),
    _forward("sigmoid"),
    _forward("dsigmoid"),
    _forward("dtanh"),
    _forward("clipped_linear", slope=0.7, offset=0.2, min_val=-1.5, max_val=2.0),
    _forward("clipped_linear", slope=-2.0, offset=1.0, min_val=-0.5, max_val=0.5),
    _forward("relu_k", "clipped_linear", n=4.0),
    _forward("hard_sigmoid", "clipped_linear"),
    _forward("hard_tanh", "clipped_linear"),
    _forward("swish"),
    _forward("hard_swish"),
    _forward("hard_swish_mobilenet"),
    _forward("dish"),
    _forward("gelu"),
    _forward("gelu_approx"),
    _forward("mish"),
    _forward("mish", threshold=2.0),
    _backward("backprop_relu", from_output="relu"),
    _backward("backprop_sigmoid", from_output="sigmoid"),
    _backward("backprop_clipped_linear", slope=0.7, offset=0.2, min_val=-1.5, max_val=2.0),
    _backward("backprop_clipped_linear", slope=-2.0, offset=1.0, min_val=-0.5, max_val=0.5),
    _backward("backprop_relu_k", "backprop_clipped_linear", n=4.0),
    _backward("backprop_hard_sigmoid", "backprop_clipped_linear"),
    _backward("backprop_hard_tanh", "backprop_clipped_linear"),
    _backward("backprop_hard_swish"),
    _backward("backprop_hard_swish_mobilenet"),
    _backward("backprop_dish"),
    _backward("backprop_gelu"),
    _backward("backprop_gelu_approx"),
    _backward("backprop_mish"),
    _backward("backprop_mish", threshold=2.0),
    Case("backprop_swish", _backward_swish, "backprop_swish"),
    Case("seq2col", _seq2col, "seq2col"),
    Case("backprop_seq2col", _backprop_seq2col, "backprop_seq2col"),
    Case("reduce_sum", _reduce, "reduce_sum"),
    Case("reduce_mean", _reduce, "reduce_sum"),
    Case("reduce_max", lambda rng, dtype: _reduce(rng, dtype, True), "reduce_max"),
    Case("backprop_reduce_sum", _backprop_reduce, "backprop_reduce_sum"),
    Case("backprop_reduce_mean", _backprop_reduce, "backprop_reduce_sum"),
    Case("backprop_reduce_max", _backprop_reduce_max, "backprop_reduce_max"),
    Case("maxout", _maxout, "maxout"),
    Case("backprop_maxout", _backprop_maxout, "backprop_maxout"),
    Case("_maxout_forward", _maxout_forward, "maxout_bias"),
    Case("_maxout_piece_gradients", _maxout_piece_gradients, "backprop_maxout"),
    Case("_layer_norm_forward", _layer_norm_forward, "layer_norm_apply", rtol=1e-4, atol=1e-5),
    Case(
        "_layer_norm_backward", _layer_norm_backward, "layer_norm_column_sums", rtol=1e-4, atol=1e-5
    ),
    Case("pad", _pad, "pad"),
    Case("gather_add", _gather_add, "gather_add"),
    Case("adam", _adam, "adam", reference_outputs=(0, 2, 3)),
]
# Cases whose inputs do not depend on the float dtype.
DTYPE_FREE = {"hash": Case("hash", _hash, "hash_data")}
PAD_INT_DTYPES = ("int32", "int64")


def suffix_for(case: Case, dtype: str) -> str:
    if case.kernel == "hash_data":
        return "hash_data"
    names = {"float32": "float", "float64": "double", "int32": "int32", "int64": "int64"}
    return f"{case.kernel}_{names[dtype]}"


def with_specials(args: tuple, dtype: str) -> tuple:
    """The first argument with SPECIAL_VALUES written over its first entries."""
    first = args[0].copy()
    flat = first.reshape(-1)
    flat[: len(SPECIAL_VALUES)] = numpy.asarray(SPECIAL_VALUES, dtype=dtype)
    return (first,) + tuple(args[1:])


def copy_args(args: tuple, convert: Callable[[Any], Any]) -> tuple:
    """args with every array (also inside lists and tuples) converted (copied)."""

    def one(value):
        if isinstance(value, numpy.ndarray):
            return convert(value.copy())
        if isinstance(value, (list, tuple)):
            return type(value)(one(item) for item in value)
        return value

    return tuple(one(value) for value in args)


def flatten_result(result: Any) -> List[Any]:
    if isinstance(result, (list, tuple)):
        flat: List[Any] = []
        for item in result:
            flat.extend(flatten_result(item))
        return flat
    return [result]


def tolerances(case: Case, dtype: str) -> Dict[str, float]:
    if dtype == "float64":
        return {"rtol": 1e-10, "atol": 1e-12}
    return {"rtol": case.rtol, "atol": case.atol}


def _tagger() -> Any:
    from thinc.api import HashEmbed, Maxout, Mish, Softmax, chain, expand_window, with_array

    return with_array(
        chain(
            HashEmbed(nO=16, nV=200, seed=3),
            expand_window(window_size=1),
            Maxout(nO=16, nP=3, normalize=True),
            Mish(nO=16),
            Softmax(nO=5),
        )
    )


def compare_tagger_training(device_ops: Any, steps: int = 5) -> None:
    """Train a small tagger (hash embedding, window, maxout with layer norm,
    mish, softmax) for a few Adam steps with NumpyOps and with device_ops, from
    the same weights on the same batches; predictions and weights must agree."""
    from thinc.api import Adam, NumpyOps, fix_random_seed, set_current_ops

    fix_random_seed(0)
    rng = numpy.random.default_rng(7)
    docs = [rng.integers(0, 1000, size=(n,)).astype("uint64") for n in (5, 9, 1, 7)]
    truth = [numpy.eye(5, dtype="f")[rng.integers(0, 5, size=(len(doc),))] for doc in docs]
    cpu_ops = NumpyOps()
    set_current_ops(cpu_ops)
    try:
        cpu_model = _tagger()
        cpu_model.initialize(X=docs, Y=truth)
        set_current_ops(device_ops)
        device_model = _tagger()
        device_model.initialize(
            X=[device_ops.asarray(doc) for doc in docs], Y=[device_ops.asarray(t) for t in truth]
        )
    finally:
        set_current_ops(cpu_ops)
    device_model.from_bytes(cpu_model.to_bytes())
    optimizers = {id(cpu_model): Adam(0.01), id(device_model): Adam(0.01)}
    for _ in range(steps):
        for model, ops in ((cpu_model, cpu_ops), (device_model, device_ops)):
            guesses, backprop = model.begin_update([ops.asarray(doc) for doc in docs])
            backprop([guess - ops.asarray(t) for guess, t in zip(guesses, truth)])
            model.finish_update(optimizers[id(model)])
    device_out = device_model.predict([device_ops.asarray(doc) for doc in docs])
    for cpu_rows, device_rows in zip(cpu_model.predict(docs), device_out):
        numpy.testing.assert_allclose(
            device_ops.to_numpy(device_rows), cpu_rows, rtol=1e-3, atol=1e-4
        )
    compared = 0
    for cpu_node, device_node in zip(cpu_model.walk(), device_model.walk()):
        assert device_node.ops is device_ops or type(device_node.ops) is type(device_ops)
        for name in cpu_node.param_names:
            if cpu_node.has_param(name):
                compared += 1
                numpy.testing.assert_allclose(
                    device_ops.to_numpy(device_node.get_param(name)),
                    cpu_node.get_param(name),
                    rtol=1e-3,
                    atol=1e-4,
                    err_msg=f"{cpu_node.name}.{name}",
                )
    # The weights moved, and equally: not a comparison of two untrained models.
    assert compared >= 6
