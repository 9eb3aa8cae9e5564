"""Differential cases: layers (see cases.py for the format)."""

import copy
from typing import Any, Callable, List, Tuple

# The runner imports these modules top-level, pytest from the package.
try:
    from .helpers import fill_params, forward_backward
except ImportError:
    from helpers import fill_params, forward_backward  # type: ignore[no-redef]

# (function pattern, edge pattern, why ours may differ from 8.3.14)
KNOWN_DIFFERENCES: List[Tuple[str, str, str]] = [
    (
        "Model.api",
        "set_dim-float",
        "8.3.14 stores a non-integer dim (allocation fails later); ours refuses it (TypeError)",
    ),
    (
        "Model.api",
        "set_dim-str",
        "8.3.14 stores a non-integer dim (allocation fails later); ours refuses it (TypeError)",
    ),
    (
        "Model.api",
        "copy-refs",
        "8.3.14's copy drops every ref (get_ref then raises KeyError); ours maps refs into the copy",
    ),
    (
        "Model.serialize",
        "from_bytes-garbage",
        "both raise ValueError; 8.3.14's is msgpack's ExtraData subclass, ours says the data is corrupt",
    ),
    (
        "Model.serialize",
        "from_bytes-different-name",
        "8.3.14 renames the node to the data's name; ours refuses a node whose name differs",
    ),
    (
        "Model.tree",
        "define_operators-exception-restores",
        "8.3.14 leaves the operators bound when the with-block raises (no finally); ours "
        "restores the enclosing binding",
    ),
    (
        "layer.Dish(*)",
        "*",
        "8.3.14's Dish backprop fails (broadcast) or is wrong whenever nO != nI",
    ),
    ("layer.Maxout(nP)", "nP=0", "8.3.14 crashes (IndexError in the maxout kernel) on no pieces"),
    ("layer.LayerNorm", "1d-input", "8.3.14 crashes (AxisError from numpy's mean) on a 1d input"),
    ("layer.combinator", "chain-non-model", "8.3.14 crashes (AttributeError on the int)"),
    (
        "layer.combinator",
        "concatenate-ragged",
        "8.3.14's backprop crashes (TypeError: Ragged += Ragged); ours sums the gradients",
    ),
    (
        "layer.combinator",
        "concatenate-list*",
        "8.3.14's list backprop extends the list of gradients (list +=) instead of summing "
        "them, and cannot concatenate no sequences; ours sums and allows an empty list",
    ),
    (
        "layer.combinator",
        "concatenate-padded",
        "8.3.14 crashes (AttributeError: Padded has no shape)",
    ),
    (
        "layer.combinator",
        "clone-negative",
        "8.3.14 crashes inside chain() (TypeError: missing argument); ours says why (ValueError)",
    ),
    (
        "layer.combinator",
        "with_getitem-negative",
        "8.3.14 splices a negative index wrongly (items[:-1] + (Y,) + items[0:]), "
        "then its backprop fails",
    ),
    (
        "layer.combinator",
        "with_reshape-*",
        "8.3.14's backprop feeds a 3d gradient to the inner layer (gemm refuses it), and its "
        "forward fails (IndexError) on a 2d input",
    ),
    (
        "layer.seq.with_*",
        "*-tuple*",
        "8.3.14 reads a tuple of the wrong arity as a list of sequences and crashes on it "
        "(ValueError deep in flatten/list2padded); ours refuses the type (TypeError)",
    ),
    (
        "layer.seq.with_padded(*)",
        "array2d",
        "8.3.14 wraps a 2d array in a Padded with made-up lengths (garbage, or IndexError); "
        "ours asks for a 3d array",
    ),
    (
        "layer.seq.with_ragged(*)",
        "array2d",
        "8.3.14 reads the rows of a 2d array as sequences of scalars (garbage); ours refuses",
    ),
    (
        "layer.seq.with_array2d(Linear)",
        "array3d",
        "8.3.14 hands the 3d array to Linear (gemm's ValueError); ours refuses the type",
    ),
    (
        "layer.reduce_*",
        "all-zero-length",
        "8.3.14 reshapes empty Ragged data to (0, 0), losing the width",
    ),
    (
        "layer.reduce_*",
        "zero-width",
        "8.3.14 reshapes empty Ragged data to (0, 0), losing the width; first/last crash "
        "(IndexError)",
    ),
    ("layer.reduce_*", "list-input", "8.3.14 crashes (AttributeError) on a list"),
    (
        "layer.expand_window",
        "*ragged-empty",
        "8.3.14 reshapes empty Ragged data to (0, 0), losing the width",
    ),
    (
        "layer.seq.bidirectional",
        "LSTM-predict",
        "8.3.14's bidirectional never reverses the input (data[::1]) and splits the gradient "
        "as two first halves; ours runs r2l right to left",
    ),
    ("layer.seq.bidirectional", "list-input", "8.3.14 crashes (AttributeError) on a list"),
    (
        "layer.seq.LSTM(options)",
        "bi-odd-nO",
        "8.3.14 builds a bi-LSTM of odd nO whose output is one column short; ours refuses",
    ),
    (
        "layer.seq.ParametricAttention_v2",
        "infer-nO",
        "8.3.14 never sets an unset nO on the key transform (it tests has_dim, which is None), "
        "so its init fails; ours sizes the key transform",
    ),
    ("layer.Embed", "2d-*", "ids have no gradient; ours returns zeros of the ids' shape"),
    (
        "layer.uniqued(Embed)",
        "single-row",
        "ids have no gradient; ours returns zeros of the ids' shape",
    ),
    (
        "layer.Embed",
        "int64-negative",
        "8.3.14 wraps a negative id to the last rows of the table (garbage); ours refuses",
    ),
    ("layer.Embed", "float", "8.3.14 crashes (IndexError: float indices); ours says why"),
    (
        "layer.HashEmbed",
        "float",
        "8.3.14 truncates float ids to uint64 (1.5 hashes as 1); ours refuses non-integer ids",
    ),
    ("layer.*Embed*", "list", "8.3.14 crashes (AttributeError) on a list of ids"),
    (
        "layer.HashEmbed(seed)",
        "seed=8589934592",
        "both refuse a seed beyond 32 bits: 8.3.14 with Cython's OverflowError, ours ValueError",
    ),
    (
        "layer.uniqued(Embed)",
        "column=0-repeated",
        "8.3.14 crashes (TypeError from alloc2f) when the layer's output is 3d",
    ),
    (
        "layer.premap_ids",
        "2d-column*",
        "8.3.14 crashes on uint64 ids (Cython buffer dtype mismatch); ours maps them",
    ),
    (
        "layer.SparseLinear*",
        "lengths-mismatch",
        "8.3.14 reads past the keys when the lengths sum to more (returns garbage); ours refuses",
    ),
]


def _fbg(model: Any, X: Any, sample: Any = None) -> Any:
    """Like forward_backward, plus each node's param gradients (by walk position)."""
    Y, dX = forward_backward(model, X, sample)
    grads = [
        {name: node.get_grad(name) for name in node.param_names if node.has_grad(name)}
        for node in model.walk()
    ]
    return Y, dX, grads


def _tri(model: Any, kind: str, names: List[str]) -> Any:
    return [getattr(model, f"has_{kind}")(name) for name in names]


