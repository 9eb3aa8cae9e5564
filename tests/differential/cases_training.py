"""Differential cases: training (see cases.py for the format).

Optimizers (several steps, L2, clipping, averages, schedules as hyper-parameters,
odd parameter arrays), the registered schedules on edge arguments, the losses on
edge truths and shapes, and the weight initializers (seeded, so both sides draw
the same numbers from numpy's global RandomState)."""

from typing import Any, Callable, List, Tuple

# (function pattern, edge pattern, why ours may differ from 8.3.14)
KNOWN_DIFFERENCES: List[Tuple[str, str, str]] = [
    (
        "Optimizer(*)",
        "grad_clip=-1.0",
        "8.3.14 scales the gradient by a negative factor (the step climbs the loss); "
        "ours refuses a negative clipping threshold",
    ),
    (
        "Optimizer(Adam)",
        "float*-params",
        "8.3.14's Adam takes float32 only (Cython buffer dtype mismatch); "
        "ours steps float64 and float16 parameters in their own dtype",
    ),
    (
        "Optimizer(*)",
        "shape-mismatch*",
        "8.3.14 broadcasts a gradient of another shape, or reads a transposed one in the "
        "weights' order (garbage); ours refuses",
    ),
    (
        "Optimizer(...)",
        "non-contiguous-params",
        "8.3.14's Adam writes a strided view's buffer as if it were contiguous (it "
        "corrupts the neighbours); ours updates the view",
    ),
    (
        "Optimizer(learn_rate=...)",
        "tuple",
        "8.3.14 reports a tuple of rates as an invalid schedule (next() on a tuple); "
        "ours steps through it like a list",
    ),
    (
        "Optimizer(learn_rate=...)",
        "np.*",
        "8.3.14 reports a numpy scalar (not a float/int subclass) as an invalid schedule; "
        "ours takes any real number",
    ),
    (
        "schedule.slanted_triangular",
        "cut*",
        "8.3.14 divides by zero (at once, or at step num_steps for cut_frac=1) or yields "
        "rates that never fall (cut_frac > 1, negative) when int(num_steps * cut_frac) < 1 "
        "or cut_frac >= 1; ours refuses such arguments when the schedule is made",
    ),
    (
        "schedule.slanted_triangular",
        "num_steps=[0-]*",
        "8.3.14 divides by zero (num_steps=0) or yields rates above max_rate (negative "
        "num_steps); ours refuses such arguments when the schedule is made",
    ),
    (
        "schedule.cyclic_triangular",
        "period=0,*",
        "8.3.14 divides by zero at the first value; ours refuses period 0 when the "
        "schedule is made",
    ),
    (
        "loss.CategoricalCrossentropy",
        "int-tuple",
        "8.3.14 crashes (AttributeError) on a tuple of labels; ours reads it like a list",
    ),
    (
        "loss.CategoricalCrossentropy",
        "np-int-list",
        "8.3.14 takes numpy integers in a list for class names (ValueError: no names); "
        "ours reads them as class indices",
    ),
    (
        "loss.CategoricalCrossentropy",
        "mixed-list*",
        "8.3.14 fails on a list mixing indices and names (KeyError, or numpy's ValueError "
        "converting names to ints); ours reads each entry",
    ),
    (
        "loss.CategoricalCrossentropy",
        "negative-label-*",
        "8.3.14 wraps -1 to the last class; ours refuses the label",
    ),
    (
        "loss.CategoricalCrossentropy",
        "None-truths",
        "8.3.14 crashes (AttributeError) touching truths that are neither a list nor an "
        "array; ours says so with a TypeError",
    ),
    (
        "loss.CategoricalCrossentropy",
        "int-truths",
        "8.3.14 crashes (AttributeError) touching truths that are neither a list nor an "
        "array; ours says so with a TypeError",
    ),
    (
        "loss.SequenceCategoricalCrossentropy",
        "array-guesses",
        "8.3.14 crashes (AttributeError) on the int truths it gets by iterating an array; "
        "ours says so with a TypeError",
    ),
    (
        "loss.CategoricalCrossentropy",
        "int-list-with-None",
        "8.3.14 crashes (numpy's TypeError converting None to int) after marking None "
        "missing; ours masks the row, as 8.3.14 does in a list of names",
    ),
    (
        "loss.CategoricalCrossentropy",
        "missing=99,*",
        "8.3.14 crashes (IndexError) looking the missing value up in its one-hot table; "
        "ours masks the row",
    ),
    (
        "loss.CategoricalCrossentropy",
        "neg_prefix,label_smoothing",
        "8.3.14 turns a smoothed negated label into a target below 0 and refuses it "
        "(ValueError); ours masks the row as without smoothing",
    ),
    (
        "loss.SequenceCategoricalCrossentropy",
        "ragged-guesses",
        "8.3.14 refuses a Ragged (get_array_module's ValueError); ours returns a Ragged gradient",
    ),
    (
        "loss.*Distance",
        "lists",
        "8.3.14 crashes (AttributeError) on lists; ours says so with a TypeError",
    ),
    (
        "loss.L2Distance",
        "padded",
        "8.3.14 crashes (AttributeError) on Padded; ours says so with a TypeError",
    ),
]


def _weights(np: Any, *shape: int, dtype: str = "float32", seed: int = 3) -> Any:
    return np.random.RandomState(seed).uniform(-1, 1, shape).astype(dtype)


def _state(opt: Any) -> Any:
    """What an optimizer holds after its steps, as plain values."""
    return {
        "hyper": [opt.learn_rate, opt.b1, opt.b2, opt.eps, opt.L2, opt.grad_clip],
        "nr_update": dict(opt.nr_update),
        "mom1": dict(opt.mom1),
        "mom2": dict(opt.mom2),
        "averages": None if opt.averages is None else dict(opt.averages),
        "schedules": sorted(opt.schedules),
    }


def _steps(opt: Any, np: Any, weights: Any, grads: List[Any], key: Any = (0, "W"), **kw: Any):
    """Feed ``grads`` one after the other; after each step the weights, what the
    caller's gradient array holds, and the learning rate in effect."""
    weights = weights.copy()
    trace = []
    for grad in grads:
        grad = grad.copy()
        new_weights, new_grad = opt(key, weights, grad, **kw)
        trace.append((new_weights.copy(), grad.copy(), new_grad.copy(), opt.learn_rate))
        weights = new_weights
        opt.step_schedules()
    return trace, _state(opt)


def _with_params(model: Any, params: Any) -> Any:
    with model.use_params(params):
        return model.get_param("W").copy()


def _grads(np: Any, n: int, *shape: int, dtype: str = "float32") -> List[Any]:
    return [np.random.RandomState(10 + i).uniform(-0.5, 0.5, shape).astype(dtype) for i in range(n)]


def _take(schedule: Any, n: int) -> List[Any]:
    return [float(next(schedule)) for _ in range(n)]


