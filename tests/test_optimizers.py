"""Tests for thinc.optimizers: each update rule against the same math written out
in plain numpy, several steps against thinc 8.3.14's numbers, schedules, and errors."""

import json
import math
import subprocess

import numpy
import pytest

from thinc.config import Config, registry
from thinc.optimizers import ADAM_DEFAULTS, SGD, SGD_DEFAULTS, Adam, Optimizer, RAdam
from thinc.schedules import decaying, warmup_linear

from .util import require_ref_thinc

KEY = (1, "W")


def clip(gradient, threshold):
    norm = numpy.linalg.norm(gradient)
    return gradient * (threshold / norm) if threshold and norm >= threshold else gradient


def average_step(average, weights, step):
    decay = min((1.0 + step) / (10.0 + step), 0.9999)
    return average - (1 - decay) * (average - weights)


def make_arrays(seed=0, shape=(2, 3), scale=1.0):
    rng = numpy.random.default_rng(seed)
    weights = rng.uniform(-1, 1, shape).astype("f")
    gradients = [rng.uniform(-1, 1, shape).astype("f") * scale for _ in range(6)]
    return weights, gradients


# --- Update rules written out -------------------------------------------------


@pytest.mark.parametrize("grad_clip", [0.0, 0.5, 10.0])
@pytest.mark.parametrize("lr_scale", [1.0, 0.25])
def test_sgd_steps_by_hand(grad_clip, lr_scale):
    weights, gradients = make_arrays()
    optimizer = SGD(0.1, grad_clip=grad_clip)
    expected = weights.astype("f8")
    average = numpy.zeros_like(expected)
    for step, gradient in enumerate(gradients[:3], start=1):
        expected = expected - lr_scale * 0.1 * clip(gradient.astype("f8"), grad_clip)
        average = average_step(average, expected, step)
        gradient_in = gradient.copy()
        new_weights, new_gradient = optimizer(KEY, weights, gradient_in, lr_scale=lr_scale)
        # SGD updates the caller's arrays themselves.
        assert new_weights is weights
        assert not new_gradient.any() and not gradient_in.any()
        numpy.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(optimizer.averages[KEY], average, rtol=1e-5, atol=1e-6)
    assert optimizer.nr_update[KEY] == 3


def test_l2_penalty_and_weight_decay_by_hand():
    weights, gradients = make_arrays(seed=1)
    decayed = SGD(0.1, L2=0.05, grad_clip=0.0, use_averages=False)
    penalised = SGD(0.1, L2=0.05, grad_clip=0.0, L2_is_weight_decay=False, use_averages=False)
    w_decay, w_penalty = weights.copy(), weights.copy()
    expected = weights.astype("f8")
    decayed(KEY, w_decay, gradients[0].copy())
    penalised(KEY, w_penalty, gradients[0].copy())
    # Weight decay shrinks the weights after the step...
    stepped = expected - 0.1 * gradients[0]
    numpy.testing.assert_allclose(w_decay, stepped - 0.1 * 0.05 * stepped, rtol=1e-5, atol=1e-6)
    # ...an L2 penalty adds L2 * weights to the gradient before it.
    numpy.testing.assert_allclose(
        w_penalty, expected - 0.1 * (gradients[0] + 0.05 * expected), rtol=1e-5, atol=1e-6
    )
    assert decayed.averages is None


def adam_by_hand(
    weights, gradients, *, learn_rate, beta1=0.9, beta2=0.999, eps=1e-8, grad_clip=1.0, lr_scale=1.0
):
    weights = weights.astype("f8")
    mom1 = numpy.zeros_like(weights)
    mom2 = numpy.zeros_like(weights)
    for step, gradient in enumerate(gradients, start=1):
        gradient = clip(gradient.astype("f8"), grad_clip)
        mom1 = beta1 * mom1 + (1 - beta1) * gradient
        mom2 = beta2 * mom2 + (1 - beta2) * gradient**2
        corrected_rate = learn_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        weights = weights - lr_scale * corrected_rate * mom1 / (numpy.sqrt(mom2) + eps)
    return weights, mom1, mom2