def register(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    _model_api(case, floats)
    _dense(case, floats)
    _combinators(case, floats)
    _sequences(case, floats)
    _embeddings(case, floats)


def _dense(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    """Dense layers with normalize / dropout options, LayerNorm and Dropout."""
    X = lambda np, rows=3: floats(np, rows, 4)  # noqa: E731
    for name in ["Maxout", "Mish", "Relu", "Swish", "Gelu", "HardSwish", "HardTanh", "Dish"]:
        case(
            f"layer.{name}(normalize)",
            "plain",
            lambda t, np, n=name: _fbg(getattr(t, n)(5, 4, normalize=True), X(np)),
        )
        case(
            f"layer.{name}(normalize)",
            "size-1",
            lambda t, np, n=name: _fbg(getattr(t, n)(5, 4, normalize=True), X(np, 1)),
        )
        case(
            f"layer.{name}(normalize)",
            "constant-rows",
            lambda t, np, n=name: _fbg(getattr(t, n)(5, 4, normalize=True), np.ones((2, 4), "f")),
        )
        case(
            f"layer.{name}(dropout)",
            "predict",
            lambda t, np, n=name: fill_params(
                getattr(t, n)(2, 4, dropout=0.5).initialize()
            ).predict(X(np)),
        )
        case(
            f"layer.{name}(dropout)",
            "rate-0-train",
            lambda t, np, n=name: _fbg(getattr(t, n)(2, 4, dropout=0.0), X(np)),
        )
        case(
            f"layer.{name}(dropout)",
            "names",
            lambda t, np, n=name: [
                (m.name, sorted(m.attrs))
                for m in getattr(t, n)(2, 4, dropout=0.2, normalize=True).walk()
            ],
        )
    case(
        "layer.Maxout(nP)",
        "nP=1",
        lambda t, np: _fbg(t.Maxout(2, 4, nP=1), X(np)),
    )
    case(
        "layer.Maxout(nP)",
        "nP=5,normalize",
        lambda t, np: _fbg(t.Maxout(2, 4, nP=5, normalize=True), X(np)),
    )
    case("layer.Maxout(nP)", "nP=0", lambda t, np: _fbg(t.Maxout(2, 4, nP=0), X(np)))
    case(
        "layer.Maxout(nP)",
        "dims",
        lambda t, np: (lambda m: {n: m.maybe_get_dim(n) for n in m.dim_names})(
            t.Maxout(2, nP=4).initialize(X=X(np))
        ),
    )
    case(
        "layer.ClippedLinear(options)",
        "slope-offset",
        lambda t, np: _fbg(
            t.ClippedLinear(2, 4, slope=2.0, offset=0.5, min_val=-1.0, max_val=1.5), X(np)
        ),
    )
    case(
        "layer.ClippedLinear(options)",
        "normalize-dropout",
        lambda t, np: _fbg(t.ClippedLinear(2, 4, normalize=True, dropout=0.0), X(np)),
    )
    case("layer.ReluK(k)", "k=1", lambda t, np: _fbg(t.ReluK(2, 4, k=1.0), X(np)))
    case("layer.ReluK(k)", "k=0", lambda t, np: _fbg(t.ReluK(2, 4, k=0.0), X(np)))
    case(
        "layer.ReluK(k)",
        "normalize",
        lambda t, np: _fbg(t.ReluK(2, 4, k=2.0, normalize=True), X(np)),
    )
    case(
        "layer.HardSigmoid(dropout)",
        "rate-0",
        lambda t, np: _fbg(t.HardSigmoid(2, 4, dropout=0.0), X(np)),
    )
    case(
        "layer.Sigmoid(init)",
        "zero_init",
        lambda t, np: t.Sigmoid(2, 4, init_W=t.zero_init).initialize().predict(X(np)),
    )
    case(
        "layer.Linear(init)",
        "zero_init-both",
        lambda t, np: (
            t.Linear(2, 4, init_W=t.zero_init, init_b=t.zero_init).initialize().predict(X(np))
        ),
    )
    case(
        "layer.Linear(init)",
        "uniform_init-shape",
        lambda t, np: t.Linear(2, 4, init_W=t.uniform_init).initialize().get_param("W").shape,
    )
    case("layer.Linear", "nO=0", lambda t, np: _fbg(t.Linear(0, 4), X(np)))
    case(
        "layer.Linear",
        "float64-input",
        lambda t, np: forward_backward(t.Linear(2, 4), X(np).astype("f8")),
    )
    case(
        "layer.Linear",
        "int-input",
        lambda t, np: forward_backward(t.Linear(2, 4), np.ones((2, 4), "i")),
    )
    case(
        "layer.Linear",
        "list-input",
        lambda t, np: forward_backward(t.Linear(2, 4), [[1.0] * 4], X(np)),
    )
    case(
        "layer.Linear",
        "3d-input",
        lambda t, np: forward_backward(t.Linear(2, 4), floats(np, 2, 3, 4), X(np)),
    )
    case("layer.Linear", "param-grads", lambda t, np: _fbg(t.Linear(2, 4), X(np)))
    case("layer.Relu", "param-grads", lambda t, np: _fbg(t.Relu(2, 4), X(np)))
    case(
        "layer.Softmax(init)",
        "default-zero",
        lambda t, np: (lambda m: (m.get_param("W"), m.get_param("b"), m.predict(X(np))))(
            t.Softmax(2, 4).initialize()
        ),
    )
    case(
        "layer.Softmax_v2(temperature)",
        "t=2",
        lambda t, np: fill_params(t.Softmax_v2(3, 4, temperature=2.0).initialize()).predict(X(np)),
    )
    case(
        "layer.Softmax_v2(temperature)",
        "t=2-train",
        lambda t, np: forward_backward(t.Softmax_v2(3, 4, temperature=2.0), X(np)),
    )
    case(
        "layer.Softmax_v2(temperature)",
        "t=0",
        lambda t, np: t.Softmax_v2(3, 4, temperature=0.0).initialize().predict(X(np)),
    )
    case(
        "layer.Softmax_v2(temperature)",
        "unnormalized-train",
        lambda t, np: forward_backward(t.Softmax_v2(3, 4, normalize_outputs=False), X(np)),
    )
    case(
        "layer.Softmax_v2(temperature)",
        "unnormalized-predict",
        lambda t, np: fill_params(t.Softmax_v2(3, 4, normalize_outputs=False).initialize()).predict(
            X(np)
        ),
    )
    case(
        "layer.MultiSoftmax",
        "one-class-group",
        lambda t, np: _fbg(t.MultiSoftmax((1, 3), 4), X(np)),
    )
    case(
        "layer.MultiSoftmax",
        "nO-mismatch",
        lambda t, np: t.MultiSoftmax((2, 3), 4).initialize(Y=floats(np, 2, 6)),
    )
    case("layer.MultiSoftmax", "param-grads", lambda t, np: _fbg(t.MultiSoftmax((2, 2), 4), X(np)))
    # LayerNorm
    case("layer.LayerNorm", "1-row", lambda t, np: _fbg(t.LayerNorm(4), X(np, 1)))
    case("layer.LayerNorm", "width-1", lambda t, np: _fbg(t.LayerNorm(1), floats(np, 3, 1)))
    case("layer.LayerNorm", "width-5-odd", lambda t, np: _fbg(t.LayerNorm(5), floats(np, 3, 5)))
    case(
        "layer.LayerNorm", "constant-row", lambda t, np: _fbg(t.LayerNorm(4), np.ones((2, 4), "f"))
    )
    case(
        "layer.LayerNorm",
        "infer-nI",
        lambda t, np: t.LayerNorm().initialize(X=floats(np, 2, 5)).get_dim("nI"),
    )
    case("layer.LayerNorm", "no-nI", lambda t, np: t.LayerNorm().initialize())
    case(
        "layer.LayerNorm",
        "init-params",
        lambda t, np: (lambda m: (m.get_param("G"), m.get_param("b")))(t.LayerNorm(3).initialize()),
    )
    case(
        "layer.LayerNorm",
        "wrong-width",
        lambda t, np: forward_backward(t.LayerNorm(4), floats(np, 2, 5), X(np)),
    )
    case(
        "layer.LayerNorm",
        "1d-input",
        lambda t, np: forward_backward(t.LayerNorm(4), floats(np, 4), X(np)),
    )
    case(
        "layer.LayerNorm",
        "float64",
        lambda t, np: forward_backward(t.LayerNorm(4), X(np).astype("f8")),
    )
    case(
        "layer.LayerNorm",
        "large-values",
        lambda t, np: forward_backward(t.LayerNorm(4), X(np) * 1e4),
    )
    # Dropout
    for rate in [0.0, 1.0]:
        for kind, make in [
            ("array", lambda t, np: floats(np, 3, 4)),
            ("list", lambda t, np: [floats(np, 2, 4), floats(np, 1, 4)]),
            ("ragged", lambda t, np: t.Ragged(floats(np, 3, 4), np.asarray([1, 2], "i"))),
            (
                "padded",
                lambda t, np: t.NumpyOps().list2padded([floats(np, 2, 4), floats(np, 1, 4)]),
            ),
        ]:
            case(
                f"layer.Dropout(rate={rate})",
                f"train-{kind}",
                lambda t, np, r=rate, mk=make: (
                    lambda m, Xin: (lambda Y, bp: (Y, bp(copy.deepcopy(Y))))(*m.begin_update(Xin))
                )(t.Dropout(r).initialize(), mk(t, np)),
            )
            case(
                f"layer.Dropout(rate={rate})",
                f"predict-{kind}",
                lambda t, np, r=rate, mk=make: t.Dropout(r).initialize().predict(mk(t, np)),
            )
    case(
        "layer.Dropout(rate=0.0)",
        "train-3d",
        lambda t, np: t.Dropout(0.0).begin_update(floats(np, 2, 3, 2))[0],
    )
    case(
        "layer.Dropout(rate=1.0)",
        "train-empty",
        lambda t, np: t.Dropout(1.0).begin_update(floats(np, 0, 2))[0],
    )
    case(
        "layer.Dropout(rate=0.0)",
        "train-tuple",
        lambda t, np: t.Dropout(0.0).begin_update((floats(np, 2, 2),))[0],
    )
    case(
        "layer.Dropout(rate=0.0)",
        "train-int",
        lambda t, np: t.Dropout(0.0).begin_update(np.ones((2, 2), "i"))[0],
    )
    case(
        "layer.Dropout(rate=1.0)",
        "set-attr-then-train",
        lambda t, np: (
            lambda m: (
                m.attrs.__setitem__("dropout_rate", 1.0),
                m.begin_update(floats(np, 2, 2))[0],
            )[1]
        )(t.Dropout(0.0)),
    )
    case(
        "layer.Dropout(rate=0.5)",
        "is_enabled-false",
        lambda t, np: (
            lambda m: (
                m.attrs.__setitem__("is_enabled", False),
                m.begin_update(floats(np, 2, 2))[0],
            )[1]
        )(t.Dropout(0.5)),
    )
    case("layer.Dropout(rate=0.5)", "attrs", lambda t, np: t.Dropout(0.5).attrs)
    case(
        "layer.Dropout(rate=-1)",
        "train",
        lambda t, np: t.Dropout(-1.0).begin_update(floats(np, 2, 2))[0],
    )
    case(
        "layer.Dropout(rate=2)",
        "train",
        lambda t, np: t.Dropout(2.0).begin_update(floats(np, 2, 2))[0],
    )


def _combinators(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    X = lambda np, rows=3: floats(np, rows, 4)  # noqa: E731
    calls = {
        "chain-zero": lambda t, np: t.chain(),
        "chain-zero-predict": lambda t, np: t.chain().predict(1),
        "chain-one-fb": lambda t, np: _fbg(t.chain(t.Linear(2, 4)), X(np)),
        "chain-three-fb": lambda t, np: _fbg(
            t.chain(t.Linear(3, 4), t.Relu(3), t.Linear(2)), X(np)
        ),
        "chain-infer-dims": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.chain(t.Linear(3), t.Relu(), t.Linear(2))
            .initialize(X=X(np), Y=floats(np, 3, 2))
            .walk()
        ],
        "chain-dims": lambda t, np: (
            lambda m: (m.dim_names, m.maybe_get_dim("nO"), m.maybe_get_dim("nI"))
        )(t.chain(t.Linear(3, 4), t.Linear(2, 3))),
        "chain-name-nested": lambda t, np: t.chain(t.chain(t.Linear(), t.Relu()), t.Mish()).name,
        "chain-non-model": lambda t, np: t.chain(t.Linear(), 3),
        "add-zero": lambda t, np: t.add(),
        "add-zero-predict": lambda t, np: t.add().initialize().predict(X(np)),
        "add-one-fb": lambda t, np: _fbg(t.add(t.Linear(2, 4)), X(np)),
        "add-three-fb": lambda t, np: _fbg(
            t.add(t.Linear(2, 4), t.Relu(2, 4), t.Linear(2, 4)), X(np)
        ),
        "add-infer-dims": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.add(t.Linear(), t.Relu()).initialize(X=X(np), Y=floats(np, 3, 2)).walk()
        ],
        "add-mismatched-widths": lambda t, np: forward_backward(
            t.add(t.Linear(2, 4), t.Linear(3, 4)), X(np)
        ),
        "add-nested-name": lambda t, np: t.add(t.add(t.Linear(), t.Relu()), t.Mish()).name,
        "concatenate-zero-predict": lambda t, np: t.concatenate().initialize().predict(X(np)),
        "concatenate-one-fb": lambda t, np: _fbg(t.concatenate(t.Linear(2, 4)), X(np)),
        "concatenate-three-fb": lambda t, np: _fbg(
            t.concatenate(t.Linear(2, 4), t.Relu(1, 4), t.Linear(3, 4)), X(np)
        ),
        "concatenate-dims": lambda t, np: (
            lambda m: (m.maybe_get_dim("nO"), m.maybe_get_dim("nI"))
        )(t.concatenate(t.Linear(2, 4), t.Linear(3, 4)).initialize()),
        "concatenate-infer-nI": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.concatenate(t.Linear(2), t.Linear(3)).initialize(X=X(np)).walk()
        ],
        "concatenate-ragged": lambda t, np: forward_backward(
            t.concatenate(t.noop(), t.noop()), t.Ragged(X(np), np.asarray([1, 2], "i"))
        ),
        "concatenate-list": lambda t, np: forward_backward(
            t.concatenate(t.noop(), t.noop()), [floats(np, 2, 3), floats(np, 1, 3)]
        ),
        "concatenate-list-of-linear": lambda t, np: forward_backward(
            t.concatenate(t.with_array(t.Linear(2, 3)), t.with_array(t.Linear(1, 3))),
            [floats(np, 2, 3), floats(np, 1, 3)],
        ),
        "concatenate-list-empty": lambda t, np: forward_backward(
            t.concatenate(t.noop(), t.noop()), []
        ),
        "concatenate-padded": lambda t, np: forward_backward(
            t.concatenate(t.noop(), t.noop()),
            t.NumpyOps().list2padded([floats(np, 2, 3), floats(np, 1, 3)]),
        ),
        "concatenate-3d": lambda t, np: forward_backward(
            t.concatenate(t.noop(), t.noop()), floats(np, 2, 3, 2)
        ),
        "concatenate-nested-name": lambda t, np: (
            t.concatenate(t.concatenate(t.Linear(), t.Relu()), t.Mish()).name
        ),
        "clone-two-fb": lambda t, np: _fbg(t.clone(t.Linear(4, 4), 2), X(np)),
        "clone-two-copies": lambda t, np: (
            lambda m: (m.layers[0] is m.layers[1], [n.name for n in m.walk()])
        )(t.clone(t.Linear(4, 4), 2)),
        "clone-zero-predict": lambda t, np: t.clone(t.Linear(4, 4), 0).initialize().predict(X(np)),
        "clone-negative": lambda t, np: t.clone(t.Linear(4, 4), -1).name,
        "clone-one-same-node": lambda t, np: (lambda orig: t.clone(orig, 1) is orig)(
            t.Linear(4, 4)
        ),
        "noop-zero": lambda t, np: forward_backward(t.noop(), X(np)),
        "noop-layers": lambda t, np: [n.name for n in t.noop(t.Linear(), t.Relu()).walk()],
        "noop-layers-predict": lambda t, np: t.noop(t.Linear(2, 3)).predict(X(np)),
        "noop-any-input": lambda t, np: t.noop().predict({"a": 1}),
        "residual-fb": lambda t, np: _fbg(t.residual(t.Linear(4, 4)), X(np)),
        "residual-list": lambda t, np: forward_backward(
            t.residual(t.with_array(t.Linear(3, 3))), [floats(np, 2, 3), floats(np, 1, 3)]
        ),
        "residual-ragged": lambda t, np: forward_backward(
            t.residual(t.with_array(t.Linear(4, 4))), t.Ragged(X(np), np.asarray([1, 2], "i"))
        ),
        "residual-padded": lambda t, np: forward_backward(
            t.residual(t.with_array(t.Linear(3, 3))),
            t.NumpyOps().list2padded([floats(np, 2, 3), floats(np, 1, 3)]),
        ),
        "residual-width-change": lambda t, np: forward_backward(t.residual(t.Linear(2, 4)), X(np)),
        "residual-dims": lambda t, np: (
            lambda m: (m.dim_names, m.maybe_get_dim("nO"), m.maybe_get_dim("nI"))
        )(t.residual(t.Linear(4, 4)).initialize()),
        "residual-infer": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.residual(t.Linear()).initialize(X=X(np), Y=X(np)).walk()
        ],
        "siamese-fb": lambda t, np: _fbg(
            t.siamese(t.Linear(3, 4), t.CauchySimilarity(3)), (X(np), floats(np, 3, 4, seed=2))
        ),
        "siamese-name": lambda t, np: t.siamese(t.Linear(), t.CauchySimilarity()).name,
        "siamese-mismatched-rows": lambda t, np: forward_backward(
            t.siamese(t.Linear(3, 4), t.CauchySimilarity(3)),
            (X(np), floats(np, 2, 4, seed=2)),
            (X(np), X(np)),
        ),
        "tuplify-zero": lambda t, np: t.tuplify(),
        "tuplify-one": lambda t, np: t.tuplify(t.noop()),
        "tuplify-three-fb": lambda t, np: _fbg(
            t.tuplify(t.Linear(2, 4), t.Relu(3, 4), t.noop()), X(np)
        ),
        "tuplify-infer": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.tuplify(t.Linear(2), t.Linear(3)).initialize(X=X(np)).walk()
        ],
        "array_getitem-int": lambda t, np: forward_backward(t.array_getitem(1), X(np)),
        "array_getitem-negative": lambda t, np: forward_backward(t.array_getitem(-1), X(np)),
        "array_getitem-tuple": lambda t, np: forward_backward(
            t.array_getitem((slice(0, 2), 1)), X(np)
        ),
        "array_getitem-columns": lambda t, np: forward_backward(
            t.array_getitem((slice(None), slice(1, 3))), X(np)
        ),
        "array_getitem-fancy": lambda t, np: forward_backward(
            t.array_getitem(np.asarray([0, 0, 2])), X(np)
        ),
        "array_getitem-ints": lambda t, np: t.array_getitem(0).predict(
            np.arange(6, dtype="i").reshape(3, 2)
        ),
        "array_getitem-out-of-range": lambda t, np: t.array_getitem(10).predict(X(np)),
        "array_getitem-1d": lambda t, np: forward_backward(
            t.array_getitem(slice(1, None)), floats(np, 5)
        ),
        "with_getitem-fb": lambda t, np: _fbg(
            t.with_getitem(1, t.Linear(2, 4)), (X(np), X(np, 2), "x")
        ),
        "with_getitem-negative": lambda t, np: forward_backward(
            t.with_getitem(-1, t.Linear(2, 4)), (1, X(np))
        ),
        "with_getitem-out-of-range": lambda t, np: forward_backward(
            t.with_getitem(5, t.Linear(2, 4)), (X(np),), (X(np),)
        ),
        "with_getitem-name": lambda t, np: t.with_getitem(0, t.Linear()).name,
        "map_list-fb": lambda t, np: _fbg(t.map_list(t.Linear(2, 4)), [X(np), X(np, 1), X(np, 0)]),
        "map_list-name": lambda t, np: t.map_list(t.Linear()).name,
        "map_list-infer": lambda t, np: (
            lambda m: (m.layers[0].get_dim("nI"), m.layers[0].get_dim("nO"))
        )(t.map_list(t.Linear()).initialize(X=[X(np)], Y=[floats(np, 3, 2)])),
        "map_list-tuple": lambda t, np: forward_backward(
            t.map_list(t.Linear(2, 4)), (X(np), X(np, 1)), [X(np)]
        ),
        "resizable-name": lambda t, np: [
            n.name for n in t.resizable(t.Softmax(), _resize_fn(t)).walk()
        ],
        "resizable-fb": lambda t, np: _fbg(t.resizable(t.Linear(3, 4), _resize_fn(t)), X(np)),
        "resizable-resize-grow": lambda t, np: _resize(t, np, floats, 5),
        "resizable-resize-same": lambda t, np: _resize(t, np, floats, 3),
        "resizable-resize-shrink": lambda t, np: _resize(t, np, floats, 2),
        "resizable-resize-uninitialized": lambda t, np: (
            lambda m: (
                m.attrs["resize_output"](m, 6),
                [(n.name, n.maybe_get_dim("nO"), n.has_param("W")) for n in m.walk()],
            )[1]
        )(t.resizable(t.Softmax(3, 4), _resize_fn(t))),
        "resizable-resize-no-nO": lambda t, np: (
            lambda m: (
                m.attrs["resize_output"](m, 6),
                [(n.name, n.maybe_get_dim("nO"), n.has_param("W")) for n in m.walk()],
            )[1]
        )(t.resizable(t.Softmax(), _resize_fn(t))),
        "resizable-resize-fill": lambda t, np: _resize(t, np, floats, 5, fill=True),
        "resizable-resize-Softmax-predict": lambda t, np: (
            lambda m: (m.attrs["resize_output"](m, 5), m.predict(X(np)))[1]
        )(fill_params(t.resizable(t.Softmax(3, 4), _resize_fn(t)).initialize())),
        "with_signpost_interval": lambda t, np: _signpost(t, np, floats),
        "with_nvtx_range-fb": lambda t, np: _fbg(t.with_nvtx_range(t.Linear(2, 4)), X(np)),
        "with_nvtx_range-name": lambda t, np: (lambda m: (m.name, [n.name for n in m.walk()]))(
            t.with_nvtx_range(t.Linear(2, 4), "custom")
        ),
        "with_nvtx_range-same-node": lambda t, np: (
            lambda inner: t.with_nvtx_range(inner) is inner
        )(t.Linear(2, 4)),
        "with_debug-callbacks": lambda t, np: _debug(t, np, floats),
        "with_debug-name": lambda t, np: t.with_debug(t.Linear(), name="dbg").name,
        "with_cpu-fb": lambda t, np: _fbg(t.with_cpu(t.Linear(2, 4), t.NumpyOps()), X(np)),
        "with_cpu-name": lambda t, np: t.with_cpu(t.Linear(), t.NumpyOps()).name,
        "with_reshape-fb": lambda t, np: _fbg(t.with_reshape(t.Linear(2, 4)), floats(np, 2, 3, 4)),
        "with_reshape-2d": lambda t, np: forward_backward(
            t.with_reshape(t.Linear(2, 4)), X(np), floats(np, 2, 3, 4)
        ),
        "with_reshape-infer": lambda t, np: (
            lambda m: (m.layers[0].get_dim("nI"), m.layers[0].get_dim("nO"))
        )(t.with_reshape(t.Linear()).initialize(X=floats(np, 2, 3, 4), Y=floats(np, 2, 3, 5))),
        "CauchySimilarity-fb": lambda t, np: _fbg(
            t.CauchySimilarity(4), (X(np), floats(np, 3, 4, seed=3))
        ),
        "CauchySimilarity-identical": lambda t, np: forward_backward(
            t.CauchySimilarity(4), (X(np), X(np))
        ),
        "CauchySimilarity-infer": lambda t, np: (
            t.CauchySimilarity().initialize(X=(X(np), X(np))).get_dim("nI")
        ),
        "Logistic-extreme": lambda t, np: forward_backward(
            t.Logistic(), np.asarray([[-100.0, 0.0, 100.0]], "f")
        ),
        "sigmoid_activation-extreme": lambda t, np: forward_backward(
            t.sigmoid_activation(), np.asarray([[-100.0, 0.0, 100.0]], "f")
        ),
        "softmax_activation-extreme": lambda t, np: forward_backward(
            t.softmax_activation(), np.asarray([[-100.0, 0.0, 100.0]], "f")
        ),
    }
    for edge, call in calls.items():
        case("layer.combinator", edge, call)