def _register_optimizers(case: Callable[..., None]) -> None:
    makers = {
        "Adam": lambda t, **kw: t.Adam(0.05, **kw),
        "SGD": lambda t, **kw: t.SGD(0.05, **kw),
        "RAdam": lambda t, **kw: t.RAdam(0.05, **kw),
    }
    for name, make in makers.items():
        fn = f"Optimizer({name})"
        case(
            fn,
            "5-steps",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 4), _grads(np, 5, 4)),
        )
        case(
            fn,
            "12-steps-2d",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 3, 2), _grads(np, 12, 3, 2))[1],
        )
        case(
            fn,
            "3d-params",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 2, 2, 3), _grads(np, 2, 2, 2, 3)),
        )
        for wd in [True, False]:
            case(
                fn,
                f"L2=0.1,L2_is_weight_decay={wd}",
                lambda t, np, m=make, wd=wd: _steps(
                    m(t, L2=0.1, L2_is_weight_decay=wd), np, _weights(np, 4), _grads(np, 3, 4)
                ),
            )
        case(
            fn,
            "L2=-0.5",
            lambda t, np, m=make: _steps(m(t, L2=-0.5), np, _weights(np, 4), _grads(np, 2, 4)),
        )
        for clip in [0.0, 0.01, 100.0, -1.0]:
            case(
                fn,
                f"grad_clip={clip}",
                lambda t, np, m=make, c=clip: _steps(
                    m(t, grad_clip=c), np, _weights(np, 4), [g * 10 for g in _grads(np, 2, 4)]
                ),
            )
        case(
            fn,
            "use_averages=False",
            lambda t, np, m=make: _steps(
                m(t, use_averages=False), np, _weights(np, 4), _grads(np, 2, 4)
            ),
        )
        case(
            fn,
            "lr_scale=0.5",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 4), _grads(np, 3, 4), lr_scale=0.5),
        )
        case(
            fn,
            "lr_scale=0",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 4), _grads(np, 2, 4), lr_scale=0),
        )
        case(
            fn,
            "float64-params",
            lambda t, np, m=make: _steps(
                m(t), np, _weights(np, 4, dtype="float64"), _grads(np, 2, 4, dtype="float64")
            ),
        )
        case(
            fn,
            "float16-params",
            lambda t, np, m=make: _steps(
                m(t), np, _weights(np, 4, dtype="float16"), _grads(np, 1, 4, dtype="float16")
            ),
        )
        case(
            fn,
            "int-params",
            lambda t, np, m=make: _steps(
                m(t), np, np.arange(4, dtype="int32"), [np.ones(4, "int32")]
            ),
        )
        case(
            fn,
            "zero-rows",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 0, 3), _grads(np, 2, 0, 3)),
        )
        case(
            fn,
            "zero-width",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 3, 0), _grads(np, 2, 3, 0)),
        )
        case(
            fn,
            "size-1",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 1), _grads(np, 3, 1)),
        )
        case(
            fn,
            "zero-grad",
            lambda t, np, m=make: _steps(m(t), np, _weights(np, 4), [np.zeros(4, "f")] * 2),
        )
        case(
            fn,
            "nan-grad",
            lambda t, np, m=make: _steps(
                m(t), np, _weights(np, 3), [np.asarray([np.nan, 0.1, 0.2], "f")]
            ),
        )
        case(
            fn,
            "inf-grad",
            lambda t, np, m=make: _steps(
                m(t), np, _weights(np, 3), [np.asarray([np.inf, 0.1, -0.2], "f")]
            ),
        )
        case(
            fn,
            "inf-grad,no-clip",
            lambda t, np, m=make: _steps(
                m(t, grad_clip=0.0), np, _weights(np, 3), [np.asarray([np.inf, 0.1, -0.2], "f")]
            ),
        )
        case(
            fn,
            "two-keys",
            lambda t, np, m=make: (
                lambda o: (
                    _steps(o, np, _weights(np, 3), _grads(np, 2, 3), key=(1, "W")),
                    _steps(o, np, _weights(np, 3, seed=4), _grads(np, 1, 3), key=(2, "b")),
                )
            )(m(t)),
        )
        case(
            fn,
            "shape-mismatch",
            lambda t, np, m=make: m(t)((0, "W"), np.ones(3, "f"), np.ones(1, "f")),
        )
        case(
            fn,
            "shape-mismatch-2d",
            lambda t, np, m=make: m(t)((0, "W"), np.ones((2, 3), "f"), np.ones((3, 2), "f")),
        )
        case(
            fn,
            "scalar-grad",
            lambda t, np, m=make: m(t)((0, "W"), np.ones((), "f"), np.ones((), "f")),
        )
        case(
            fn,
            "list-params",
            lambda t, np, m=make: m(t)((0, "W"), [1.0, 2.0], [0.1, 0.2]),
        )
        case(fn, "last_score", lambda t, np, m=make: m(t).last_score)
        case(fn, "set-unknown-attr", lambda t, np, m=make: setattr(m(t), "momentum", 0.5))
        case(
            fn,
            "set-learn_rate",
            lambda t, np, m=make: (
                lambda o: (
                    setattr(o, "learn_rate", 0.5),
                    _steps(o, np, _weights(np, 3), _grads(np, 2, 3)),
                )
            )(m(t)),
        )
        case(
            fn,
            "learn_rate-list",
            lambda t, np, n=name: _steps(
                getattr(t, n)([0.1, 0.01, 0.001]), np, _weights(np, 3), _grads(np, 5, 3)
            ),
        )
        case(
            fn,
            "learn_rate-decaying",
            lambda t, np, n=name: _steps(
                getattr(t, n)(t.decaying(0.1, 0.5)), np, _weights(np, 3), _grads(np, 4, 3)
            ),
        )
        case(
            fn,
            "learn_rate-warmup_linear",
            lambda t, np, n=name: _steps(
                getattr(t, n)(t.warmup_linear(0.1, 2, 4)), np, _weights(np, 3), _grads(np, 6, 3)
            ),
        )
        case(
            fn,
            "learn_rate=0",
            lambda t, np, n=name: _steps(getattr(t, n)(0.0), np, _weights(np, 3), _grads(np, 2, 3)),
        )
        case(
            fn,
            "learn_rate=int",
            lambda t, np, n=name: _steps(getattr(t, n)(1), np, _weights(np, 3), _grads(np, 2, 3)),
        )
    # Hyper-parameters given in odd forms (the Optimizer's own constructor).
    forms = {
        "list": lambda np: [0.1, 0.2],
        "empty-list": lambda np: [],
        "tuple": lambda np: (0.1, 0.2),
        "str": lambda np: "0.1",
        "None": lambda np: None,
        "np.float64": lambda np: np.float64(0.1),
        "np.float32": lambda np: np.float32(0.1),
        "np.int64": lambda np: np.int64(1),
        "0d-array": lambda np: np.asarray(0.1),
        "1d-array": lambda np: np.asarray([0.1, 0.2]),
        "bool": lambda np: True,
        "dict": lambda np: {"a": 1},
        "generator": lambda np: (x / 10 for x in range(1, 4)),
        "iterator": lambda np: iter([0.3, 0.2]),
        "range": lambda np: range(3),
    }
    for form, make_value in forms.items():
        case(
            "Optimizer(learn_rate=...)",
            form,
            lambda t, np, v=make_value: (
                lambda o: (o.learn_rate, sorted(o.schedules), [o.step_schedules(), o.learn_rate])
            )(t.Optimizer(v(np))),
        )
    for hyper in ["L2", "beta1", "beta2", "eps", "grad_clip"]:
        case(
            "Optimizer(hyper=list)",
            hyper,
            lambda t, np, h=hyper: _steps(
                t.Optimizer(0.1, **{h: [0.5, 0.25, 0.1]}), np, _weights(np, 3), _grads(np, 4, 3)
            ),
        )
        case(
            "Optimizer(hyper=empty-list)",
            hyper,
            lambda t, np, h=hyper: t.Optimizer(0.1, **{h: []}),
        )
    odd = {
        "beta1=0,beta2>0": dict(beta1=0.0, beta2=0.9),
        "beta1>0,beta2=0": dict(beta1=0.9, beta2=0.0),
        "beta1=1": dict(beta1=1.0),
        "beta2=1": dict(beta2=1.0),
        "beta1=negative": dict(beta1=-0.5),
        "eps=0": dict(eps=0.0),
        "eps=0,radam": dict(eps=0.0, use_radam=True),
        "radam,beta2=0.5": dict(beta2=0.5, use_radam=True),
        "radam,beta1=0": dict(beta1=0.0, use_radam=True),
        "radam,beta2=1": dict(beta2=1.0, use_radam=True),
        "radam,beta2=0": dict(beta2=0.0, use_radam=True),
        "L2-with-sgd-betas": dict(beta1=0.0, beta2=0.0, L2=0.5),
        "L2-not-decay,clip": dict(L2=5.0, L2_is_weight_decay=False, grad_clip=0.1),
    }
    for edge, kwargs in odd.items():
        case(
            "Optimizer(...)",
            edge,
            lambda t, np, k=kwargs: _steps(
                t.Optimizer(0.1, **k), np, _weights(np, 3), _grads(np, 3, 3)
            ),
        )
    case(
        "Optimizer(...)",
        "eps=0,zero-grad",
        lambda t, np: _steps(t.Optimizer(0.1, eps=0.0), np, _weights(np, 3), [np.zeros(3, "f")]),
    )
    case(
        "Optimizer(...)",
        "radam,12-steps,zero-grad",
        lambda t, np: _steps(
            t.Optimizer(0.1, eps=0.0, use_radam=True), np, _weights(np, 3), [np.zeros(3, "f")] * 12
        )[1],
    )
    case(
        "Optimizer(...)",
        "positional-L2",
        lambda t, np: t.Optimizer(0.1, 0.5),
    )
    case("Optimizer(...)", "no-learn_rate", lambda t, np: t.Optimizer())
    case("Optimizer(...)", "unknown-kwarg", lambda t, np: t.Optimizer(0.1, momentum=0.9))
    case("Optimizer(SGD)", "no-learn_rate", lambda t, np: t.SGD())
    case("Optimizer(Adam)", "defaults", lambda t, np: _state(t.Adam()))
    case("Optimizer(RAdam)", "defaults", lambda t, np: (_state(t.RAdam()), t.RAdam().use_radam))
    case("Optimizer(SGD)", "defaults", lambda t, np: _state(t.SGD(0.1)))
    case(
        "Optimizer(...)",
        "defaults-dicts",
        lambda t, np: dict(t.ADAM_DEFAULTS) if hasattr(t, "ADAM_DEFAULTS") else None,
    )
    case(
        "Optimizer(...)",
        "slots",
        lambda t, np: sorted(type(t.Adam()).__slots__),
    )
    case(
        "Optimizer(...)",
        "step_schedules-exhausted",
        lambda t, np: (lambda o: [(o.step_schedules(), o.learn_rate, o.L2)[1:] for _ in range(4)])(
            t.Adam([0.3, 0.2], L2=iter([0.5]))
        ),
    )
    case(
        "Optimizer(...)",
        "step_schedules-no-schedules",
        lambda t, np: (lambda o: (o.step_schedules(), o.learn_rate))(t.Adam(0.3)),
    )
    case(
        "Optimizer(...)",
        "schedule-yields-str",
        lambda t, np: (lambda o: (o.step_schedules(), o.learn_rate))(t.Adam(iter([0.1, "x"]))),
    )
    case(
        "Optimizer(...)",
        "last_seen",
        lambda t, np: (
            lambda o: (
                o((0, "W"), np.ones(3, "f"), np.ones(3, "f")),
                dict(o.last_seen),
            )[1]
        )(t.Adam(0.1)),
    )
    case(
        "Optimizer(...)",
        "deepcopy-with-schedule",
        lambda t, np: __import__("copy").deepcopy(t.Adam(t.decaying(0.1, 0.1))).learn_rate,
    )
    case(
        "Optimizer(...)",
        "deepcopy",
        lambda t, np: _state(__import__("copy").deepcopy(t.Adam(0.1))),
    )
    case(
        "Optimizer(...)",
        "averages-after-steps",
        lambda t, np: (
            lambda o: (
                [o((0, "W"), _weights(np, 3, seed=s), np.full(3, 0.1, "f")) for s in range(4)],
                dict(o.averages),
            )[1]
        )(t.SGD(0.1)),
    )
    case(
        "Optimizer(...)",
        "averages-float64",
        lambda t, np: (
            lambda o: (
                o((0, "W"), np.ones(3), np.full(3, 0.1)),
                {k: (v.dtype.str, v) for k, v in o.averages.items()},
            )[1]
        )(t.SGD(0.1)),
    )
    case(
        "Optimizer(...)",
        "averages-shape-change",
        lambda t, np: (
            lambda o: (
                o((0, "W"), np.ones(3, "f"), np.ones(3, "f")),
                o((0, "W"), np.ones(4, "f"), np.ones(4, "f")),
            )
        )(t.SGD(0.1)),
    )
    case(
        "Optimizer(...)",
        "adam-shape-change",
        lambda t, np: (
            lambda o: (
                o((0, "W"), np.ones(3, "f"), np.ones(3, "f"), lr_scale=1.0),
                o((0, "W"), np.ones(4, "f"), np.ones(4, "f")),
            )
        )(t.Optimizer(0.1, use_averages=False)),
    )
    case(
        "Optimizer(...)",
        "non-contiguous-params",
        lambda t, np: (lambda W, G: (t.Adam(0.1)((0, "W"), W, G), W))(
            np.ones((3, 4), "f")[:, ::2], np.full((3, 4), 0.5, "f")[:, ::2]
        ),
    )
    case(
        "Optimizer(...)",
        "readonly-grad",
        lambda t, np: (
            lambda G: (G.setflags(write=False), t.SGD(0.1)((0, "W"), np.ones(3, "f"), G))[1]
        )(np.full(3, 0.5, "f")),
    )
    case(
        "Optimizer(...)",
        "grad-is-weights",
        lambda t, np: (lambda W: t.SGD(0.1)((0, "W"), W, W))(np.ones(3, "f")),
    )
    case(
        "Optimizer(...)",
        "config-schedule",
        lambda t, np: (
            lambda o: (
                o.learn_rate,
                sorted(o.schedules),
                [(o.step_schedules(), o.learn_rate)[1] for _ in range(3)],
            )
        )(
            t.registry.resolve(
                t.Config().from_str(
                    '[o]\n@optimizers = "Adam.v1"\n\n[o.learn_rate]\n'
                    '@schedules = "warmup_linear.v1"\ninitial_rate = 0.1\n'
                    "warmup_steps = 2\ntotal_steps = 4\n"
                )
            )["o"]
        ),
    )
    case(
        "Optimizer(...)",
        "config-SGD-grad_clip",
        lambda t, np: _state(
            t.registry.resolve(
                t.Config().from_str(
                    '[o]\n@optimizers = "SGD.v1"\nlearn_rate = 0.1\ngrad_clip = 0.0\nL2 = 1e-6\n'
                )
            )["o"]
        ),
    )
    case(
        "Optimizer(...)",
        "config-RAdam-bad-arg",
        lambda t, np: t.registry.resolve(
            t.Config().from_str('[o]\n@optimizers = "RAdam.v1"\nmomentum = 0.1\n')
        ),
    )
    case(
        "Optimizer(...)",
        "config-SGD-no-learn_rate",
        lambda t, np: t.registry.resolve(t.Config().from_str('[o]\n@optimizers = "SGD.v1"\n')),
    )
    case(
        "Optimizer(...)",
        "averages-max-decay",
        lambda t, np: (
            lambda o: (
                o.nr_update.__setitem__((0, "W"), 10**6),
                o.averages.__setitem__((0, "W"), np.zeros(3, "f")),
                o((0, "W"), np.ones(3, "f"), np.full(3, 0.5, "f")),
                dict(o.averages),
                dict(o.nr_update),
            )[3:]
        )(t.SGD(0.1)),
    )
    case(
        "Optimizer(...)",
        "radam-cache-across-keys",
        lambda t, np: (
            lambda o: (
                _steps(o, np, _weights(np, 3), _grads(np, 1, 3), key=(1, "W")),
                _steps(o, np, _weights(np, 3, seed=4), _grads(np, 2, 3), key=(2, "W")),
                _steps(o, np, _weights(np, 3, seed=5), _grads(np, 3, 3), key=(3, "W")),
            )
        )(t.RAdam(0.1, beta2=[0.999, 0.5, 0.9])),
    )
    case(
        "Optimizer(...)",
        "step_schedules-raises",
        lambda t, np: t.Adam(t.decaying(1.0, -1.0)).step_schedules(),
    )
    case(
        "Optimizer(...)",
        "lr_scale-negative",
        lambda t, np: _steps(t.Adam(0.1), np, _weights(np, 3), _grads(np, 2, 3), lr_scale=-1.0),
    )
    case(
        "Optimizer(...)",
        "finish_update-no-averages",
        lambda t, np: (
            lambda m, o: (
                m.initialize(X=np.ones((2, 3), "f")),
                m.set_param("W", _weights(np, 2, 3)),
                m.set_param("b", _weights(np, 2, seed=5)),
                m.inc_grad("b", np.full((2,), 0.5, "f")),
                m.finish_update(o),
                m.get_param("W"),
                m.get_param("b"),
                o.averages,
                sorted(name for _, name in o.nr_update),
            )[5:]
        )(t.Linear(2, 3), t.SGD(0.1, use_averages=False)),
    )
    case(
        "Optimizer(...)",
        "model.finish_update",
        lambda t, np: (
            lambda m: (
                m.initialize(X=np.ones((2, 3), "f")),
                m.set_param("W", _weights(np, 2, 3)),
                m.set_param("b", _weights(np, 2, seed=5)),
                m.inc_grad("W", np.full((2, 3), 0.25, "f")),
                m.inc_grad("b", np.full((2,), 0.5, "f")),
                m.finish_update(t.Adam(0.1)),
                m.get_param("W"),
                m.get_param("b"),
                m.get_grad("W"),
            )[6:]
        )(t.Linear(2, 3)),
    )
    case(
        "Optimizer(...)",
        "model.use_params-averages",
        lambda t, np: (
            lambda m, o: (
                m.initialize(X=np.ones((2, 3), "f")),
                m.set_param("W", _weights(np, 2, 3)),
                m.set_param("b", _weights(np, 2, seed=5)),
                [
                    (m.inc_grad("W", np.full((2, 3), 0.25, "f")), m.finish_update(o))
                    for _ in range(3)
                ],
                _with_params(m, o.averages),
            )[4]
        )(t.Linear(2, 3), t.SGD(0.1)),
    )