@pytest.mark.parametrize("lr_scale", [1.0, 0.5])
def test_adam_steps_by_hand(lr_scale):
    weights, gradients = make_arrays(seed=2, shape=(3, 2, 2), scale=3.0)
    optimizer = Adam(0.01, beta1=0.8, beta2=0.99)
    expected, mom1, mom2 = adam_by_hand(
        weights, gradients, learn_rate=0.01, beta1=0.8, beta2=0.99, lr_scale=lr_scale
    )
    for gradient in gradients:
        weights, gradient = optimizer(KEY, weights, gradient.copy(), lr_scale=lr_scale)
        assert weights.shape == (3, 2, 2) and not gradient.any()
    # The compiled kernel rounds its constants to float32, hence the tolerance.
    numpy.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-6)
    numpy.testing.assert_allclose(optimizer.mom1[KEY], mom1.ravel(), rtol=1e-4, atol=1e-7)
    numpy.testing.assert_allclose(optimizer.mom2[KEY], mom2.ravel(), rtol=1e-4, atol=1e-9)


def radam_by_hand(
    weights, gradients, *, learn_rate, beta1=0.9, beta2=0.999, eps=1e-8, grad_clip=1.0
):
    weights = weights.astype("f8")
    mom1 = numpy.zeros_like(weights)
    mom2 = numpy.zeros_like(weights)
    max_length = 2 / (1 - beta2) - 1
    for update, gradient in enumerate(gradients, start=1):
        step = update + 1  # thinc 8.3 counts RAdam's steps from 2
        gradient = clip(gradient.astype("f8"), grad_clip)
        mom2 = beta2 * mom2 + (1 - beta2) * gradient**2
        mom1 = beta1 * mom1 + (1 - beta1) * gradient
        length = max_length - 2 * step * beta2**step / (1 - beta2**step)
        if length >= 5:
            rectifier = math.sqrt(
                (1 - beta2**step)
                * (length - 4)
                / (max_length - 4)
                * (length - 2)
                / length
                * max_length
                / (max_length - 2)
            )
            weights = weights - learn_rate * rectifier / (1 - beta1**step) * mom1 / (
                numpy.sqrt(mom2) + eps
            )
        else:
            weights = weights - learn_rate / (1 - beta1**step) * mom1
    return weights


@pytest.mark.parametrize("beta2", [0.999, 0.8])
def test_radam_steps_by_hand(beta2):
    # beta2=0.8 reaches the rectified regime within a few steps; 0.999 does not.
    weights, gradients = make_arrays(seed=3, shape=(4, 3))
    optimizer = RAdam(0.05, beta2=beta2)
    expected = radam_by_hand(weights, gradients, learn_rate=0.05, beta2=beta2)
    for gradient in gradients:
        # lr_scale has no effect on RAdam in thinc 8.3.
        weights, gradient = optimizer(KEY, weights, gradient.copy(), lr_scale=0.1)
        assert not gradient.any()
    numpy.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)


def test_keys_have_separate_state():
    weights, gradients = make_arrays(seed=4)
    optimizer = Adam(0.1)
    first, second = weights.copy(), weights.copy()
    optimizer((1, "W"), first, gradients[0].copy())
    optimizer((1, "W"), first, gradients[1].copy())
    optimizer((2, "W"), second, gradients[1].copy())
    assert optimizer.nr_update[(1, "W")] == 2 and optimizer.nr_update[(2, "W")] == 1
    expected, _, _ = adam_by_hand(weights, [gradients[1]], learn_rate=0.1)
    numpy.testing.assert_allclose(second, expected, rtol=1e-4, atol=1e-6)
    assert set(optimizer.averages) == {(1, "W"), (2, "W")}


@pytest.mark.parametrize("kind", ["numpy", "reference", "override", "instance", "strided"])
def test_adam_hands_the_gradient_back_zeroed(kind):
    # NumpyOps' own adam zeroes the gradient and the optimizer skips its own
    # zeroing pass then; after any other adam (Ops', a subclass's or an
    # instance's override, which leave it as it was) the optimizer zeroes it.
    # A Fortran-ordered gradient is stepped through a C-ordered copy, which is
    # what comes back (as in thinc 8.3).
    import thinc.optimizers as optimizers
    from thinc.api import NumpyOps, Ops

    weights, gradients = make_arrays(seed=6, shape=(4, 6))
    gradient = gradients[0].copy()
    if kind == "strided":
        gradient = numpy.asfortranarray(gradient)
    ops = Ops() if kind == "reference" else NumpyOps()
    if kind == "override":

        class KeepsGradient(NumpyOps):
            def adam(self, *args, **kwargs):
                return Ops.adam(self, *args, **kwargs)

        ops = KeepsGradient()
    elif kind == "instance":
        ops.adam = lambda *args, **kwargs: Ops.adam(ops, *args, **kwargs)
    optimizer = Adam(0.1)
    expected, _, _ = adam_by_hand(weights, [gradients[0]], learn_rate=0.1)
    real_get_ops = optimizers.get_array_ops
    optimizers.get_array_ops = lambda array: ops
    try:
        new_weights, new_gradient = optimizer(KEY, weights, gradient)
    finally:
        optimizers.get_array_ops = real_get_ops
    if kind != "strided":
        assert numpy.shares_memory(new_gradient, gradient)
    numpy.testing.assert_array_equal(new_gradient, numpy.zeros_like(gradient))
    numpy.testing.assert_allclose(new_weights, expected, rtol=1e-4, atol=1e-6)