def _resize_fn(t: Any) -> Any:
    import importlib

    return importlib.import_module(
        t.__name__.rsplit(".", 1)[0] + ".layers.resizable"
    ).resize_linear_weighted


def _resize(t: Any, np: Any, floats: Callable[..., Any], new_nO: int, fill: bool = False) -> Any:
    import functools

    fn = _resize_fn(t)
    if fill:
        fn = functools.partial(fn, fill_defaults={"b": -1.0})
    model = fill_params(t.resizable(t.Linear(3, 4), fn).initialize())
    old_W = model.layers[0].get_param("W").copy()
    model.attrs["resize_output"](model, new_nO)
    inner = model.layers[0]
    Y = model.predict(floats(np, 2, 4))
    return old_W, inner.get_param("W"), inner.get_param("b"), inner.get_dim("nO"), Y, inner.name


def _signpost(t: Any, np: Any, floats: Callable[..., Any]) -> Any:
    import contextlib

    events: List[Any] = []

    class Signposter:
        def use_interval(self, name: str) -> Any:
            events.append(name)
            return contextlib.nullcontext()

    model = t.with_signpost_interval(t.Linear(2, 4), Signposter())
    model2 = t.with_signpost_interval(t.Linear(2, 4), Signposter(), name="named")
    result = forward_backward(model, floats(np, 3, 4)), forward_backward(model2, floats(np, 3, 4))
    return model.name, model2.name, events, result