def _register_schedules(case: Callable[..., None]) -> None:
    calls = {
        # constant
        ("constant", "rate=0"): lambda t: _take(t.constant(0.0), 3),
        ("constant", "rate=-1"): lambda t: _take(t.constant(-1.0), 3),
        ("constant", "rate=int"): lambda t: [next(t.constant(3)) for _ in range(2)],
        ("constant", "rate=str"): lambda t: [next(t.constant("x")) for _ in range(2)],
        ("constant", "no-args"): lambda t: next(t.constant()),
        ("constant", "call-with-step"): lambda t: t.constant(0.5)(step=3),
        ("constant", "iter-is-self"): lambda t: (lambda s: iter(s) is s)(t.constant(0.5)),
        # constant_then
        ("constant_then", "steps=0"): lambda t: _take(t.constant_then(1.0, 0, t.constant(0.5)), 3),
        ("constant_then", "steps=-2"): lambda t: _take(
            t.constant_then(1.0, -2, t.constant(0.5)), 3
        ),
        ("constant_then", "list-schedule"): lambda t: _take(
            t.constant_then(1.0, 1, [0.5, 0.25]), 3
        ),
        ("constant_then", "list-schedule-exhausted"): lambda t: _take(
            t.constant_then(1.0, 1, [0.5]), 3
        ),
        ("constant_then", "int-schedule"): lambda t: _take(t.constant_then(1.0, 1, 5), 2),
        ("constant_then", "float-steps"): lambda t: _take(
            t.constant_then(1.0, 1.5, t.constant(0.5)), 3
        ),
        ("constant_then", "nested"): lambda t: _take(
            t.constant_then(1.0, 2, t.constant_then(0.5, 1, t.decaying(0.25, 1.0))), 6
        ),
        ("constant_then", "first-is-lazy"): lambda t: type(t.constant_then(1.0, 1, 5)).__name__,
        # decaying
        ("decaying", "decay=0"): lambda t: _take(t.decaying(0.5, 0.0), 3),
        ("decaying", "decay=-0.5"): lambda t: _take(t.decaying(1.0, -0.5), 3),
        ("decaying", "decay=-1"): lambda t: _take(t.decaying(1.0, -1.0), 3),
        ("decaying", "t=5"): lambda t: _take(t.decaying(1.0, 0.1, t=5), 3),
        ("decaying", "t=-10"): lambda t: _take(t.decaying(1.0, 0.1, t=-10), 3),
        ("decaying", "t=float"): lambda t: _take(t.decaying(1.0, 0.1, t=0.5), 3),
        ("decaying", "huge-t"): lambda t: _take(t.decaying(1.0, 0.1, t=10**12), 2),
        ("decaying", "huge-decay"): lambda t: _take(t.decaying(1.0, 1e308), 3),
        ("decaying", "base=0"): lambda t: _take(t.decaying(0.0, 1.0), 3),
        ("decaying", "int-args"): lambda t: [next(t.decaying(2, 1)) for _ in range(1)],
        ("decaying", "positional-t"): lambda t: t.decaying(1.0, 0.1, 3),
        # compounding
        ("compounding", "compound=1"): lambda t: _take(t.compounding(1.0, 10.0, 1.0), 3),
        ("compounding", "shrinking"): lambda t: _take(t.compounding(10.0, 1.0, 0.5), 6),
        ("compounding", "start=stop"): lambda t: _take(t.compounding(4.0, 4.0, 2.0), 3),
        ("compounding", "compound<1,rising"): lambda t: _take(t.compounding(1.0, 10.0, 0.5), 4),
        ("compounding", "compound=0"): lambda t: _take(t.compounding(1.0, 10.0, 0.0), 3),
        ("compounding", "compound=-2"): lambda t: _take(t.compounding(1.0, 10.0, -2.0), 5),
        ("compounding", "start=0"): lambda t: _take(t.compounding(0.0, 10.0, 2.0), 3),
        ("compounding", "t=5"): lambda t: _take(t.compounding(1.0, 10.0, 2.0, t=5.0), 3),
        ("compounding", "int-args"): lambda t: [
            next(s) for s in [t.compounding(1, 10, 2)] for _ in range(5)
        ],
        ("compounding", "overflow"): lambda t: _take(t.compounding(1.0, float("inf"), 1e200), 4),
        ("compounding", "nan-stop"): lambda t: _take(t.compounding(1.0, float("nan"), 2.0), 3),
        # warmup_linear
        ("warmup_linear", "warmup=0"): lambda t: _take(t.warmup_linear(1.0, 0, 4), 6),
        ("warmup_linear", "total=0"): lambda t: _take(t.warmup_linear(1.0, 0, 0), 3),
        ("warmup_linear", "warmup>total"): lambda t: _take(t.warmup_linear(1.0, 5, 3), 8),
        ("warmup_linear", "warmup=total"): lambda t: _take(t.warmup_linear(1.0, 3, 3), 5),
        ("warmup_linear", "negative-warmup"): lambda t: _take(t.warmup_linear(1.0, -2, 3), 5),
        ("warmup_linear", "negative-total"): lambda t: _take(t.warmup_linear(1.0, 1, -3), 4),
        ("warmup_linear", "beyond-total"): lambda t: _take(t.warmup_linear(1.0, 2, 4), 10)[-4:],
        ("warmup_linear", "float-steps"): lambda t: _take(t.warmup_linear(1.0, 1.5, 4.5), 6),
        ("warmup_linear", "negative-rate"): lambda t: _take(t.warmup_linear(-1.0, 2, 4), 5),
        # slanted_triangular
        ("slanted_triangular", "defaults-100"): lambda t: _take(
            t.slanted_triangular(1.0, 100), 120
        ),
        ("slanted_triangular", "num_steps=10"): lambda t: _take(t.slanted_triangular(0.5, 10), 15),
        ("slanted_triangular", "cut_frac=0.5"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=0.5), 12
        ),
        ("slanted_triangular", "ratio=1"): lambda t: _take(
            t.slanted_triangular(1.0, 20, ratio=1), 5
        ),
        ("slanted_triangular", "ratio=0"): lambda t: _take(
            t.slanted_triangular(1.0, 20, ratio=0), 3
        ),
        ("slanted_triangular", "t=5"): lambda t: _take(t.slanted_triangular(1.0, 20, t=5.0), 5),
        ("slanted_triangular", "t=-5"): lambda t: _take(t.slanted_triangular(1.0, 20, t=-5.0), 5),
        ("slanted_triangular", "decay=0.5"): lambda t: _take(
            t.slanted_triangular(1.0, 20, decay=0.5), 5
        ),
        ("slanted_triangular", "huge-t"): lambda t: _take(t.slanted_triangular(1.0, 20, t=1e9), 2),
        ("slanted_triangular", "cut=0,create"): lambda t: (
            type(t.slanted_triangular(1.0, 5)).__name__
        ),
        ("slanted_triangular", "cut=0,next"): lambda t: _take(t.slanted_triangular(1.0, 5), 2),
        ("slanted_triangular", "num_steps=0,next"): lambda t: _take(
            t.slanted_triangular(1.0, 0), 1
        ),
        ("slanted_triangular", "cut_frac=0,next"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=0.0), 1
        ),
        ("slanted_triangular", "cut_frac=1,next"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=1.0), 12
        ),
        ("slanted_triangular", "cut_frac=1,first-steps"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=1.0), 5
        ),
        ("slanted_triangular", "cut_frac=2"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=2.0), 25
        ),
        ("slanted_triangular", "cut_frac=-0.1"): lambda t: _take(
            t.slanted_triangular(1.0, 10, cut_frac=-0.1), 4
        ),
        ("slanted_triangular", "num_steps=-20"): lambda t: _take(t.slanted_triangular(1.0, -20), 3),
        # cyclic_triangular
        ("cyclic_triangular", "period=1"): lambda t: _take(t.cyclic_triangular(0.1, 1.0, 1), 6),
        ("cyclic_triangular", "period=3"): lambda t: _take(t.cyclic_triangular(0.1, 1.0, 3), 14),
        ("cyclic_triangular", "min>max"): lambda t: _take(t.cyclic_triangular(1.0, 0.1, 2), 6),
        ("cyclic_triangular", "min=max"): lambda t: _take(t.cyclic_triangular(0.5, 0.5, 2), 4),
        ("cyclic_triangular", "float-period"): lambda t: _take(
            t.cyclic_triangular(0.1, 1.0, 2.5), 8
        ),
        ("cyclic_triangular", "period=0,create"): lambda t: (
            type(t.cyclic_triangular(0.1, 1.0, 0)).__name__
        ),
        ("cyclic_triangular", "period=0,next"): lambda t: _take(
            t.cyclic_triangular(0.1, 1.0, 0), 1
        ),
        ("cyclic_triangular", "period=-2"): lambda t: _take(t.cyclic_triangular(0.1, 1.0, -2), 6),
        ("cyclic_triangular", "value-type"): lambda t: (
            type(next(t.cyclic_triangular(0.1, 1.0, 2))).__name__
        ),
        ("cyclic_triangular", "long-run"): lambda t: _take(t.cyclic_triangular(0.0, 1.0, 7), 200)[
            ::13
        ],
    }
    for (name, edge), call in calls.items():
        case(f"schedule.{name}", edge, lambda t, np, c=call: c(t))

    configs = {
        "constant": "rate = 0.5\n",
        "constant_then": 'rate = 1.0\nsteps = 2\n\n[s.schedule]\n@schedules = "decaying.v1"\nbase_rate = 0.5\ndecay = 1.0\n',
        "decaying": "base_rate = 1.0\ndecay = 0.5\nt = 2\n",
        "compounding": "start = 1.0\nstop = 8.0\ncompound = 2.0\n",
        "warmup_linear": "initial_rate = 1.0\nwarmup_steps = 2\ntotal_steps = 5\n",
        "slanted_triangular": "max_rate = 1.0\nnum_steps = 20\ncut_frac = 0.2\nratio = 4\n",
        "cyclic_triangular": "min_lr = 0.1\nmax_lr = 1.0\nperiod = 2\n",
    }
    for name, body in configs.items():
        case(
            f"schedule.{name}",
            "config",
            lambda t, np, n=name, b=body: _take(
                t.registry.resolve(t.Config().from_str(f'[s]\n@schedules = "{n}.v1"\n{b}'))["s"],
                7,
            ),
        )
        case(
            f"schedule.{name}",
            "config-missing-arg",
            lambda t, np, n=name: t.registry.resolve(
                t.Config().from_str(f'[s]\n@schedules = "{n}.v1"\n')
            ),
        )
    case(
        "schedule.registry",
        "names",
        lambda t, np: sorted(t.registry.schedules.get_all()),
    )
    case(
        "schedule.registry",
        "plateau",
        lambda t, np: t.registry.schedules.get("plateau.v1"),
    )
    case("schedule.registry", "api-plateau", lambda t, np: t.plateau)
    case("schedule.registry", "api-Schedule", lambda t, np: t.Schedule)
    case(
        "schedule.decaying",
        "config-bad-type",
        lambda t, np: t.registry.resolve(
            t.Config().from_str('[s]\n@schedules = "decaying.v1"\nbase_rate = "x"\ndecay = 1\n')
        ),
    )