def test_empty_gradient_is_a_no_op():
    optimizer = Adam(0.1)
    weights = numpy.zeros((0, 3), dtype="f")
    gradient = numpy.zeros((0, 3), dtype="f")
    assert optimizer(KEY, weights, gradient) == (weights, gradient)
    assert KEY not in optimizer.nr_update and optimizer.averages == {}


# --- Hyper-parameters and schedules ------------------------------------------


def test_defaults_match_thinc():
    assert ADAM_DEFAULTS == {
        "learn_rate": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-08,
        "L2": 0.0,
        "grad_clip": 1.0,
        "L2_is_weight_decay": True,
    }
    assert SGD_DEFAULTS == {"L2": 0.0, "L2_is_weight_decay": True, "grad_clip": 1.0}
    adam = Adam()
    assert (adam.learn_rate, adam.b1, adam.b2, adam.eps, adam.L2, adam.grad_clip) == (
        0.001,
        0.9,
        0.999,
        1e-8,
        0.0,
        1.0,
    )
    assert adam.use_radam is False and adam.L2_is_weight_decay is True and adam.averages == {}
    sgd = SGD(0.5, use_averages=False)
    assert (sgd.b1, sgd.b2, sgd.averages) == (0.0, 0.0, None)
    assert RAdam().use_radam is True
    with pytest.raises(AttributeError):
        adam.something_else = 1  # __slots__, as in thinc


def test_schedules_advance_on_step_schedules():
    optimizer = Adam(decaying(0.1, 0.5), beta1=[0.9, 0.8], grad_clip=(1.0, 2.0, 3.0))
    assert (optimizer.learn_rate, optimizer.b1, optimizer.grad_clip) == (0.1, 0.9, 1.0)
    assert set(optimizer.schedules) == {"learn_rate", "b1", "grad_clip"}
    optimizer.step_schedules()
    assert (optimizer.learn_rate, optimizer.b1, optimizer.grad_clip) == (0.1 / 1.5, 0.8, 2.0)
    optimizer.step_schedules()
    optimizer.step_schedules()
    # A finished schedule keeps its last value.
    assert (optimizer.b1, optimizer.grad_clip) == (0.8, 3.0)
    assert optimizer.learn_rate == pytest.approx(0.1 / 2.5)


@pytest.mark.parametrize("value", ["0.1", None, [], object()])
def test_invalid_schedules(value):
    with pytest.raises(ValueError, match="Invalid schedule for 'learn_rate'"):
        SGD(value)


def test_numbers_of_any_kind_are_accepted():
    assert SGD(1).learn_rate == 1
    assert SGD(numpy.float64(0.1)).learn_rate == 0.1
    assert SGD(numpy.float32(0.5)).learn_rate == 0.5