def _debug(t: Any, np: Any, floats: Callable[..., Any]) -> Any:
    events: List[Any] = []
    model = t.with_debug(
        t.Linear(2, 4),
        on_init=lambda m, X, Y: events.append(("init", m.name)),
        on_forward=lambda m, X, is_train: events.append(("forward", m.name, is_train)),
        on_backprop=lambda dY: events.append(("backprop", dY.shape)),
    )
    result = forward_backward(model, floats(np, 3, 4))
    return model.name, events, result


def _seq_inputs(t: Any, np: Any, floats: Callable[..., Any], kind: str, empty: bool = False) -> Any:
    """A batch of two sequences (lengths 2 and 1, or 0 and 2) as each sequence type."""
    lengths = [0, 2] if empty else [2, 1]
    seqs = [floats(np, n, 3, seed=i) for i, n in enumerate(lengths)]
    ops = t.NumpyOps()
    if kind == "list":
        return seqs
    if kind == "ragged":
        return t.Ragged(ops.flatten(seqs), np.asarray(lengths, "i"))
    if kind == "ragged-tuple":
        return (ops.flatten(seqs), np.asarray(lengths, "i"))
    if kind == "padded":
        return ops.list2padded(seqs)
    if kind == "padded-tuple":
        padded = ops.list2padded(seqs)
        return (padded.data, padded.size_at_t, padded.lengths, padded.indices)
    if kind == "array3d":
        return floats(np, 2, 2, 3)
    if kind == "array2d":
        return floats(np, 3, 3)
    raise ValueError(kind)


SEQ_KINDS = ["list", "ragged", "ragged-tuple", "padded", "padded-tuple", "array3d", "array2d"]


