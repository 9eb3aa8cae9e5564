"""Optimizers: update a parameter array in place from its gradient (SGD, Adam, RAdam),
with optional L2 penalty or weight decay, gradient clipping and parameter averaging."""

import math
import numbers
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple, Union, cast

from .backends import get_array_ops
from .backends.numpy_ops import NumpyOps, adam_consumes
from .config import registry
from .types import FloatsXd, Generator
from .util import get_array_module

__all__ = ["Optimizer", "Adam", "RAdam", "SGD", "ADAM_DEFAULTS", "SGD_DEFAULTS"]

KeyT = Tuple[int, str]
# A hyper-parameter is a number, or a schedule: a list or an iterator of numbers,
# advanced one value per Optimizer.step_schedules().
FloatOrSeq = Union[float, List[float], Generator]
IntOrSeq = Union[int, List[int], Generator]

ADAM_DEFAULTS: Dict[str, Union[float, int, bool]] = {
    "learn_rate": 0.001,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-08,
    "L2": 0.0,
    "grad_clip": 1.0,
    "L2_is_weight_decay": True,
}

SGD_DEFAULTS: Dict[str, Union[float, int, bool]] = {
    "L2": 0.0,
    "L2_is_weight_decay": True,
    "grad_clip": 1.0,
}


@registry.optimizers("RAdam.v1")
def RAdam(
    learn_rate: FloatOrSeq = ADAM_DEFAULTS["learn_rate"],
    *,
    beta1: FloatOrSeq = ADAM_DEFAULTS["beta1"],
    beta2: FloatOrSeq = ADAM_DEFAULTS["beta2"],
    eps: FloatOrSeq = ADAM_DEFAULTS["eps"],
    L2: FloatOrSeq = ADAM_DEFAULTS["L2"],
    L2_is_weight_decay: bool = cast(bool, ADAM_DEFAULTS["L2_is_weight_decay"]),
    grad_clip: FloatOrSeq = ADAM_DEFAULTS["grad_clip"],
    use_averages: bool = True,
) -> "Optimizer":
    """Rectified Adam (Liu et al. 2019): Adam whose step is damped while the
    second-moment estimate is still unreliable."""
    return Optimizer(
        learn_rate,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        L2=L2,
        use_averages=use_averages,
        use_radam=True,
    )


@registry.optimizers("Adam.v1")
def Adam(
    learn_rate: FloatOrSeq = ADAM_DEFAULTS["learn_rate"],
    *,
    L2: FloatOrSeq = ADAM_DEFAULTS["L2"],
    beta1: FloatOrSeq = ADAM_DEFAULTS["beta1"],
    beta2: FloatOrSeq = ADAM_DEFAULTS["beta2"],
    eps: FloatOrSeq = ADAM_DEFAULTS["eps"],
    grad_clip: FloatOrSeq = ADAM_DEFAULTS["grad_clip"],
    L2_is_weight_decay: bool = cast(bool, ADAM_DEFAULTS["L2_is_weight_decay"]),
    use_averages: bool = True,
) -> "Optimizer":
    """Adam (Kingma and Ba 2014); with L2_is_weight_decay, AdamW's decoupled decay."""
    return Optimizer(
        learn_rate,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
        use_radam=False,
    )


@registry.optimizers("SGD.v1")
def SGD(
    learn_rate: FloatOrSeq,
    *,
    L2: FloatOrSeq = SGD_DEFAULTS["L2"],
    grad_clip: FloatOrSeq = SGD_DEFAULTS["grad_clip"],
    L2_is_weight_decay: bool = cast(bool, SGD_DEFAULTS["L2_is_weight_decay"]),
    use_averages: bool = True,
) -> "Optimizer":
    """Plain stochastic gradient descent, without momentum."""
    return Optimizer(
        learn_rate,
        L2=L2,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        beta1=0.0,
        beta2=0.0,
        use_averages=use_averages,
    )


def _adam_consumes(ops: Any, gradient: FloatsXd) -> bool:
    """Whether ops.adam will hand `gradient` back zeroed: NumpyOps' own adam (not
    a subclass's override, nor an instance attribute) does for any writable numpy
    gradient, so the optimizer's own zeroing pass would only rewrite zeros (a
    pass over every parameter, 4% of a tagger's training step)."""
    return (
        getattr(type(ops), "adam", None) is NumpyOps.adam
        and "adam" not in getattr(ops, "__dict__", {})
        and adam_consumes(gradient)
    )