def test_bad_shapes_and_unsupported_betas():
    with pytest.raises(ValueError, match=r"\(3,\) vs \(4,\)"):
        Adam(0.1)(KEY, numpy.zeros((3,), dtype="f"), numpy.zeros((4,), dtype="f"))
    with pytest.raises(NotImplementedError):
        Optimizer(0.1, beta1=0.0, beta2=0.9)(
            KEY, numpy.ones((2,), dtype="f"), numpy.ones((2,), dtype="f")
        )


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: Adam(0.1), lambda: RAdam(0.1)])
def test_params_that_are_not_arrays_are_refused_with_a_value_error(make):
    # As thinc 8.3 (get_array_module's ValueError), not an AttributeError from
    # touching the list's shape.
    with pytest.raises(ValueError, match="numpy or cupy array"):
        make()(KEY, [1.0, 2.0], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\(2,\) vs list"):
        make()(KEY, numpy.ones((2,), dtype="f"), [0.1, 0.2])


def test_resolve_from_config():
    config = Config().from_str(
        """
        [optimizer]
        @optimizers = "Adam.v1"
        beta1 = 0.8
        L2 = 0.01
        L2_is_weight_decay = false
        use_averages = false

        [optimizer.learn_rate]
        @schedules = "warmup_linear.v1"
        initial_rate = 0.01
        warmup_steps = 2
        total_steps = 10

        [sgd]
        @optimizers = "SGD.v1"
        learn_rate = [0.1, 0.2]
        grad_clip = 0.0

        [radam]
        @optimizers = "RAdam.v1"
        """
    )
    resolved = registry.resolve(config)
    adam = resolved["optimizer"]
    assert isinstance(adam, Optimizer)
    assert (adam.learn_rate, adam.b1, adam.L2, adam.L2_is_weight_decay, adam.averages) == (
        0.0,
        0.8,
        0.01,
        False,
        None,
    )
    adam.step_schedules()
    assert adam.learn_rate == 0.005
    sgd = resolved["sgd"]
    assert (sgd.learn_rate, sgd.grad_clip) == (0.1, 0.0)
    sgd.step_schedules()
    assert sgd.learn_rate == 0.2
    assert resolved["radam"].use_radam is True
    for name, factory in [("Adam.v1", Adam), ("RAdam.v1", RAdam), ("SGD.v1", SGD)]:
        assert registry.optimizers.get(name) is factory


# --- Against thinc 8.3.14 ----------------------------------------------------

# The same steps as _RUNNER below, run by thinc 8.3.14: final weights, then averages.
THINC_NUMBERS = {
    "sgd L2": (
        lambda: SGD(0.1, L2=0.01, L2_is_weight_decay=False),
        3,
        False,
        [
            0.23240837454795837,
            -0.40720295906066895,
            -0.9276005029678345,
            -0.926633358001709,
            0.5603305697441101,
            0.8324869871139526,
        ],
        [
            0.22968806326389313,
            -0.40621477365493774,
            -0.9186508059501648,
            -0.9209306240081787,
            0.5575322508811951,
            0.823157012462616,
        ],
    ),
    "sgd clip sched": (
        lambda: SGD(0.1, grad_clip=[0.1, 0.5, 1.0]),
        3,
        True,
        [
            0.25816768407821655,
            -0.43106815218925476,
            -0.9141369462013245,
            -0.9372004866600037,
            0.5928905606269836,
            0.8234333992004395,
        ],
        [
            0.25361326336860657,
            -0.4277867376804352,
            -0.9059876203536987,
            -0.9297857880592346,
            0.5880350470542908,
            0.8138095736503601,
        ],
    ),
    "adam": (
        lambda: Adam(0.1),
        6,
        False,
        [
            -0.11633910238742828,
            -0.34412941336631775,
            -1.2655876874923706,
            -1.0268622636795044,
            0.13354800641536713,
            0.9763177037239075,
        ],
        [
            -0.08152396976947784,
            -0.35475853085517883,
            -1.228176236152649,
            -1.018637776374817,
            0.18377578258514404,
            0.9660926461219788,
        ],
    ),
    "adam L2 noWD": (
        lambda: Adam(0.1, L2=0.01, L2_is_weight_decay=False),
        3,
        False,
        [
            0.04270440340042114,
            -0.4436659812927246,
            -1.1060694456100464,
            -0.9690874218940735,
            0.35779237747192383,
            0.9811990857124329,
        ],
        [
            0.06200215220451355,
            -0.4570494294166565,
            -1.0823613405227661,
            -0.9741217494010925,
            0.38154110312461853,
            0.9613361358642578,
        ],
    ),
    "adam warmup": (
        lambda: Adam(warmup_linear(0.1, 2, 6)),
        6,
        True,
        [
            0.10097380727529526,
            -0.31074297428131104,
            -1.0493192672729492,
            -0.9252179861068726,
            0.38812655210494995,
            0.8445188999176025,
        ],
        [
            0.11455222964286804,
            -0.31793448328971863,
            -1.0356411933898926,
            -0.921562671661377,
            0.4072049856185913,
            0.8425540328025818,
        ],
    ),
    "adam beta sched": (
        lambda: Adam(0.1, beta1=[0.9, 0.8], beta2=decaying(0.999, 0.01)),
        4,
        True,
        [
            -0.05147670954465866,
            -0.3159274458885193,
            -1.176300287246704,
            -0.9425485730171204,
            0.22849375009536743,
            0.8492034673690796,
        ],
        [
            -0.013904117047786713,
            -0.35697150230407715,
            -1.1440727710723877,
            -0.9383910894393921,
            0.27924874424934387,
            0.8730309009552002,
        ],
    ),
    "radam": (
        lambda: RAdam(0.1),
        12,
        False,
        [
            0.2323923408985138,
            -0.4190499782562256,
            -0.9615471363067627,
            -0.9649266004562378,
            0.5480093359947205,
            0.8451977372169495,
        ],
        [
            0.23063021898269653,
            -0.41843023896217346,
            -0.9605967402458191,
            -0.9649717807769775,
            0.5501148700714111,
            0.8452576994895935,
        ],
    ),
    "radam L2": (
        lambda: RAdam(0.1, L2=0.01),
        8,
        False,
        [
            0.2255788892507553,
            -0.41478750109672546,
            -0.9502538442611694,
            -0.9568908214569092,
            0.549846887588501,
            0.8354058265686035,
        ],
        [
            0.2264217734336853,
            -0.4149250388145447,
            -0.9487361311912537,
            -0.9574165344238281,
            0.5527831315994263,
            0.8347113132476807,
        ],
    ),
}


def run_steps(optimizer, steps, step_schedules, keys=(KEY,), shape=(2, 3)):
    """Alternate small and large random gradients, so clipping matters on some steps."""
    rng = numpy.random.default_rng(0)
    weights = {key: rng.uniform(-1, 1, shape).astype("f") for key in keys}
    for step in range(steps):
        for key in keys:
            gradient = rng.uniform(-1, 1, shape).astype("f") * (3 if step % 2 else 0.2)
            weights[key], _ = optimizer(key, weights[key], gradient)
        if step_schedules:
            optimizer.step_schedules()
    return weights


@pytest.mark.parametrize("name", list(THINC_NUMBERS))
def test_steps_match_thinc_numbers(name):
    make, steps, step_schedules, expected_weights, expected_averages = THINC_NUMBERS[name]
    optimizer = make()
    weights = run_steps(optimizer, steps, step_schedules)[KEY]
    # Adam's kernel works in float32 like thinc's; allow for rounding in its order.
    rtol = 2e-5 if name.startswith("adam") else 1e-6
    numpy.testing.assert_allclose(weights.ravel(), expected_weights, rtol=rtol, atol=1e-7)
    numpy.testing.assert_allclose(
        optimizer.averages[KEY].ravel(), expected_averages, rtol=rtol, atol=1e-7
    )


_RUNNER = """
import json, sys
import numpy
from thinc.optimizers import SGD, Adam, RAdam
from thinc.schedules import decaying
keys = [(1, "W"), (2, "b")]
out = {}
for name, make in [
    ("sgd", lambda: SGD(0.05, L2=0.01)),
    ("adam", lambda: Adam(0.02, L2=0.001, grad_clip=2.0)),
    ("adam sched", lambda: Adam(decaying(0.05, 0.3), beta2=[0.99, 0.999], grad_clip=0.0)),
    ("radam", lambda: RAdam(0.05, beta2=0.9)),
]:
    optimizer = make()
    rng = numpy.random.default_rng(5)
    weights = {key: rng.uniform(-1, 1, (3, 5)).astype("f") for key in keys}
    for step in range(7):
        for key in keys:
            gradient = rng.uniform(-1, 1, (3, 5)).astype("f") * (2 if step % 3 else 0.1)
            weights[key], _ = optimizer(key, weights[key], gradient)
        optimizer.step_schedules()
    out[name] = [
        [weights[key].ravel().tolist(), optimizer.averages[key].ravel().tolist()] for key in keys
    ]
print(json.dumps(out))
"""


@pytest.mark.ref
def test_steps_match_thinc_oracle(tmp_path):
    ref_python = require_ref_thinc()
    result = subprocess.run(
        [str(ref_python), "-c", _RUNNER], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    expected = json.loads(result.stdout)
    namespace: dict = {}
    exec(_RUNNER.replace("print(json.dumps(out))", ""), namespace)
    ours = namespace["out"]
    for name, per_key in expected.items():
        rtol = 2e-5 if name.startswith("adam") else 1e-6
        for (ref_weights, ref_averages), (weights, averages) in zip(per_key, ours[name]):
            numpy.testing.assert_allclose(weights, ref_weights, rtol=rtol, atol=1e-7, err_msg=name)
            numpy.testing.assert_allclose(
                averages, ref_averages, rtol=rtol, atol=1e-7, err_msg=name
            )