def _register_losses(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    def probs(np: Any, rows: int, cols: int, seed: int = 0) -> Any:
        values = abs(floats(np, rows, cols, seed=seed)) + 0.1
        return (values / values.sum(axis=1, keepdims=True)).astype("float32")

    cc = "loss.CategoricalCrossentropy"
    calls = {
        "int-list": lambda t, np: t.CategoricalCrossentropy()(probs(np, 3, 3), [0, 2, 1]),
        "int-tuple": lambda t, np: t.CategoricalCrossentropy()(probs(np, 3, 3), (0, 2, 1)),
        "int32-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3), np.asarray([0, 2, 1], "int32")
        ),
        "int64-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3), np.asarray([0, 2, 1], "int64")
        ),
        "uint8-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3), np.asarray([0, 2, 1], "uint8")
        ),
        "bool-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3), np.asarray([0, 1, 1], "bool")
        ),
        "float-1d-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3), np.asarray([0, 2, 1], "float32")
        ),
        "str-array": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), np.asarray(["a", "b"])
        ),
        "np-int-list": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), [np.int64(0), np.int64(2)]
        ),
        "float-list": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), [0.0, 2.0]),
        "mixed-list": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), ["a", 1]
        ),
        "mixed-list-int-first": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), [1, "a"]
        ),
        "empty-list": lambda t, np: t.CategoricalCrossentropy()(probs(np, 0, 3), []),
        "empty-list,names": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 0, 3), []
        ),
        "empty-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 0, 3), np.zeros((0,), "int32")
        ),
        "empty-bool-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 0, 3), np.zeros((0,), "bool")
        ),
        "empty-float-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 0, 3), np.zeros((0,), "f")
        ),
        "empty-2d-truths": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 0, 3), np.zeros((0, 3), "f")
        ),
        "negative-label-list": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), [0, -1]),
        "negative-label-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.asarray([0, -1], "i")
        ),
        "label-too-big-list": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), [0, 3]),
        "label-too-big-array": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.asarray([0, 3], "i")
        ),
        "normalize=False": lambda t, np: t.CategoricalCrossentropy(normalize=False)(
            probs(np, 3, 3), [0, 2, 1]
        ),
        "get_loss": lambda t, np: t.CategoricalCrossentropy().get_loss(probs(np, 3, 3), [0, 2, 1]),
        "get_grad": lambda t, np: t.CategoricalCrossentropy().get_grad(probs(np, 3, 3), [0, 2, 1]),
        "one-class": lambda t, np: t.CategoricalCrossentropy()(np.ones((2, 1), "f"), [0, 0]),
        "zero-classes": lambda t, np: t.CategoricalCrossentropy()(np.ones((2, 0), "f"), [0, 0]),
        "zero-classes-array": lambda t, np: t.CategoricalCrossentropy()(
            np.ones((2, 0), "f"), np.zeros((2,), "i")
        ),
        "1d-guesses": lambda t, np: t.CategoricalCrossentropy()(
            np.asarray([0.2, 0.8], "f"), np.asarray([0, 1], "i")
        ),
        "1d-guesses-list": lambda t, np: t.CategoricalCrossentropy()(
            np.asarray([0.2, 0.8], "f"), [0, 1]
        ),
        "3d-guesses": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 4, 3).reshape((2, 2, 3)), np.asarray([[0, 1], [2, 0]], "i")
        ),
        "guesses>1": lambda t, np: t.CategoricalCrossentropy()(np.full((2, 2), 1.5, "f"), [0, 1]),
        "guesses<0": lambda t, np: t.CategoricalCrossentropy()(np.full((2, 2), -0.5, "f"), [0, 1]),
        "nan-guesses": lambda t, np: t.CategoricalCrossentropy()(
            np.asarray([[np.nan, 0.5], [0.5, 0.5]], "f"), [0, 1]
        ),
        "float64-guesses": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 3, 3).astype("float64"), [0, 2, 1]
        ),
        "2d-truths>1": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 2), np.full((2, 2), 2.0, "f")
        ),
        "2d-int-truths": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.eye(3, dtype="i")[:2]
        ),
        "2d-truths-soft": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), probs(np, 2, 3, seed=1)
        ),
        "2d-truths-wrong-width": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.eye(4, dtype="f")[:2]
        ),
        "2d-truths,missing=0": lambda t, np: t.CategoricalCrossentropy(missing_value=0)(
            probs(np, 3, 3), np.eye(3, dtype="f")
        ),
        "2d-truths,missing=str": lambda t, np: t.CategoricalCrossentropy(missing_value="")(
            probs(np, 3, 3), np.eye(3, dtype="f")
        ),
        "too-many-truths": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), [0, 1, 2]),
        "too-few-truths": lambda t, np: t.CategoricalCrossentropy()(probs(np, 3, 3), [0, 1]),
        "None-truths": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), None),
        "int-truths": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), 1),
        # missing values
        "missing=0,list": lambda t, np: t.CategoricalCrossentropy(missing_value=0)(
            probs(np, 3, 3), [0, 2, 1]
        ),
        "missing=0,array": lambda t, np: t.CategoricalCrossentropy(missing_value=0)(
            probs(np, 3, 3), np.asarray([0, 2, 1], "i")
        ),
        "missing=-1,list": lambda t, np: t.CategoricalCrossentropy(missing_value=-1)(
            probs(np, 3, 3), [0, -1, 1]
        ),
        "missing=-1,array": lambda t, np: t.CategoricalCrossentropy(missing_value=-1)(
            probs(np, 3, 3), np.asarray([0, -1, 1], "i")
        ),
        "missing=99,list": lambda t, np: t.CategoricalCrossentropy(missing_value=99)(
            probs(np, 3, 3), [0, 99, 1]
        ),
        "missing=99,array": lambda t, np: t.CategoricalCrossentropy(missing_value=99)(
            probs(np, 3, 3), np.asarray([0, 99, 1], "i")
        ),
        "missing=str,int-list": lambda t, np: t.CategoricalCrossentropy(missing_value="")(
            probs(np, 2, 3), [0, 1]
        ),
        "missing=None-entry": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 3, 3), ["a", None, "c"]
        ),
        "missing=str,names": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], missing_value="?"
        )(probs(np, 3, 3), ["a", "?", "c"]),
        "missing=name-itself": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], missing_value="b"
        )(probs(np, 3, 3), ["a", "b", "c"]),
        "all-missing": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"], missing_value="")(
            probs(np, 2, 2), ["", ""]
        ),
        "missing-first,ints": lambda t, np: t.CategoricalCrossentropy(missing_value=-1)(
            probs(np, 2, 3), [-1, 2]
        ),
        "missing,label_smoothing": lambda t, np: t.CategoricalCrossentropy(
            missing_value=-1, label_smoothing=0.1
        )(probs(np, 3, 3), np.asarray([0, -1, 1], "i")),
        # names
        "names,int-truths": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), [0, 2]
        ),
        "names-too-short,ints": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
            probs(np, 2, 3), [0, 1]
        ),
        "names-too-short,strs": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
            probs(np, 2, 3), ["a", "b"]
        ),
        "names-too-short,array": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
            probs(np, 2, 3), np.asarray([0, 1], "i")
        ),
        "names-too-long,strs": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c", "d"])(
            probs(np, 2, 3), ["a", "b"]
        ),
        "names-one,strs": lambda t, np: t.CategoricalCrossentropy(names=["a"])(
            probs(np, 2, 3), ["a", "a"]
        ),
        "names-empty,strs": lambda t, np: t.CategoricalCrossentropy(names=[])(
            probs(np, 2, 3), ["a", "a"]
        ),
        "names-tuple": lambda t, np: t.CategoricalCrossentropy(names=("a", "b", "c"))(
            probs(np, 2, 3), ["c", "a"]
        ),
        "names-duplicate": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "a"])(
            probs(np, 2, 3), ["a", "b"]
        ),
        "names,empty-string": lambda t, np: t.CategoricalCrossentropy(names=["", "b", "c"])(
            probs(np, 2, 3), ["", "b"]
        ),
        "names,2d-truths": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), np.eye(3, dtype="f")[:2]
        ),
        # negative annotations
        "neg_prefix": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!"
        )(probs(np, 3, 3), ["a", "!b", "c"]),
        "neg_prefix,all-negative": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!"
        )(probs(np, 2, 3), ["!a", "!c"]),
        "neg_prefix,unknown": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!"
        )(probs(np, 2, 3), ["a", "!z"]),
        "neg_prefix,just-prefix": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!"
        )(probs(np, 2, 3), ["a", "!"]),
        "neg_prefix,empty-prefix": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix=""
        )(probs(np, 2, 3), ["a", "c"]),
        "neg_prefix,missing": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!", missing_value=""
        )(probs(np, 3, 3), ["!a", "", "c"]),
        "neg_prefix,label_smoothing": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!", label_smoothing=0.2
        )(probs(np, 2, 3), ["!a", "b"]),
        "neg_prefix,normalize=False": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="NOT_", normalize=False
        )(probs(np, 2, 3), ["NOT_a", "b"]),
        "neg_prefix-name-starts-with-it": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "!b", "b"], neg_prefix="!"
        )(probs(np, 2, 3), ["a", "!b"]),
        "neg_prefix,no-names": lambda t, np: t.CategoricalCrossentropy(neg_prefix="!")(
            probs(np, 2, 3), ["!a", "b"]
        ),
        # label smoothing
        "label_smoothing=0.3": lambda t, np: t.CategoricalCrossentropy(label_smoothing=0.3)(
            probs(np, 3, 4), [0, 3, 1]
        ),
        "label_smoothing,names": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], label_smoothing=0.1
        )(probs(np, 2, 3), ["c", "a"]),
        "label_smoothing=-0.1": lambda t, np: t.CategoricalCrossentropy(label_smoothing=-0.1)(
            probs(np, 2, 3), [0, 1]
        ),
        "label_smoothing,one-class": lambda t, np: t.CategoricalCrossentropy(label_smoothing=0.1)(
            np.ones((2, 1), "f"), [0, 0]
        ),
        "label_smoothing,2-classes,max": lambda t, np: t.CategoricalCrossentropy(
            label_smoothing=0.5
        )(probs(np, 2, 2), [0, 1]),
        "label_smoothing,2-classes,0.49": lambda t, np: t.CategoricalCrossentropy(
            label_smoothing=0.49
        )(probs(np, 2, 2), [0, 1]),
        "label_smoothing,2d-truths": lambda t, np: t.CategoricalCrossentropy(label_smoothing=0.1)(
            probs(np, 2, 3), np.eye(3, dtype="f")[:2]
        ),
        "label_smoothing,empty-list": lambda t, np: t.CategoricalCrossentropy(label_smoothing=0.1)(
            probs(np, 0, 3), []
        ),
        "1d-guesses,missing=0": lambda t, np: t.CategoricalCrossentropy(missing_value=0)(
            np.asarray([0.2, 0.8, 0.4], "f"), np.asarray([0, 1, 1], "i")
        ),
        "1d-guesses-list,missing=0": lambda t, np: t.CategoricalCrossentropy(missing_value=0)(
            np.asarray([0.2, 0.8, 0.4], "f"), [0, 1, 1]
        ),
        "1d-guesses-list,label_smoothing": lambda t, np: t.CategoricalCrossentropy(
            label_smoothing=0.1
        )(np.asarray([0.2, 0.8], "f"), [0, 1]),
        "1d-guesses-list,too-big": lambda t, np: t.CategoricalCrossentropy()(
            np.asarray([0.2, 0.8], "f"), [0, 2]
        ),
        "1d-guesses-empty-list": lambda t, np: t.CategoricalCrossentropy()(np.zeros((0,), "f"), []),
        "3d-float-truths-for-2d": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.zeros((2, 3, 1), "f")
        ),
        "3d-int-truths-for-2d": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.zeros((2, 3, 1), "i")
        ),
        "0d-int-truths": lambda t, np: t.CategoricalCrossentropy()(
            probs(np, 2, 3), np.asarray(1, "i")
        ),
        "names-too-short,2d-truths": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
            probs(np, 2, 3), np.eye(3, dtype="f")[:2]
        ),
        "names-too-short,unknown-name": lambda t, np: t.CategoricalCrossentropy(names=["a", "b"])(
            probs(np, 2, 3), ["a", "z"]
        ),
        "int-list-with-None": lambda t, np: t.CategoricalCrossentropy()(probs(np, 2, 3), [0, None]),
        "None-first-names": lambda t, np: t.CategoricalCrossentropy(names=["a", "b", "c"])(
            probs(np, 2, 3), [None, "b"]
        ),
        "list-guesses": lambda t, np: t.CategoricalCrossentropy()([[0.5, 0.5]], [0]),
        "int-guesses": lambda t, np: t.CategoricalCrossentropy()(
            np.asarray([[0, 1], [1, 0]], "i"), [1, 0]
        ),
        "label_smoothing,names,missing": lambda t, np: t.CategoricalCrossentropy(
            names=["a", "b", "c"], missing_value="", label_smoothing=0.2
        )(probs(np, 3, 3), ["a", "", "c"]),
        "label_smoothing,int-list,missing": lambda t, np: t.CategoricalCrossentropy(
            missing_value=1, label_smoothing=0.2
        )(probs(np, 3, 3), [0, 1, 2]),
        "2d-truths,normalize=False": lambda t, np: t.CategoricalCrossentropy(normalize=False)(
            probs(np, 2, 3), probs(np, 2, 3, seed=1)
        ),
        "attributes": lambda t, np: (
            lambda c: (c.normalize, c.names, c.missing_value, c.neg_prefix, c.label_smoothing)
        )(t.CategoricalCrossentropy(names=["x"], missing_value=3, neg_prefix="-")),
        "positional-arg": lambda t, np: t.CategoricalCrossentropy(False),
        "unknown-kwarg": lambda t, np: t.CategoricalCrossentropy(foo=1),
        "truths-not-modified": lambda t, np: (
            lambda truths: (
                t.CategoricalCrossentropy(names=["a", "b", "c"])(probs(np, 2, 3), truths),
                truths,
            )[1]
        )(np.eye(3, dtype="f")[:2].copy()),
        "label-list-not-modified": lambda t, np: (
            lambda truths: (
                t.CategoricalCrossentropy(names=["a", "b"], missing_value="")(
                    probs(np, 2, 2), truths
                ),
                truths,
            )[1]
        )(["", "b"]),
    }
    for edge, call in calls.items():
        case(cc, edge, call)

    for version in ["v1", "v2", "v3"]:
        case(
            cc,
            f"config-{version}",
            lambda t, np, v=version: (
                lambda c: (c.normalize, c.names, c.missing_value, c.neg_prefix, c.label_smoothing)
            )(
                t.registry.resolve(
                    t.Config().from_str(
                        f'[l]\n@losses = "CategoricalCrossentropy.{v}"\nnormalize = false\n'
                        'names = ["a","b"]\n'
                    )
                )["l"]
            ),
        )
        case(
            "loss.SequenceCategoricalCrossentropy",
            f"config-{version}",
            lambda t, np, v=version: (
                lambda c: (
                    c.normalize,
                    c.cc.normalize,
                    c.cc.names,
                    c.cc.missing_value,
                    c.cc.neg_prefix,
                    c.cc.label_smoothing,
                )
            )(
                t.registry.resolve(
                    t.Config().from_str(
                        f'[l]\n@losses = "SequenceCategoricalCrossentropy.{v}"\nnames = ["a","b"]\n'
                    )
                )["l"]
            ),
        )
    case(
        cc,
        "config-v1-label_smoothing",
        lambda t, np: t.registry.resolve(
            t.Config().from_str(
                '[l]\n@losses = "CategoricalCrossentropy.v1"\nlabel_smoothing = 0.1\n'
            )
        ),
    )
    case(
        cc,
        "config-v3-label_smoothing",
        lambda t, np: t.registry.resolve(
            t.Config().from_str(
                '[l]\n@losses = "CategoricalCrossentropy.v3"\nlabel_smoothing = 0.1\n'
            )
        )["l"](probs(np, 2, 3), [0, 1]),
    )

    scc = "loss.SequenceCategoricalCrossentropy"
    seq_calls = {
        "two-seqs": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 2, 3), probs(np, 3, 3, seed=1)], [[0, 2], np.asarray([1, 1, 0], "i")]
        ),
        "normalize=False": lambda t, np: t.SequenceCategoricalCrossentropy(normalize=False)(
            [probs(np, 2, 3), probs(np, 3, 3, seed=1)], [[0, 2], [1, 1, 0]]
        ),
        "names": lambda t, np: t.SequenceCategoricalCrossentropy(names=["a", "b", "c"])(
            [probs(np, 2, 3)], [["c", "a"]]
        ),
        "names,neg_prefix,missing": lambda t, np: t.SequenceCategoricalCrossentropy(
            names=["a", "b", "c"], neg_prefix="!", missing_value=""
        )([probs(np, 3, 3), probs(np, 1, 3, seed=2)], [["!a", "", "b"], ["c"]]),
        "label_smoothing": lambda t, np: t.SequenceCategoricalCrossentropy(label_smoothing=0.2)(
            [probs(np, 2, 3)], [[0, 2]]
        ),
        "missing_value-int": lambda t, np: t.SequenceCategoricalCrossentropy(missing_value=-1)(
            [probs(np, 2, 3)], [np.asarray([-1, 2], "i")]
        ),
        "empty-seq": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 0, 3), probs(np, 2, 3)], [[], [0, 1]]
        ),
        "2d-truths": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 2, 3)], [np.eye(3, dtype="f")[:2]]
        ),
        "tuple-inputs": lambda t, np: t.SequenceCategoricalCrossentropy()(
            (probs(np, 2, 3),), (np.asarray([0, 1], "i"),)
        ),
        "get_loss": lambda t, np: t.SequenceCategoricalCrossentropy().get_loss(
            [probs(np, 2, 3), probs(np, 3, 3, seed=1)], [[0, 2], [1, 1, 0]]
        ),
        "get_grad": lambda t, np: t.SequenceCategoricalCrossentropy().get_grad(
            [probs(np, 2, 3)], [[0, 2]]
        ),
        "array-guesses": lambda t, np: t.SequenceCategoricalCrossentropy()(probs(np, 2, 3), [0, 1]),
        "3d-array-guesses": lambda t, np: t.SequenceCategoricalCrossentropy()(
            probs(np, 4, 3).reshape((2, 2, 3)), np.asarray([[0, 1], [2, 0]], "i")
        ),
        "more-truths": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 2, 3)], [[0, 1], [1, 1]]
        ),
        "per-seq-mismatch": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 2, 3)], [[0, 1, 2]]
        ),
        "label-too-big": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 2, 3)], [[0, 3]]
        ),
        "None": lambda t, np: t.SequenceCategoricalCrossentropy()(None, None),
        "ragged-guesses": lambda t, np: t.SequenceCategoricalCrossentropy()(
            t.Ragged(probs(np, 3, 3), np.asarray([1, 2], "i")), [[0], [1, 2]]
        ),
        "padded-guesses": lambda t, np: t.SequenceCategoricalCrossentropy()(
            t.NumpyOps().list2padded([probs(np, 2, 3), probs(np, 1, 3, seed=1)]), [[0, 1], [2]]
        ),
        "unknown-kwarg": lambda t, np: t.SequenceCategoricalCrossentropy(foo=1),
        "names-too-short": lambda t, np: t.SequenceCategoricalCrossentropy(names=["a", "b"])(
            [probs(np, 2, 3)], [["a", "b"]]
        ),
        "empty-seqs-only": lambda t, np: t.SequenceCategoricalCrossentropy()(
            [probs(np, 0, 3), probs(np, 0, 3)], [[], np.zeros((0,), "i")]
        ),
    }
    for edge, call in seq_calls.items():
        case(scc, edge, call)

    l2 = "loss.L2Distance"
    l2_calls = {
        "normalize=False": lambda t, np: t.L2Distance(normalize=False)(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "get_loss": lambda t, np: t.L2Distance().get_loss(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "get_grad": lambda t, np: t.L2Distance().get_grad(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "1d": lambda t, np: t.L2Distance()(floats(np, 4), floats(np, 4, seed=1)),
        "3d": lambda t, np: t.L2Distance()(floats(np, 2, 3, 2), floats(np, 2, 3, 2, seed=1)),
        "0d": lambda t, np: t.L2Distance()(np.asarray(1.0, "f"), np.asarray(0.5, "f")),
        "empty-1d": lambda t, np: t.L2Distance()(np.zeros((0,), "f"), np.zeros((0,), "f")),
        "int-arrays": lambda t, np: t.L2Distance()(
            np.asarray([[1, 2], [3, 4]], "i"), np.asarray([[0, 2], [1, 1]], "i")
        ),
        "int-truths": lambda t, np: t.L2Distance()(floats(np, 2, 2), np.ones((2, 2), "i")),
        "float64": lambda t, np: t.L2Distance()(
            floats(np, 3, 2).astype("f8"), floats(np, 3, 2, seed=1).astype("f8")
        ),
        "mixed-dtypes": lambda t, np: t.L2Distance()(
            floats(np, 3, 2), floats(np, 3, 2, seed=1).astype("f8")
        ),
        "lists": lambda t, np: t.L2Distance()([[1.0, 2.0]], [[0.0, 1.0]]),
        "broadcastable": lambda t, np: t.L2Distance()(floats(np, 3, 2), floats(np, 1, 2)),
        "transposed": lambda t, np: t.L2Distance()(floats(np, 3, 2), floats(np, 2, 3)),
        "nan": lambda t, np: t.L2Distance()(np.full((2, 2), np.nan, "f"), np.zeros((2, 2), "f")),
        "inf": lambda t, np: t.L2Distance()(np.full((2, 2), np.inf, "f"), np.zeros((2, 2), "f")),
        "padded": lambda t, np: t.L2Distance()(
            t.NumpyOps().list2padded([floats(np, 2, 3)]),
            t.NumpyOps().list2padded([floats(np, 2, 3, seed=1)]),
        ),
        "positional-arg": lambda t, np: t.L2Distance(False),
        "config": lambda t, np: t.registry.resolve(
            t.Config().from_str('[l]\n@losses = "L2Distance.v1"\nnormalize = false\n')
        )["l"](floats(np, 2, 2), floats(np, 2, 2, seed=1)),
    }
    for edge, call in l2_calls.items():
        case(l2, edge, call)

    cos = "loss.CosineDistance"
    zero_rows = lambda np: np.asarray([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]], "f")  # noqa: E731
    cos_calls = {
        "normalize=False": lambda t, np: t.CosineDistance(normalize=False)(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "ignore_zeros": lambda t, np: t.CosineDistance(ignore_zeros=True)(
            floats(np, 3, 2), zero_rows(np)
        ),
        "ignore_zeros,normalize=False": lambda t, np: t.CosineDistance(
            ignore_zeros=True, normalize=False
        )(floats(np, 3, 2), zero_rows(np)),
        "zero-truth-rows": lambda t, np: t.CosineDistance()(floats(np, 3, 2), zero_rows(np)),
        "ignore_zeros,all-zero": lambda t, np: t.CosineDistance(ignore_zeros=True)(
            floats(np, 2, 2), np.zeros((2, 2), "f")
        ),
        "identical": lambda t, np: t.CosineDistance()(floats(np, 3, 2), floats(np, 3, 2)),
        "opposite": lambda t, np: t.CosineDistance()(floats(np, 3, 2), -floats(np, 3, 2)),
        "get_similarity": lambda t, np: t.CosineDistance().get_similarity(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "get_similarity-mismatch": lambda t, np: t.CosineDistance().get_similarity(
            floats(np, 3, 2), floats(np, 2, 2)
        ),
        "get_loss": lambda t, np: t.CosineDistance().get_loss(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "get_grad": lambda t, np: t.CosineDistance().get_grad(
            floats(np, 3, 2), floats(np, 3, 2, seed=1)
        ),
        "get_loss-mismatch": lambda t, np: t.CosineDistance().get_loss(
            floats(np, 3, 2), floats(np, 2, 2)
        ),
        "1d": lambda t, np: t.CosineDistance()(floats(np, 4), floats(np, 4, seed=1)),
        "3d": lambda t, np: t.CosineDistance()(floats(np, 2, 3, 2), floats(np, 2, 3, 2, seed=1)),
        "3d-get_similarity": lambda t, np: t.CosineDistance().get_similarity(
            floats(np, 2, 3, 2), floats(np, 2, 3, 2, seed=1)
        ),
        "empty-batch": lambda t, np: t.CosineDistance()(floats(np, 0, 2), floats(np, 0, 2)),
        "empty-batch,ignore_zeros": lambda t, np: t.CosineDistance(ignore_zeros=True)(
            floats(np, 0, 2), floats(np, 0, 2)
        ),
        "zero-width": lambda t, np: t.CosineDistance()(floats(np, 2, 0), floats(np, 2, 0)),
        "int-arrays": lambda t, np: t.CosineDistance()(
            np.asarray([[1, 2], [3, 4]], "i"), np.asarray([[0, 2], [1, 1]], "i")
        ),
        "float64": lambda t, np: t.CosineDistance()(
            floats(np, 3, 2).astype("f8"), floats(np, 3, 2, seed=1).astype("f8")
        ),
        "lists": lambda t, np: t.CosineDistance()([[1.0, 2.0]], [[0.0, 1.0]]),
        "3d,ignore_zeros": lambda t, np: t.CosineDistance(ignore_zeros=True)(
            floats(np, 2, 3, 3), np.zeros((2, 3, 3), "f")
        ),
        "0d": lambda t, np: t.CosineDistance()(np.asarray(1.0, "f"), np.asarray(0.5, "f")),
        "nan": lambda t, np: t.CosineDistance()(
            np.asarray([[np.nan, 1.0], [1.0, 1.0]], "f"), np.ones((2, 2), "f")
        ),
        "config": lambda t, np: t.registry.resolve(
            t.Config().from_str('[l]\n@losses = "CosineDistance.v1"\nignore_zeros = true\n')
        )["l"](floats(np, 3, 2), zero_rows(np)),
    }
    for edge, call in cos_calls.items():
        case(cos, edge, call)

    case(
        "loss.registry",
        "names",
        lambda t, np: sorted(t.registry.losses.get_all()),
    )
    case("loss.Loss", "base-get_grad", lambda t, np: t.Loss().get_grad(1, 2))
    case("loss.Loss", "base-call", lambda t, np: t.Loss()(1, 2))
    case("loss.Loss", "base-kwargs", lambda t, np: type(t.Loss(a=1, b=2)).__name__)


def _register_initializers(case: Callable[..., None]) -> None:
    names = [
        "glorot_uniform_init",
        "glorot_normal_init",
        "he_uniform_init",
        "he_normal_init",
        "lecun_uniform_init",
        "lecun_normal_init",
        "normal_init",
        "uniform_init",
        "zero_init",
    ]
    shapes = {
        "2d": (4, 3),
        "3d": (2, 3, 4),
        "1d": (5,),
        "0d": (),
        "zero-rows": (0, 3),
        "zero-cols": (3, 0),
        "size-1": (1, 1),
        "4d": (2, 2, 2, 2),
    }
    for name in names:
        fn = f"init.{name}"
        for edge, shape in shapes.items():
            case(
                fn,
                f"seeded-{edge}",
                lambda t, np, n=name, s=shape: (
                    t.fix_random_seed(0),
                    getattr(t, n)(t.NumpyOps(), s),
                    getattr(t, n)(t.NumpyOps(), s),
                )[1:],
            )
        case(
            fn,
            "list-shape",
            lambda t, np, n=name: (t.fix_random_seed(1), getattr(t, n)(t.NumpyOps(), [2, 3]))[1],
        )
        case(
            fn,
            "numpy-int-shape",
            lambda t, np, n=name: (
                t.fix_random_seed(1),
                getattr(t, n)(t.NumpyOps(), (np.int64(2), np.int64(3))),
            )[1],
        )
        case(
            fn,
            "numpy-int-zero-shape",
            lambda t, np, n=name: (
                t.fix_random_seed(1),
                getattr(t, n)(t.NumpyOps(), (np.int64(2), np.int64(0))),
            )[1],
        )
        case(
            fn,
            "negative-dim",
            lambda t, np, n=name: getattr(t, n)(t.NumpyOps(), (2, -3)),
        )
        case(
            fn,
            "float-dims",
            lambda t, np, n=name: (t.fix_random_seed(1), getattr(t, n)(t.NumpyOps(), (2.0, 3.0)))[
                1
            ],
        )
        case(
            fn,
            "config",
            lambda t, np, n=name: (
                t.fix_random_seed(2),
                t.registry.resolve(t.Config().from_str(f'[i]\n@initializers = "{n}.v1"\n'))["i"](
                    t.NumpyOps(), (3, 2)
                ),
            )[1],
        )
        case(
            fn,
            "no-ops",
            lambda t, np, n=name: getattr(t, n)((3, 2)),
        )
        case(
            fn,
            "as-Linear-init_W",
            lambda t, np, n=name: (
                t.fix_random_seed(3),
                t.Linear(3, 2, init_W=getattr(t, n)).initialize().get_param("W"),
            )[1],
        )
    case(
        "init.normal_init",
        "mean=1",
        lambda t, np: (t.fix_random_seed(0), t.normal_init(t.NumpyOps(), (3, 2), mean=1.0))[1],
    )
    case(
        "init.normal_init",
        "mean=-1",
        lambda t, np: t.normal_init(t.NumpyOps(), (3, 2), mean=-1.0),
    )
    case(
        "init.normal_init",
        "config-mean",
        lambda t, np: (
            t.fix_random_seed(0),
            t.registry.resolve(
                t.Config().from_str('[i]\n@initializers = "normal_init.v1"\nmean = 0.5\n')
            )["i"](t.NumpyOps(), (2, 2)),
        )[1],
    )
    case(
        "init.uniform_init",
        "lo>hi",
        lambda t, np: (t.fix_random_seed(0), t.uniform_init(t.NumpyOps(), (3, 2), lo=1.0, hi=-1.0))[
            1
        ],
    )
    case(
        "init.uniform_init",
        "lo=hi",
        lambda t, np: t.uniform_init(t.NumpyOps(), (3, 2), lo=0.5, hi=0.5),
    )
    case(
        "init.uniform_init",
        "config-bounds",
        lambda t, np: (
            t.fix_random_seed(0),
            t.registry.resolve(
                t.Config().from_str('[i]\n@initializers = "uniform_init.v1"\nlo = 0\nhi = 5\n')
            )["i"](t.NumpyOps(), (2, 2)),
        )[1],
    )
    case(
        "init.uniform_init",
        "inf-bounds",
        lambda t, np: t.uniform_init(t.NumpyOps(), (2,), lo=-np.inf, hi=np.inf),
    )
    case(
        "init.glorot_uniform_init",
        "config-unknown-arg",
        lambda t, np: t.registry.resolve(
            t.Config().from_str('[i]\n@initializers = "glorot_uniform_init.v1"\nscale = 2\n')
        ),
    )
    case(
        "init.registry",
        "names",
        lambda t, np: sorted(t.registry.initializers.get_all()),
    )
    case(
        "init.zero_init",
        "dtype",
        lambda t, np: t.zero_init(t.NumpyOps(), (2, 3)).dtype.str,
    )
    case(
        "init.glorot_uniform_init",
        "dtype",
        lambda t, np: t.glorot_uniform_init(t.NumpyOps(), (2, 3)).dtype.str,
    )
    case(
        "init.configure_normal_init",
        "partial",
        lambda t, np: (lambda p: (sorted(p.keywords), p.args))(t.configure_normal_init(mean=0.2)),
    )
    case(
        "init.configure_uniform_init",
        "partial",
        lambda t, np: (lambda p: (sorted(p.keywords.items()), p.args))(
            t.configure_uniform_init(lo=-1, hi=2)
        ),
    )


def register(case: Callable[..., None], floats: Callable[..., Any]) -> None:
    _register_optimizers(case)
    _register_schedules(case)
    _register_losses(case, floats)
    _register_initializers(case)