class Optimizer:
    """Stochastic gradient descent with optional first- and second-moment
    estimates: plain SGD (both betas 0), Adam, or RAdam (``use_radam``).

    Call it once per parameter and step: ``optimizer(key, weights, gradient)``
    updates ``weights`` in place, zeroes ``gradient`` and returns both. Each key
    (usually ``(model.id, param_name)``) has its own moments, step count and,
    with ``use_averages``, a running average of its values in ``averages``."""

    mom1: Dict[KeyT, FloatsXd]
    mom2: Dict[KeyT, FloatsXd]
    averages: Optional[Dict[KeyT, FloatsXd]]
    schedules: Dict[str, Generator]
    nr_update: Dict[KeyT, int]
    last_seen: Dict[KeyT, int]
    grad_clip: float
    learn_rate: float
    b1: float
    b2: float
    eps: float
    L2: float
    use_radam: bool
    L2_is_weight_decay: bool
    _radam_buffer: List[List[Optional[float]]]

    __slots__ = [
        "mom1",
        "mom2",
        "averages",
        "schedules",
        "nr_update",
        "last_seen",
        "grad_clip",
        "learn_rate",
        "b1",
        "b2",
        "eps",
        "L2",
        "use_radam",
        "L2_is_weight_decay",
        "_radam_buffer",
    ]

    def __init__(
        self,
        learn_rate: FloatOrSeq,
        *,
        L2: FloatOrSeq = ADAM_DEFAULTS["L2"],
        beta1: FloatOrSeq = ADAM_DEFAULTS["beta1"],
        beta2: FloatOrSeq = ADAM_DEFAULTS["beta2"],
        eps: FloatOrSeq = ADAM_DEFAULTS["eps"],
        grad_clip: FloatOrSeq = ADAM_DEFAULTS["grad_clip"],
        use_averages: bool = True,
        use_radam: bool = False,
        L2_is_weight_decay: bool = True,
    ):
        self.mom1 = {}
        self.mom2 = {}
        self.averages = {} if use_averages else None
        self.schedules = {}
        self.nr_update = defaultdict(int)
        self.last_seen = defaultdict(int)
        self._set_attr_or_schedule("grad_clip", grad_clip)
        self._set_attr_or_schedule("learn_rate", learn_rate)
        self._set_attr_or_schedule("b1", beta1)
        self._set_attr_or_schedule("b2", beta2)
        self._set_attr_or_schedule("eps", eps)
        self._set_attr_or_schedule("L2", L2)
        self.use_radam = use_radam
        self.L2_is_weight_decay = L2_is_weight_decay
        # RAdam's per-step constants, cached by step number modulo 10.
        self._radam_buffer = [[None, None, None] for _ in range(10)]

    def _set_attr_or_schedule(self, name: str, value: Any) -> None:
        """Set hyper-parameter ``name`` to a number, or to the first value of a
        schedule (a list or iterator), which step_schedules() then advances."""
        if isinstance(value, numbers.Real):
            setattr(self, name, value)
            return
        if isinstance(value, (list, tuple)):
            value = iter(value)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__next__"):
            raise ValueError(
                f"Invalid schedule for '{name}' ({type(value)}): expected a number, "
                "a list of numbers or an iterator of numbers"
            )
        try:
            first = next(value)
        except StopIteration:
            raise ValueError(
                f"Invalid schedule for '{name}' ({type(value)}): it yields no values"
            ) from None
        self.schedules[name] = value
        setattr(self, name, first)

    def step_schedules(self) -> None:
        """Move every scheduled hyper-parameter to its schedule's next value; a
        finished schedule keeps its last value."""
        for name, schedule in self.schedules.items():
            try:
                value = next(schedule)
            except StopIteration:
                value = getattr(self, name)
            setattr(self, name, value)

    def __call__(
        self,
        key: KeyT,
        weights: FloatsXd,
        gradient: FloatsXd,
        *,
        lr_scale: float = 1.0,
    ) -> Tuple[FloatsXd, FloatsXd]:
        """Update ``weights`` in place from ``gradient``, which is zeroed; returns
        both (arrays of the same shape, sharing their memory)."""
        if len(gradient) < 1:
            return weights, gradient
        # First: get_array_module refuses what is not an array (a list, say) with a
        # ValueError, as thinc 8.3's optimizer did.
        get_array_module(weights)
        ops = get_array_ops(weights)
        gradient_shape = getattr(gradient, "shape", None)
        if weights.shape != gradient_shape:
            shown = type(gradient).__name__ if gradient_shape is None else tuple(gradient_shape)
            raise ValueError(
                f"Optimizer got weights and gradient of different shapes for {key}: "
                f"{tuple(weights.shape)} vs {shown}"
            )
        self.nr_update[key] += 1
        nr_upd = self.nr_update[key]
        if self.L2 != 0 and not self.L2_is_weight_decay:
            gradient += self.L2 * weights
        if self.grad_clip:
            gradient = ops.clip_gradient(gradient, self.grad_clip)
        # Whether the step handed the gradient back zeroed already (NumpyOps' own
        # adam does, as 8.3's did): then the zeroing pass below is skipped.
        consumed = False
        if self.use_radam:
            weights, gradient = self._radam(ops, weights, gradient, lr_scale, key, nr_upd)
        elif self.b1 > 0.0 and self.b2 > 0.0:
            consumed = _adam_consumes(ops, gradient)
            weights, gradient = self._adam(ops, weights, gradient, lr_scale, key, nr_upd)
        elif self.b2 > 0.0:
            raise NotImplementedError(
                "An optimizer with beta2 > 0 but beta1 == 0 (RMSProp-style) is not supported"
            )
        else:
            weights -= lr_scale * self.learn_rate * gradient
        if not consumed:
            gradient *= 0
        if self.L2 != 0 and self.L2_is_weight_decay:
            # Decoupled weight decay, applied after the step (Loshchilov and Hutter).
            weights -= lr_scale * self.learn_rate * self.L2 * weights
        if self.averages is not None:
            if key not in self.averages:
                self.averages[key] = ops.alloc(weights.shape, dtype="float32")
            ops.update_averages(self.averages[key], weights, nr_upd)
        return weights, gradient

    def _moments(self, ops, key: KeyT, size: int) -> Tuple[FloatsXd, FloatsXd]:
        if key not in self.mom1:
            self.mom1[key] = ops.alloc1f(size)
        if key not in self.mom2:
            self.mom2[key] = ops.alloc1f(size)
        return self.mom1[key], self.mom2[key]

    def _adam(self, ops, weights, gradient, lr_scale: float, key: KeyT, nr_upd: int):
        weights_1d = ops.reshape1f(weights, weights.size)
        gradient_1d = ops.reshape1f(gradient, gradient.size)
        mom1, mom2 = self._moments(ops, key, weights.size)
        b1 = self.b1
        b2 = self.b2
        # Bias correction of both moments folded into the step size.
        fix1 = 1.0 - (b1**nr_upd)
        fix2 = 1.0 - (b2**nr_upd)
        learn_rate = self.learn_rate * fix2**0.5 / fix1
        weights_1d, gradient_1d, mom1, mom2 = ops.adam(
            weights_1d, gradient_1d, mom1, mom2, b1, b2, self.eps, learn_rate * lr_scale
        )
        self.mom1[key] = mom1
        self.mom2[key] = mom2
        return (
            ops.reshape_f(weights_1d, weights.shape),
            ops.reshape_f(gradient_1d, gradient.shape),
        )

    def _radam(self, ops, weights, gradient, lr_scale: float, key: KeyT, nr_upd: int):
        # lr_scale is not applied here: thinc 8.3's RAdam ignores it, and configs
        # trained with it must keep taking the same steps.
        weights_1d = ops.reshape1f(weights, weights.size)
        gradient_1d = ops.reshape1f(gradient, gradient.size)
        exp_avg, exp_avg_sq = self._moments(ops, key, weights.size)
        beta1 = self.b1
        beta2 = self.b2
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (gradient_1d**2)
        exp_avg *= beta1
        exp_avg += (1 - beta1) * gradient_1d
        # The step count is one ahead of nr_update, as in thinc 8.3.
        step = nr_upd + 1
        n_sma, step_size = self._radam_step_size(step, beta1, beta2)
        if n_sma >= 5:
            denominator = ops.xp.sqrt(exp_avg_sq) + self.eps
            weights_1d += -step_size * self.learn_rate * (exp_avg / denominator)
        elif step_size > 0:
            weights_1d += -step_size * self.learn_rate * exp_avg
        return (
            ops.reshape_f(weights_1d, weights.shape),
            ops.reshape_f(gradient_1d, gradient.shape),
        )

    def _radam_step_size(self, step: int, beta1: float, beta2: float) -> Tuple[float, float]:
        """The length of the approximated SMA and the step size for this step."""
        cached = self._radam_buffer[int(step % 10)]
        if cached[0] == step:
            return cast(float, cached[1]), cast(float, cached[2])
        beta2_t = beta2**step
        n_sma_max = 2 / (1 - beta2) - 1
        n_sma = n_sma_max - 2 * step * beta2_t / (1 - beta2_t)
        if n_sma >= 5:
            # The variance rectification term of the RAdam paper.
            step_size = math.sqrt(
                (1 - beta2_t)
                * (n_sma - 4)
                / (n_sma_max - 4)
                * (n_sma - 2)
                / n_sma
                * n_sma_max
                / (n_sma_max - 2)
            ) / (1 - beta1**step)
        else:
            # Too early to trust the variance: an SGD-with-momentum step.
            step_size = 1.0 / (1 - beta1**step)
        cached[0] = step
        cached[1] = n_sma
        cached[2] = step_size
        return n_sma, step_size