def _sequences(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    wrappers = {
        "with_padded(noop)": lambda t: t.with_padded(t.noop()),
        "with_list(noop)": lambda t: t.with_list(t.noop()),
        "with_ragged(noop)": lambda t: t.with_ragged(t.noop()),
        "with_array(Linear)": lambda t: t.with_array(t.Linear(2, 3)),
        "with_array2d(Linear)": lambda t: t.with_array2d(t.Linear(2, 3)),
        "with_array(Linear,pad=1)": lambda t: t.with_array(t.Linear(2, 3), pad=1),
        "with_padded(LSTM)": lambda t: t.with_padded(t.LSTM(2, 3)),
        "with_list(map_list(Linear))": lambda t: t.with_list(t.map_list(t.Linear(2, 3))),
        "with_ragged(with_array(Linear))": lambda t: t.with_ragged(t.with_array(t.Linear(2, 3))),
        "with_flatten_v2(Linear)": lambda t: t.with_flatten_v2(t.Linear(2, 3)),
    }
    for wname, make in wrappers.items():
        for kind in SEQ_KINDS:
            for empty in [False, True]:
                if empty and kind.startswith("array"):
                    continue
                edge = kind + (",with-empty-seq" if empty else "")
                if "LSTM" in wname:
                    # 8.3.14's LSTM input gradient is wrong: compare outputs only.
                    call = lambda t, np, mk=make, k=kind, e=empty: (
                        lambda m: m.predict(_seq_inputs(t, np, floats, k, e))
                    )(fill_params(mk(t).initialize()))
                else:
                    call = lambda t, np, mk=make, k=kind, e=empty: _fbg(
                        mk(t), _seq_inputs(t, np, floats, k, e), _seq_inputs(t, np, floats, "list")
                    )
                case(f"layer.seq.{wname}", edge, call)
    for wname, make in wrappers.items():
        case(
            f"layer.seq.{wname}",
            "init-from-each-kind",
            lambda t, np, mk=make: [
                (lambda m: (m.layers[0].maybe_get_dim("nI"), m.layers[0].maybe_get_dim("nO")))(
                    mk(t).initialize(X=_seq_inputs(t, np, floats, k))
                )
                if "noop" not in mk(t).name
                else None
                for k in ["list", "ragged", "padded"]
            ],
        )
        case(
            f"layer.seq.{wname}", "name-dims", lambda t, np, mk=make: (mk(t).name, mk(t).dim_names)
        )
    ragged = lambda t, np, lengths, w=3: t.Ragged(  # noqa: E731
        floats(np, sum(lengths), w), np.asarray(lengths, "i")
    )
    for name in ["reduce_sum", "reduce_mean", "reduce_max", "reduce_first", "reduce_last"]:
        for edge, lengths in [
            ("zero-length-first", [0, 2]),
            ("zero-length-last", [2, 0]),
            ("all-zero-length", [0, 0]),
            ("one-long", [5]),
            ("ones", [1, 1, 1]),
        ]:
            case(
                f"layer.{name}",
                edge,
                lambda t, np, n=name, ls=lengths: forward_backward(
                    getattr(t, n)(), ragged(t, np, ls)
                ),
            )
        case(
            f"layer.{name}",
            "zero-width",
            lambda t, np, n=name: forward_backward(getattr(t, n)(), ragged(t, np, [1, 2], 0)),
        )
        case(
            f"layer.{name}",
            "ties",
            lambda t, np, n=name: forward_backward(
                getattr(t, n)(), t.Ragged(np.ones((3, 2), "f"), np.asarray([3], "i"))
            ),
        )
        case(
            f"layer.{name}",
            "list-input",
            lambda t, np, n=name: getattr(t, n)().predict([floats(np, 2, 3)]),
        )
        case(
            f"layer.{name}",
            "dims",
            lambda t, np, n=name: getattr(t, n)().initialize(X=ragged(t, np, [2])).dim_names,
        )
    for window in [0, 1, 2, 3]:
        case(
            "layer.expand_window",
            f"window={window},array",
            lambda t, np, w=window: forward_backward(t.expand_window(w), floats(np, 4, 2)),
        )
        case(
            "layer.expand_window",
            f"window={window},ragged",
            lambda t, np, w=window: forward_backward(
                t.expand_window(w), ragged(t, np, [3, 0, 1], 2)
            ),
        )
        case(
            "layer.expand_window",
            f"window={window},ragged-empty",
            lambda t, np, w=window: forward_backward(t.expand_window(w), ragged(t, np, [], 2)),
        )
    case(
        "layer.expand_window",
        "window=-1",
        lambda t, np: forward_backward(t.expand_window(-1), floats(np, 4, 2)),
    )
    case(
        "layer.expand_window",
        "window=1,1-row",
        lambda t, np: forward_backward(t.expand_window(1), floats(np, 1, 2)),
    )
    case(
        "layer.expand_window",
        "window=1,list",
        lambda t, np: forward_backward(t.expand_window(1), [floats(np, 2, 2)]),
    )
    case("layer.expand_window", "attrs", lambda t, np: t.expand_window(2).attrs)
    # list2* / *2list round trips and backprops
    for kind in ["list", "empty-list", "with-empty-seq"]:
        make = (
            (lambda t, np: [floats(np, 2, 3), floats(np, 1, 3, seed=1)])
            if kind == "list"
            else (lambda t, np: [])
            if kind == "empty-list"
            else (lambda t, np: [floats(np, 0, 3), floats(np, 2, 3, seed=1)])
        )
        case(
            "layer.seq.list2padded>>padded2list",
            kind,
            lambda t, np, mk=make: forward_backward(
                t.chain(t.list2padded(), t.padded2list()), mk(t, np), [floats(np, 2, 3)]
            ),
        )
        case(
            "layer.seq.list2ragged>>ragged2list",
            kind,
            lambda t, np, mk=make: forward_backward(
                t.chain(t.list2ragged(), t.ragged2list()), mk(t, np), [floats(np, 2, 3)]
            ),
        )
    case(
        "layer.seq.list2array",
        "mixed-widths",
        lambda t, np: t.list2array().predict([floats(np, 2, 3), floats(np, 1, 2)]),
    )
    case(
        "layer.seq.list2array",
        "1d-items",
        lambda t, np: forward_backward(
            t.list2array(), [floats(np, 2), floats(np, 3)], [floats(np, 2)]
        ),
    )
    case(
        "layer.seq.ragged2list",
        "lengths-sum-mismatch",
        lambda t, np: t.ragged2list().predict(t.Ragged(floats(np, 3, 2), np.asarray([1, 1], "i"))),
    )
    case(
        "layer.seq.padded2list",
        "backprop",
        lambda t, np: forward_backward(
            t.padded2list(),
            t.NumpyOps().list2padded([floats(np, 3, 2), floats(np, 1, 2, seed=1)]),
        ),
    )
    # bidirectional
    case(
        "layer.seq.bidirectional",
        "noop-fb",
        lambda t, np: forward_backward(
            t.bidirectional(t.noop()),
            t.NumpyOps().list2padded([floats(np, 3, 2), floats(np, 1, 2, seed=1)]),
        ),
    )
    case(
        "layer.seq.bidirectional",
        "two-layers-fb",
        lambda t, np: forward_backward(
            t.bidirectional(t.with_array(t.Linear(2, 2)), t.with_array(t.Relu(3, 2))),
            t.NumpyOps().list2padded([floats(np, 3, 2), floats(np, 1, 2, seed=1)]),
        ),
    )
    case(
        "layer.seq.bidirectional",
        "LSTM-predict",
        lambda t, np: fill_params(t.bidirectional(t.LSTM(2, 2)).initialize()).predict(
            t.NumpyOps().list2padded([floats(np, 3, 2), floats(np, 1, 2, seed=1)])
        ),
    )
    case(
        "layer.seq.bidirectional",
        "names-dims",
        lambda t, np: (lambda m: (m.name, [n.name for n in m.walk()], m.dim_names))(
            t.bidirectional(t.LSTM(2, 2))
        ),
    )
    case(
        "layer.seq.bidirectional",
        "init",
        lambda t, np: (
            lambda m: [(n.name, n.maybe_get_dim("nO"), n.maybe_get_dim("nI")) for n in m.walk()]
        )(
            t.bidirectional(t.LSTM()).initialize(
                X=t.NumpyOps().list2padded([floats(np, 3, 2)]),
                Y=t.NumpyOps().list2padded([floats(np, 3, 4)]),
            )
        ),
    )
    case(
        "layer.seq.bidirectional",
        "list-input",
        lambda t, np: t.bidirectional(t.noop()).predict([floats(np, 3, 2)]),
    )
    # LSTM options (outputs only: 8.3.14's input gradient is wrong)
    for edge, kwargs in [
        ("depth=2", {"depth": 2}),
        ("bi", {"bi": True}),
        ("bi-depth=2", {"bi": True, "depth": 2}),
        ("dropout-predict", {"dropout": 0.5}),
    ]:
        case(
            "layer.seq.LSTM(options)",
            edge,
            lambda t, np, kw=kwargs: (
                lambda m: (
                    [n.name for n in m.walk()],
                    m.predict(
                        t.NumpyOps().list2padded([floats(np, 3, 2), floats(np, 1, 2, seed=1)])
                    ),
                )
            )(fill_params(t.LSTM(4, 2, **kw).initialize())),
        )
    case("layer.seq.LSTM(options)", "bi-odd-nO", lambda t, np: t.LSTM(3, 2, bi=True).initialize())
    case(
        "layer.seq.LSTM(options)",
        "infer",
        lambda t, np: [
            (n.name, n.maybe_get_dim("nO"), n.maybe_get_dim("nI"))
            for n in t.LSTM()
            .initialize(
                X=t.NumpyOps().list2padded([floats(np, 3, 2)]),
                Y=t.NumpyOps().list2padded([floats(np, 3, 4)]),
            )
            .walk()
        ],
    )
    # ParametricAttention(_v2)
    case(
        "layer.seq.ParametricAttention_v2",
        "key_transform",
        lambda t, np: _fbg(
            t.ParametricAttention_v2(key_transform=t.Linear(3, 3), nO=3),
            ragged(t, np, [2, 1]),
        ),
    )
    case(
        "layer.seq.ParametricAttention_v2",
        "key_transform-gelu",
        lambda t, np: _fbg(
            t.ParametricAttention_v2(key_transform=t.Gelu(3, 3), nO=3),
            ragged(t, np, [3, 1, 2]),
        ),
    )
    case(
        "layer.seq.ParametricAttention_v2",
        "infer-nO",
        lambda t, np: (
            lambda m: (m.get_dim("nO"), [(n.name, n.maybe_get_dim("nO")) for n in m.walk()])
        )(t.ParametricAttention_v2(key_transform=t.Linear()).initialize(X=ragged(t, np, [2, 1]))),
    )
    case(
        "layer.seq.ParametricAttention_v2",
        "refs",
        lambda t, np: (lambda m: (m.ref_names, m.get_ref("key_transform").name))(
            t.ParametricAttention_v2(nO=3)
        ),
    )
    case(
        "layer.seq.ParametricAttention",
        "param-grads",
        lambda t, np: _fbg(t.ParametricAttention(3), ragged(t, np, [3, 1, 2])),
    )
    case(
        "layer.seq.ParametricAttention",
        "infer-nO",
        lambda t, np: t.ParametricAttention().initialize(X=ragged(t, np, [2, 1])).get_dim("nO"),
    )
    # strings2arrays
    for edge, value in [
        ("unicode", [["ü", "日本", ""]]),
        ("empty-strings", [["", ""]]),
        ("empty-seq", [[]]),
        ("tuple-of-lists", (["a"], ["b", "c"])),
    ]:
        case("layer.seq.strings2arrays", edge, lambda t, np, v=value: t.strings2arrays().predict(v))
    case(
        "layer.seq.strings2arrays",
        "backprop",
        lambda t, np: (lambda Y, bp: bp(Y))(*t.strings2arrays().begin_update([["a", "b"]])),
    )


def _embeddings(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    ids = {
        "repeated": lambda np: np.asarray([1, 1, 2, 1], "uint64"),
        "int32": lambda np: np.asarray([1, 2], "int32"),
        "int64-negative": lambda np: np.asarray([-1, 2], "int64"),
        "float": lambda np: np.asarray([1.0, 2.0], "f"),
        "list": lambda np: [1, 2],
        "2d-col1": lambda np: np.asarray([[9, 1], [9, 2], [9, 1]], "uint64"),
        "2d-3cols": lambda np: np.asarray([[0, 1, 2], [3, 4, 5]], "uint64"),
        "big": lambda np: np.asarray([2**63 + 5, 2**40], "uint64"),
        "last-row": lambda np: np.asarray([9], "uint64"),
    }
    for edge, make in ids.items():
        case(
            "layer.Embed",
            edge,
            lambda t, np, mk=make: _fbg(t.Embed(3, 10), mk(np), np.asarray([1], "uint64")),
        )
        case(
            "layer.Embed(column=1)",
            edge,
            lambda t, np, mk=make: _fbg(
                t.Embed(3, 10, column=1), mk(np), np.asarray([[0, 1]], "uint64")
            ),
        )
        case(
            "layer.HashEmbed",
            edge,
            lambda t, np, mk=make: _fbg(
                t.HashEmbed(3, 10, seed=5), mk(np), np.asarray([1], "uint64")
            ),
        )
        case(
            "layer.HashEmbed(column=1)",
            edge,
            lambda t, np, mk=make: _fbg(
                t.HashEmbed(3, 10, seed=5, column=1), mk(np), np.asarray([[0, 1]], "uint64")
            ),
        )
        case(
            "layer.uniqued(HashEmbed)",
            edge,
            lambda t, np, mk=make: _fbg(
                t.uniqued(t.HashEmbed(3, 10, seed=5, column=1), column=1),
                mk(np),
                np.asarray([[0, 1]], "uint64"),
            ),
        )
    for seed in [None, 0, 7, 2**33]:
        case(
            "layer.HashEmbed(seed)",
            f"seed={seed}",
            lambda t, np, s=seed: (
                lambda m: (
                    m.attrs["seed"] if s is not None else m.attrs["seed"] == m.id,
                    m.predict(np.asarray([1, 5, 2**40], "uint64")) if s is not None else None,
                )
            )(fill_params(t.HashEmbed(3, 16, seed=s).initialize())),
        )
    case(
        "layer.HashEmbed(seed)",
        "default-seeds-differ",
        lambda t, np: t.HashEmbed(3, 16).attrs["seed"] != t.HashEmbed(3, 16).attrs["seed"],
    )
    case(
        "layer.HashEmbed(seed)",
        "attrs-keys",
        lambda t, np: sorted(t.HashEmbed(3, 16, seed=1).attrs),
    )
    case(
        "layer.HashEmbed(seed)",
        "nV=1",
        lambda t, np: _fbg(t.HashEmbed(3, 1, seed=1), np.asarray([1, 5], "uint64")),
    )
    case(
        "layer.HashEmbed(seed)",
        "nV=0",
        lambda t, np: _fbg(t.HashEmbed(3, 0, seed=1), np.asarray([1, 5], "uint64")),
    )
    case(
        "layer.HashEmbed(seed)",
        "dropout-names",
        lambda t, np: [n.name for n in t.HashEmbed(3, 16, seed=1, dropout=0.2).walk()],
    )
    case(
        "layer.HashEmbed(seed)",
        "dropout-predict",
        lambda t, np: fill_params(t.HashEmbed(3, 16, seed=1, dropout=0.2).initialize()).predict(
            np.asarray([1, 5], "uint64")
        ),
    )
    case(
        "layer.Embed(options)",
        "dims",
        lambda t, np: (lambda m: {n: m.maybe_get_dim(n) for n in m.dim_names})(t.Embed(3, 10)),
    )
    case("layer.Embed(options)", "no-nV", lambda t, np: t.Embed(3).initialize())
    case(
        "layer.Embed(options)",
        "init-Y",
        lambda t, np: t.Embed(nV=5).initialize(Y=floats(np, 2, 4)).get_dim("nO"),
    )
    case(
        "layer.Embed(options)",
        "init-default-E",
        lambda t, np: float(abs(t.Embed(3, 10).initialize().get_param("E")).max()) > 0,
    )
    case(
        "layer.Embed(options)",
        "initializer-zero",
        lambda t, np: (
            t.Embed(3, 10, initializer=t.zero_init).initialize().predict(np.asarray([1], "uint64"))
        ),
    )
    case(
        "layer.Embed(options)",
        "dropout-names",
        lambda t, np: [n.name for n in t.Embed(3, 10, dropout=0.3).walk()],
    )
    case("layer.Embed(options)", "attrs", lambda t, np: t.Embed(3, 10, column=2).attrs)
    case(
        "layer.Embed(options)",
        "column-too-big",
        lambda t, np: forward_backward(
            t.Embed(3, 10, column=5), np.asarray([[1, 2]], "uint64"), np.asarray([[1, 2]], "uint64")
        ),
    )
    case(
        "layer.Embed(options)",
        "1d-with-column",
        lambda t, np: forward_backward(
            t.Embed(3, 10, column=1), np.asarray([1, 2], "uint64"), np.asarray([[1, 2]], "uint64")
        ),
    )
    # uniqued
    case(
        "layer.uniqued(Embed)",
        "column=0-repeated",
        lambda t, np: _fbg(
            t.uniqued(t.Embed(3, 10), column=0),
            np.asarray([[1, 0], [1, 5], [2, 0]], "uint64"),
            np.asarray([[1, 2]], "uint64"),
        ),
    )
    case(
        "layer.uniqued(Embed)",
        "1d",
        lambda t, np: _fbg(
            t.uniqued(t.Embed(3, 10)), np.asarray([1, 1, 2], "uint64"), np.asarray([1], "uint64")
        ),
    )
    case(
        "layer.uniqued(Embed)",
        "single-row",
        lambda t, np: _fbg(
            t.uniqued(t.Embed(3, 10)), np.asarray([[1]], "uint64"), np.asarray([[1]], "uint64")
        ),
    )
    case(
        "layer.uniqued(Embed)",
        "name-dims",
        lambda t, np: (lambda m: (m.name, m.dim_names, m.attrs))(
            t.uniqued(t.Embed(3, 10), column=0)
        ),
    )
    case(
        "layer.uniqued(Embed)",
        "init-infer",
        lambda t, np: (lambda m: (m.maybe_get_dim("nO"), m.layers[0].get_dim("nO")))(
            t.uniqued(t.Embed(nV=10)).initialize(
                X=np.asarray([[1, 2]], "uint64"), Y=floats(np, 1, 4)
            )
        ),
    )
    # premap_ids / remap_ids
    table = {1: 0, 3: 1, 2**40: 2}
    premaps = {
        "2d-column1": lambda t, np: t.premap_ids(table, default=7, column=1).predict(
            np.asarray([[9, 1], [9, 5]], "uint64")
        ),
        "2d-column0": lambda t, np: t.premap_ids(table, default=7, column=0).predict(
            np.asarray([[3, 1], [2**40, 5]], "uint64")
        ),
        "2d-column-too-big": lambda t, np: t.premap_ids(table, column=3).predict(
            np.asarray([[3, 1]], "uint64")
        ),
        "empty-table": lambda t, np: t.premap_ids({}, default=4).predict(
            np.asarray([[1], [2]], "uint64")
        ),
        "int32-ids": lambda t, np: t.premap_ids(table).predict(np.asarray([[1], [3]], "int32")),
        "list-ids": lambda t, np: t.premap_ids(table).predict([[1], [3]]),
        "backprop": lambda t, np: (lambda Y, bp: bp(Y))(
            *t.premap_ids(table).begin_update(np.asarray([[1], [3]], "uint64"))
        ),
        "negative-default": lambda t, np: t.premap_ids(table, default=-1).predict(
            np.asarray([[5]], "uint64")
        ),
        "attrs": lambda t, np: (lambda m: (m.name, sorted(m.attrs)))(t.premap_ids(table)),
    }
    for edge, call in premaps.items():
        case("layer.premap_ids", edge, call)
    remaps = {
        "strings": lambda t, np: t.remap_ids({"a": 1, "b": 2}, default=0).predict(["a", "zz", "b"]),
        "dtype-int64": lambda t, np: t.remap_ids({1: 5}, default=0, dtype="int64").predict([1, 2]),
        "nested-list": lambda t, np: t.remap_ids({1: 5}).predict([[1], [2]]),
        "array-input": lambda t, np: t.remap_ids({1: 5}).predict(np.asarray([1, 2], "uint64")),
        "backprop": lambda t, np: (lambda Y, bp: bp(Y))(*t.remap_ids({1: 5}).begin_update([1, 2])),
        "table-updated-later": lambda t, np: (
            lambda m: (m.attrs["mapping_table"].update({7: 3}), m.predict([7]))[1]
        )(t.remap_ids({})),
        "v2-column1": lambda t, np: t.remap_ids_v2({1: 5}, default=9, column=1).predict(
            np.asarray([[0, 1], [0, 2]], "uint64")
        ),
        "v2-list-input": lambda t, np: t.remap_ids_v2({1: 5}, default=9).predict([1, 2]),
        "v2-default-None": lambda t, np: t.remap_ids_v2({1: 5}, default=None).predict(
            np.asarray([1, 2], "uint64")
        ),
        "v2-empty-table": lambda t, np: t.remap_ids_v2({}, default=3).predict(
            np.asarray([1, 2], "uint64")
        ),
        "v2-backprop": lambda t, np: (lambda Y, bp: bp(Y))(
            *t.remap_ids_v2({1: 5}, default=9).begin_update(np.asarray([1, 2], "uint64"))
        ),
    }
    for edge, call in remaps.items():
        case("layer.remap_ids", edge, call)
    # SparseLinear outputs
    for name in ["SparseLinear", "SparseLinear_v2"]:
        case(
            f"layer.{name}",
            "fb",
            lambda t, np, n=name: (
                lambda m: (lambda Y, bp: (Y, bp(Y.copy()), m.get_grad("W"), m.get_grad("b")))(
                    *m.begin_update(
                        (
                            np.asarray([1, 5, 2**40, 7], "uint64"),
                            np.asarray([1.0, 0.5, -1.0, 2.0], "f"),
                            np.asarray([1, 3], "i"),
                        )
                    )
                )
            )(fill_params(getattr(t, n)(2, length=16).initialize())),
        )
        case(
            f"layer.{name}",
            "dims",
            lambda t, np, n=name: (lambda m: {d: m.maybe_get_dim(d) for d in m.dim_names})(
                getattr(t, n)(2, length=16)
            ),
        )
        case(
            f"layer.{name}",
            "lengths-mismatch",
            lambda t, np, n=name: (
                getattr(t, n)(2, length=16)
                .initialize()
                .predict(
                    (
                        np.asarray([1, 5], "uint64"),
                        np.asarray([1.0, 0.5], "f"),
                        np.asarray([1, 3], "i"),
                    )
                )
            ),
        )


def _model_api(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def lin(t: Any) -> Any:
        return t.Linear(2, 3).initialize()

    calls = {
        "has_dim-tri": lambda t, np: (
            _tri(t.Linear(), "dim", ["nO", "nI", "nZ"]),
            _tri(t.Linear(2), "dim", ["nO", "nI"]),
        ),
        "has_param-tri": lambda t, np: (
            _tri(t.Linear(2, 3), "param", ["W", "b", "Q"]),
            _tri(lin(t), "param", ["W", "b", "Q"]),
        ),
        "has_grad-tri": lambda t, np: (
            _tri(t.Linear(2, 3), "grad", ["W", "b", "Q"]),
            _tri(lin(t), "grad", ["W", "b", "Q"]),
        ),
        "has_grad-after-update": lambda t, np: (
            lambda m: (
                m.begin_update(floats(np, 2, 3))[1](floats(np, 2, 2)),
                _tri(m, "grad", ["W", "b"]),
            )[1]
        )(lin(t)),
        "grad_names": lambda t, np: (
            lambda m: (m.begin_update(floats(np, 2, 3))[1](floats(np, 2, 2)), m.grad_names)[1]
        )(lin(t)),
        "has_ref-tri": lambda t, np: (lambda m: (m.has_ref("a"), m.has_ref("b"), m.has_ref("c")))(
            t.Model("x", lambda m, X, is_train: (X, None), refs={"a": None, "b": t.Linear()})
        ),
        "refs-declared-outside-tree": lambda t, np: (
            t.Model("x", lambda m, X, is_train: (X, None), refs={"b": t.Linear()}).get_ref("b").name
        ),
        "get_ref-unset": lambda t, np: t.Model(
            "x", lambda m, X, is_train: (X, None), refs={"a": None}
        ).get_ref("a"),
        "set_ref-in-tree": lambda t, np: (
            lambda m: (m.set_ref("first", m.layers[0]), m.get_ref("first").name, m.ref_names)[1:]
        )(t.chain(t.Linear(2, 3), t.Relu(3, 2))),
        "set_ref-not-in-tree": lambda t, np: t.chain(t.Linear(2, 3)).set_ref("x", t.Relu()),
        "set_ref-None": lambda t, np: (
            lambda m: (m.set_ref("x", None), m.has_ref("x"), m.ref_names)[1:]
        )(t.chain(t.Linear(2, 3))),
        "set_dim-same-value": lambda t, np: (lambda m: (m.set_dim("nO", 3), m.get_dim("nO"))[1])(
            lin(t)
        ),
        "set_dim-force-initialized": lambda t, np: lin(t).set_dim("nO", 5, force=True),
        "set_dim-force-uninitialized": lambda t, np: (
            lambda m: (m.set_dim("nO", 5, force=True), m.get_dim("nO"))[1]
        )(t.Linear(2, 3)),
        "set_dim-None": lambda t, np: (lambda m: (m.set_dim("nO", None), m.has_dim("nO"))[1])(
            t.Linear()
        ),
        "set_dim-float": lambda t, np: t.Linear().set_dim("nO", 2.5),
        "set_dim-str": lambda t, np: t.Linear().set_dim("nO", "3"),
        "set_dim-numpy-int": lambda t, np: (
            lambda m: (m.set_dim("nO", np.int64(3)), int(m.get_dim("nO")))[1]
        )(t.Linear()),
        "get_dim-int-name": lambda t, np: t.Linear().get_dim(3),
        "maybe_get_dim": lambda t, np: (
            t.Linear(2).maybe_get_dim("nO"),
            t.Linear(2).maybe_get_dim("nI"),
            t.Linear(2).maybe_get_dim("nQ"),
        ),
        "maybe_get_param": lambda t, np: (
            t.Linear(2, 3).maybe_get_param("W"),
            t.Linear(2, 3).maybe_get_param("Q"),
            lin(t).maybe_get_param("b").shape,
        ),
        "maybe_get_grad": lambda t, np: (lin(t).maybe_get_grad("W"), lin(t).maybe_get_grad("Q")),
        "maybe_get_ref": lambda t, np: (
            t.Linear().maybe_get_ref("x"),
            t.Model("x", lambda m, X, is_train: (X, None), refs={"a": None}).maybe_get_ref("a"),
        ),
        "set_param-new-name": lambda t, np: (
            lambda m: (m.set_param("Q", np.ones((2,), "f")), m.param_names, m.get_param("Q"))[1:]
        )(t.Linear(2, 3)),
        "set_param-None": lambda t, np: (lambda m: (m.set_param("W", None), m.has_param("W"))[1])(
            lin(t)
        ),
        "set_param-wrong-shape-then-get": lambda t, np: (
            lambda m: (m.set_param("W", np.zeros((5, 5), "f")), m.get_param("W").shape)[1]
        )(lin(t)),
        "set_param-float64": lambda t, np: (
            lambda m: (m.set_param("b", np.zeros((2,), "f8")), m.get_param("b"))[1]
        )(lin(t)),
        "set_param-list": lambda t, np: (
            lambda m: (m.set_param("b", [1.0, 2.0]), m.get_param("b"))[1]
        )(lin(t)),
        "set_grad-get_grad": lambda t, np: (
            lambda m: (m.set_grad("b", np.ones((2,), "f")), m.get_grad("b"), m.grad_names)[1:]
        )(lin(t)),
        "inc_grad-twice": lambda t, np: (
            lambda m: (
                m.inc_grad("b", np.ones((2,), "f")),
                m.inc_grad("b", np.full((2,), 2.0, "f")),
                m.get_grad("b"),
            )[2]
        )(lin(t)),
        "inc_grad-copies": lambda t, np: (
            lambda m, g: (m.inc_grad("b", g), g.__setitem__(0, 9.0), m.get_grad("b"))[2]
        )(lin(t), np.ones((2,), "f")),
        "inc_grad-unknown-param": lambda t, np: (
            lambda m: (m.inc_grad("Q", np.ones((2,), "f")), m.get_grad("Q"), m.grad_names)[1:]
        )(lin(t)),
        "get_gradients": lambda t, np: (
            lambda m: (
                m.begin_update(floats(np, 2, 3))[1](floats(np, 2, 2)),
                sorted(name for _, name in m.get_gradients()),
            )[1]
        )(t.chain(t.Linear(2, 3), t.Relu(2, 2)).initialize()),
        "get_gradients-none": lambda t, np: lin(t).get_gradients(),
        "walk-bfs": lambda t, np: [
            n.name for n in t.chain(t.Linear(2, 3), t.residual(t.Relu(3, 3))).walk(order="bfs")
        ],
        "walk-dfs_pre": lambda t, np: [
            n.name
            for n in t.chain(
                t.concatenate(t.Linear(2, 3), t.Relu(2, 3)), t.residual(t.Relu(3, 3))
            ).walk(order="dfs_pre")
        ],
        "walk-dfs_post-deep": lambda t, np: [
            n.name
            for n in t.chain(
                t.concatenate(t.Linear(2, 3), t.Relu(2, 3)), t.residual(t.Relu(3, 3))
            ).walk(order="dfs_post")
        ],
        "walk-shared-node": lambda t, np: (
            lambda shared: [
                (n.name, n is shared) for n in t.chain(shared, t.chain(shared, t.Relu())).walk()
            ]
        )(t.Linear()),
        "walk-shared-dfs_post": lambda t, np: (
            lambda shared: [
                (n.name, n is shared)
                for n in t.chain(shared, t.chain(t.Relu(), shared)).walk(order="dfs_post")
            ]
        )(t.Linear()),
        "walk-None-order": lambda t, np: list(t.Linear().walk(order=None)),
        "replace_node-found": lambda t, np: (
            lambda m, new: (m.replace_node(m.layers[1], new), [n.name for n in m.walk()])
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3)), t.Mish()),
        "replace_node-root": lambda t, np: (
            lambda m: (m.replace_node(m, t.Mish()), [n.name for n in m.walk()])
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3))),
        "replace_node-shared": lambda t, np: (
            lambda shared: (
                lambda m: (m.replace_node(shared, t.Mish()), [n.name for n in m.walk()])
            )(t.chain(shared, t.chain(shared, t.Relu())))
        )(t.Linear()),
        "replace_node-ref": lambda t, np: (
            lambda m, new: (
                m.set_ref("r", m.layers[0]),
                m.replace_node(m.layers[0], new),
                m.get_ref("r").name,
            )[1:]
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3)), t.Mish()),
        "remove_node": lambda t, np: (
            lambda m: (
                m.set_ref("r", m.layers[0]),
                m.remove_node(m.layers[0]),
                [n.name for n in m.walk()],
                m.has_ref("r"),
            )[2:]
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3))),
        "copy-params-independent": lambda t, np: (
            lambda m: (
                lambda c: (
                    c.get_param("W").__setitem__((0, 0), 42.0),
                    float(m.get_param("W")[0, 0]) != 42.0,
                    c.name,
                    c.id != m.id,
                    c.get_dim("nI"),
                )[1:]
            )(m.copy())
        )(lin(t)),
        "copy-shared-stays-shared": lambda t, np: (
            lambda shared: (lambda c: c.layers[0] is c.layers[1].layers[0])(
                t.chain(shared, t.chain(shared, t.Relu())).copy()
            )
        )(t.Linear()),
        "copy-refs": lambda t, np: (
            lambda m: (
                m.set_ref("r", m.layers[1]),
                (lambda c: (c.get_ref("r") is c.layers[1], c.get_ref("r") is m.layers[1]))(
                    m.copy()
                ),
            )[1]
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3))),
        "copy-attrs-deep": lambda t, np: (
            lambda m: (lambda c: (c.attrs["x"].append(2), m.attrs["x"])[1])(m.copy())
        )(t.Model("x", lambda m, X, is_train: (X, None), attrs={"x": [1]})),
        "copy-grads": lambda t, np: (
            lambda m: (m.inc_grad("b", np.ones((2,), "f")), m.copy().get_grad("b"))[1]
        )(lin(t)),
        "copy-uninitialized": lambda t, np: (lambda c: (c.has_param("W"), c.get_dim("nO")))(
            t.Linear(2, 3).copy()
        ),
        "attrs": lambda t, np: t.Dropout(0.3).attrs,
        "attrs-mutable": lambda t, np: (lambda m: (m.attrs.__setitem__("k", 1), m.attrs)[1])(
            t.noop()
        ),
        "define_operators": lambda t, np: _operators(t, np, floats),
        "operator-undefined": lambda t, np: t.Linear() >> t.Relu(),
        "operator-outside-block": lambda t, np: (lambda a, b: (_enter_ops(t), a | b))(
            t.Linear(), t.Relu()
        ),
        "operator-nested": lambda t, np: _nested_operators(t),
        "operator-with-int": lambda t, np: _with_ops(
            t, {"**": t.clone}, lambda: t.Linear(2, 2) ** 3
        ),
        "operator-bad-symbol": lambda t, np: _with_ops(
            t, {"?": t.chain}, lambda: t.Linear() >> t.Relu()
        ),
        "initialize-X-Y-dims": lambda t, np: (lambda m: (m.get_dim("nI"), m.get_dim("nO")))(
            t.Linear().initialize(X=floats(np, 2, 5), Y=floats(np, 2, 7))
        ),
        "initialize-mismatched-Y": lambda t, np: t.Linear(2, 3).initialize(
            X=floats(np, 2, 3), Y=floats(np, 2, 5)
        ),
        "initialize-chain-X-Y": lambda t, np: [
            (n.name, n.maybe_get_dim("nI"), n.maybe_get_dim("nO"))
            for n in t.chain(t.Relu(4), t.Linear())
            .initialize(X=floats(np, 2, 5), Y=floats(np, 2, 7))
            .walk()
        ],
        "initialize-twice": lambda t, np: (lambda m: (m.initialize(), m.get_param("W").shape)[1])(
            lin(t)
        ),
        "initialize-1d-Y": lambda t, np: (
            t.Softmax().initialize(X=floats(np, 2, 3), Y=np.asarray([0, 1], "int32")).get_dim("nO")
        ),
        "initialize-list-X": lambda t, np: t.Linear().initialize(X=[floats(np, 2, 3)]),
        "dims-after-initialize-Maxout": lambda t, np: (
            lambda m: {n: m.get_dim(n) for n in m.dim_names}
        )(t.Maxout().initialize(X=floats(np, 2, 5), Y=floats(np, 2, 4))),
        "predict-vs-call": lambda t, np: (
            lambda m: (m.predict(floats(np, 2, 3)), m(floats(np, 2, 3), is_train=False)[0])
        )(fill_params(lin(t))),
        "finish_update-SGD": lambda t, np: (
            lambda m: (
                m.begin_update(floats(np, 2, 3))[1](floats(np, 2, 2)),
                m.finish_update(t.SGD(0.5)),
                m.get_param("W"),
                m.get_param("b"),
                m.has_grad("W"),
            )[2:]
        )(fill_params(lin(t))),
        "use_params": lambda t, np: (
            lambda m: (lambda key: _use_params(m, {key: np.ones((2, 3), "f")}, floats(np, 1, 3)))(
                (m.id, "W")
            )
        )(fill_params(lin(t))),
        "use_params-empty": lambda t, np: (lambda m: _use_params(m, {}, floats(np, 1, 3)))(
            fill_params(lin(t))
        ),
        "replace_callbacks": lambda t, np: (
            lambda m: (
                m.replace_callbacks(lambda mm, X, is_train: (X * 2, lambda d: d)),
                m.predict(np.ones((1, 2), "f")),
                m.init,
            )[1:]
        )(t.Linear(2, 3)),
        "name-and-id": lambda t, np: (lambda a, b: (a.name, b.id - a.id))(t.Linear(), t.Linear()),
        "ops-default": lambda t, np: type(t.Linear().ops).__name__,
        "dim_names-order": lambda t, np: [t.Linear().dim_names, t.LSTM().dim_names],
        "param_names-order": lambda t, np: [
            t.LayerNorm().param_names,
            t.HashEmbed(2, 3).param_names,
        ],
        "layers-is-list": lambda t, np: (
            lambda m: (m.layers.append(t.Relu()), [n.name for n in m.walk()])[1]
        )(t.chain(t.Linear())),
        "Model-no-forward-call": lambda t, np: t.Model("x", None).predict(1),
        "Model-dims-default": lambda t, np: t.Model("x", lambda m, X, i: (X, None)).dim_names,
        "Model-params-not-None": lambda t, np: (lambda m: (m.has_param("p"), m.get_param("p")))(
            t.Model("x", lambda m, X, i: (X, None), params={"p": np.ones(2, "f")})
        ),
        "Model-init-None": lambda t, np: (
            t.Model("x", lambda m, X, i: (X, None), init=None).initialize(X=1).name
        ),
        "Model-shims-empty": lambda t, np: t.Linear().shims,
    }
    for edge, call in calls.items():
        case("Model.api", edge, call)

    ser = {
        "to_dict-keys": lambda t, np: sorted(lin(t).to_dict().keys()),
        "to_dict-nodes": lambda t, np: t.chain(t.Linear(2, 3), t.Relu(3)).to_dict()["nodes"],
        "to_dict-params": lambda t, np: fill_params(
            t.chain(t.Linear(2, 3), t.Dropout(0.2)).initialize()
        ).to_dict()["params"],
        "to_dict-attrs": lambda t, np: t.chain(t.Linear(2, 3), t.Dropout(0.2)).to_dict()["attrs"],
        "to_dict-uninitialized-params": lambda t, np: t.Linear(2, 3).to_dict()["params"],
        "to_dict-refs": lambda t, np: (
            lambda m: (m.set_ref("r", m.layers[1]), m.to_dict()["nodes"])[1]
        )(t.chain(t.Linear(2, 3), t.Relu(3, 3))),
        "to_dict-ref-outside": lambda t, np: t.Model(
            "x", lambda m, X, i: (X, None), refs={"r": t.Linear()}
        ).to_dict(),
        "to_dict-unserializable-attr": lambda t, np: t.Model(
            "x", lambda m, X, i: (X, None), attrs={"f": lambda: 1, "ok": 2}
        ).to_dict()["attrs"],
        "from_dict-roundtrip": lambda t, np: (
            lambda src: (
                lambda dst: (dst.from_dict(src.to_dict()), dst.get_param("W"), dst.get_param("b"))[
                    1:
                ]
            )(t.Linear(2, 3).initialize())
        )(fill_params(lin(t))),
        "bytes-roundtrip": lambda t, np: (
            lambda src: (
                lambda dst: (
                    dst.from_bytes(src.to_bytes()),
                    dst.predict(floats(np, 2, 3)),
                    dst.get_dim("nO"),
                )[1:]
            )(t.chain(t.Linear(), t.Relu()))
        )(fill_params(t.chain(t.Linear(4, 3), t.Relu(2, 4)).initialize())),
        "bytes-roundtrip-uninitialized-target": lambda t, np: (
            lambda src: (lambda dst: (dst.from_bytes(src.to_bytes()), dst.has_param("W"))[1])(
                t.Linear()
            )
        )(lin(t)),
        "bytes-roundtrip-dims-only": lambda t, np: (
            lambda dst: (
                dst.from_bytes(t.Linear(2, 3).to_bytes()),
                dst.get_dim("nO"),
                dst.has_param("W"),
            )[1:]
        )(t.Linear()),
        "bytes-roundtrip-attrs": lambda t, np: (
            lambda dst: (dst.from_bytes(t.Dropout(0.7).to_bytes()), dst.attrs["dropout_rate"])[1]
        )(t.Dropout(0.1)),
        "from_bytes-different-nO": lambda t, np: (
            t.Linear(5, 3).initialize().from_bytes(lin(t).to_bytes())
        ),
        "from_bytes-different-nI-uninit": lambda t, np: t.Linear(2, 4).from_bytes(
            lin(t).to_bytes()
        ),
        "from_bytes-different-name": lambda t, np: t.Relu(2, 3).from_bytes(lin(t).to_bytes()),
        "from_bytes-different-depth": lambda t, np: t.chain(t.Linear(2, 3), t.Relu()).from_bytes(
            lin(t).to_bytes()
        ),
        "from_bytes-garbage": lambda t, np: t.Linear().from_bytes(b"not msgpack at all"),
        "from_bytes-empty": lambda t, np: t.Linear().from_bytes(b""),
        "from_dict-missing-key": lambda t, np: t.Linear(2, 3).from_dict({"nodes": []}),
        "to_bytes-deterministic": lambda t, np: (lambda m: m.to_bytes() == m.to_bytes())(
            fill_params(lin(t))
        ),
        "to_bytes-Embed-roundtrip": lambda t, np: (
            lambda src: (lambda dst: (dst.from_bytes(src.to_bytes()), dst.get_param("E"))[1])(
                t.Embed(3, 4)
            )
        )(fill_params(t.Embed(3, 4).initialize())),
        "to_bytes-HashEmbed-roundtrip": lambda t, np: (
            lambda src: (
                lambda dst: (
                    dst.from_bytes(src.to_bytes()),
                    dst.predict(np.asarray([1, 5], "uint64")),
                    dst.attrs["seed"],
                )[1:]
            )(t.HashEmbed(3, 4, seed=1))
        )(fill_params(t.HashEmbed(3, 4, seed=9).initialize())),
        "can_from_bytes": lambda t, np: (
            t.Linear(2, 3).can_from_bytes(lin(t).to_bytes()),
            t.Linear(2, 4).can_from_bytes(lin(t).to_bytes()),
            t.Relu(2, 3).can_from_bytes(lin(t).to_bytes()),
            t.Relu(2, 3).can_from_bytes(lin(t).to_bytes(), strict=False),
            t.Linear().can_from_bytes(b"junk"),
        ),
        "can_from_dict": lambda t, np: (
            t.Linear(2, 3).can_from_dict(lin(t).to_dict()),
            t.chain(t.Linear(2, 3)).can_from_dict(lin(t).to_dict()),
        ),
    }
    for edge, call in ser.items():
        case("Model.serialize", edge, call)

    tree = {
        "set_dropout_rate-custom-attrs": lambda t, np: [
            n.attrs.get("rate")
            for n in t.set_dropout_rate(
                t.chain(
                    t.Model("a", lambda m, X, i: (X, None), attrs={"rate": 0.1}),
                    t.Dropout(0.2),
                ),
                0.7,
                attrs=["rate"],
            ).walk()
        ],
        "set_dropout_rate-nested": lambda t, np: [
            n.attrs.get("dropout_rate")
            for n in t.set_dropout_rate(
                t.chain(t.Relu(2, 2, dropout=0.1), t.Dropout(0.2)), 0.5
            ).walk()
        ],
        "change_attr_values": lambda t, np: [
            (n.name, n.attrs.get("dropout_rate"), n.attrs.get("new"))
            for n in t.change_attr_values(
                t.chain(t.Dropout(0.2), t.Linear()), {"dropout": {"dropout_rate": 0.9, "new": 1}}
            ).walk()
        ],
        "wrap_model_recursive": lambda t, np: [
            n.name
            for n in t.wrap_model_recursive(
                t.chain(t.Linear(2, 3), t.Relu(3, 3)), lambda m: t.with_debug(m)
            ).walk()
        ],
        "wrap_model_recursive-predict": lambda t, np: t.wrap_model_recursive(
            fill_params(t.chain(t.Linear(2, 3), t.Relu(2, 2)).initialize()),
            lambda m: t.with_debug(m),
        ).predict(floats(np, 2, 3)),
        "to_disk-from_disk": lambda t, np: _disk_roundtrip(t, np, floats),
        "from_disk-missing": lambda t, np: t.Linear().from_disk("/nonexistent/thinc-model.bin"),
        "can_from_disk-missing": lambda t, np: t.Linear().can_from_disk("/nonexistent/x.bin"),
        "use_params-nested-restore": lambda t, np: (
            lambda m: (
                lambda key: _use_params(
                    m,
                    {key: np.ones((2, 3), "f"), (m.layers[1].id, "b"): np.ones(2, "f")},
                    floats(np, 1, 3),
                )
            )((m.layers[0].id, "W"))
        )(fill_params(t.chain(t.Linear(2, 3), t.Linear(2, 2)).initialize())),
        "define_operators-non-callable": lambda t, np: _with_ops(
            t, {">>": 3}, lambda: t.Linear() >> t.Relu()
        ),
        "define_operators-chain-three": lambda t, np: _with_ops(
            t, {">>": t.chain}, lambda: t.Linear() >> t.Relu() >> t.Mish()
        ),
        "define_operators-add-flattens": lambda t, np: _with_ops(
            t, {"+": t.add}, lambda: t.Linear() + t.Relu() + t.Mish()
        ),
        "define_operators-concat-flattens": lambda t, np: _with_ops(
            t, {"|": t.concatenate}, lambda: t.Linear() | t.Relu() | t.Mish()
        ),
        "define_operators-exception-restores": lambda t, np: _ops_after_exception(t),
        "clone-copies-independent": lambda t, np: (
            lambda m: (
                m.layers[0].get_param("W") is m.layers[1].get_param("W"),
                m.layers[0].id != m.layers[1].id,
            )
        )(t.clone(t.Linear(2, 2).initialize(), 2)),
        "initialize-Y-only": lambda t, np: (lambda m: (m.maybe_get_dim("nI"), m.get_dim("nO")))(
            t.Linear(nI=3).initialize(Y=floats(np, 2, 5))
        ),
        "Softmax_v2-init-Y-ints": lambda t, np: (
            t.Softmax_v2()
            .initialize(X=floats(np, 2, 3), Y=np.asarray([0, 1], "int32"))
            .get_dim("nO")
        ),
        "Linear-init-empty-X": lambda t, np: (
            t.Linear(2).initialize(X=floats(np, 0, 3)).get_dim("nI")
        ),
        "LayerNorm-set-nO-mismatch": lambda t, np: t.LayerNorm(3).initialize(X=floats(np, 2, 4)),
    }
    for edge, call in tree.items():
        case("Model.tree", edge, call)


