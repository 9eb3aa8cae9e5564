"""Schedules: infinite generators of hyper-parameter values, one per training step.

An optimizer pulls the next value from each schedule it holds whenever
``Optimizer.step_schedules()`` is called; batchers pull batch sizes the same way."""

from typing import Iterable

import numpy

from .config import registry

__all__ = [
    "constant",
    "constant_then",
    "decaying",
    "compounding",
    "warmup_linear",
    "slanted_triangular",
    "cyclic_triangular",
]


def _clip(value: float, start: float, stop: float) -> float:
    """Bound ``value`` by ``stop``, from above or below depending on the direction
    in which the series moves from ``start``."""
    return max(value, stop) if start > stop else min(value, stop)


@registry.schedules("constant.v1")
def constant(rate: float) -> Iterable[float]:
    """Yield ``rate`` forever."""
    while True:
        yield rate


@registry.schedules("constant_then.v1")
def constant_then(rate: float, steps: int, schedule: Iterable[float]) -> Iterable[float]:
    """Yield ``rate`` for the first ``steps`` steps, then the values of ``schedule``."""
    for _ in range(steps):
        yield rate
    yield from schedule


@registry.schedules("decaying.v1")
def decaying(base_rate: float, decay: float, *, t: int = 0) -> Iterable[float]:
    """Yield ``base_rate / (1 + decay * t)`` for t = t, t + 1, t + 2, ...

    Examples:
        >>> rates = decaying(0.5, 0.01)
        >>> next(rates), next(rates)
        (0.5, 0.49504950495049505)
    """
    while True:
        yield base_rate * (1.0 / (1.0 + decay * t))
        t += 1


@registry.schedules("compounding.v1")
def compounding(start: float, stop: float, compound: float, *, t: float = 0.0) -> Iterable[float]:
    """Yield ``start``, then each previous value times ``compound``, never going
    past ``stop``. ``t`` is accepted for config compatibility and has no effect.

    Examples:
        >>> sizes = compounding(1.0, 10.0, 2.0)
        >>> [next(sizes) for _ in range(5)]
        [1.0, 2.0, 4.0, 8.0, 10.0]
    """
    current = float(start)
    while True:
        yield _clip(current, start, stop)
        current *= compound


@registry.schedules("warmup_linear.v1")
def warmup_linear(initial_rate: float, warmup_steps: int, total_steps: int) -> Iterable[float]:
    """Rise linearly from 0 to ``initial_rate`` over ``warmup_steps`` steps, then fall
    linearly to 0 at ``total_steps`` and stay there."""
    step = 0
    while True:
        if step < warmup_steps:
            factor = step / max(1, warmup_steps)
        else:
            factor = max(0.0, (total_steps - step) / max(1.0, total_steps - warmup_steps))
        yield factor * initial_rate
        step += 1


@registry.schedules("slanted_triangular.v1")
def slanted_triangular(
    max_rate: float,
    num_steps: int,
    *,
    cut_frac: float = 0.1,
    ratio: int = 32,
    decay: float = 1.0,
    t: float = 0.0,
) -> Iterable[float]:
    """Howard and Ruder's slanted triangular rate: a short linear rise over the
    first ``cut_frac`` of ``num_steps`` to ``max_rate``, then a long linear fall
    (which continues below zero past ``num_steps``). The lowest rate of the
    triangle is ``max_rate / ratio``. ``decay`` is accepted for config
    compatibility and has no effect."""
    cut = int(num_steps * cut_frac)
    if cut <= 0 or cut_frac >= 1:
        raise ValueError(
            f"slanted_triangular needs int(num_steps * cut_frac) >= 1 and cut_frac < 1, "
            f"got num_steps={num_steps}, cut_frac={cut_frac}"
        )
    return _slanted_triangular_values(max_rate, cut, cut_frac, ratio, t)


def _slanted_triangular_values(
    max_rate: float, cut: int, cut_frac: float, ratio: int, t: float
) -> Iterable[float]:
    while True:
        t += 1
        if t < cut:
            position = t / cut
        else:
            position = 1 - ((t - cut) / (cut * (1 / cut_frac - 1)))
        yield max_rate * (1 + position * (ratio - 1)) * (1 / ratio)


@registry.schedules("cyclic_triangular.v1")
def cyclic_triangular(min_lr: float, max_lr: float, period: int) -> Iterable[float]:
    """Smith's cyclical rate: from ``min_lr`` up to ``max_lr`` over ``period``
    steps, back down over the next ``period`` steps, and again. (A negative
    period gives the same triangle with its phase shifted, as in 8.3.)"""
    if period == 0:
        raise ValueError(f"cyclic_triangular needs a non-zero period, got {period}")
    return _cyclic_triangular_values(min_lr, max_lr, period)


def _cyclic_triangular_values(min_lr: float, max_lr: float, period: int) -> Iterable[float]:
    iteration = 1
    while True:
        # Same arithmetic as the published formula, so values agree to the last bit.
        cycle = numpy.floor(1 + iteration / (2 * period))
        distance = numpy.abs(iteration / period - 2 * cycle + 1)
        relative = max(0, 1 - distance)
        yield min_lr + (max_lr - min_lr) * relative
        iteration += 1