def _disk_roundtrip(t: Any, np: Any, floats: Callable[..., Any]) -> Any:
    import os
    import tempfile

    src = fill_params(t.chain(t.Linear(3, 4), t.Relu(2, 3)).initialize())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.bin")
        src.to_disk(path)
        dst = t.chain(t.Linear(3, 4), t.Relu(2, 3)).from_disk(path)
        fits = t.chain(t.Linear(3, 4), t.Relu(2, 3)).can_from_disk(path)
        return dst.predict(floats(np, 2, 4)), fits


def _ops_after_exception(t: Any) -> Any:
    try:
        with t.Model.define_operators({">>": t.chain}):
            raise KeyError("inside")
    except KeyError:
        pass
    try:
        t.Linear() >> t.Relu()
        return "still defined"
    except TypeError:
        return "restored"


def _use_params(model: Any, params: Any, X: Any) -> Any:
    before = model.predict(X)
    with model.use_params(params):
        inside = model.predict(X)
    return before, inside, model.predict(X)


def _enter_ops(t: Any) -> None:
    with t.Model.define_operators({"|": t.concatenate}):
        pass


def _with_ops(t: Any, ops: Any, make: Callable[[], Any]) -> Any:
    with t.Model.define_operators(ops):
        model = make()
    return [n.name for n in model.walk()]


def _nested_operators(t: Any) -> Any:
    with t.Model.define_operators({">>": t.chain}):
        with t.Model.define_operators({"|": t.concatenate}):
            inner = t.Linear() | t.Relu()
            try:
                inner >> t.Relu()
                chained_inside = True
            except TypeError:
                chained_inside = False
        outer = t.Linear() >> t.Relu()
    return inner.name, chained_inside, outer.name


def _operators(t: Any, np: Any, floats: Callable[..., Any]) -> Any:
    with t.Model.define_operators({">>": t.chain, "|": t.concatenate, "+": t.add, "**": t.clone}):
        model = t.Linear(3, 4) >> (t.Relu(2) | t.Mish(2)) >> t.Linear(2) + t.Linear(2)
        stack = t.Relu(4, 4) ** 2
    names = [n.name for n in model.walk()]
    Y, dX = forward_backward(model, floats(np, 2, 4))
    return names, [n.name for n in stack.walk()], Y, dX
