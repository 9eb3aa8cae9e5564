"""Weight initializers: functions ``init(ops, shape) -> float32 array`` for layers.

Random draws come from numpy's global RandomState (seeded by ``fix_random_seed``),
so a seed reproduces the same weights as thinc 8.3 on any backend."""

import functools
from typing import Callable, Tuple

import numpy

from .backends.ops import Ops
from .config import registry
from .types import FloatsXd

__all__ = [
    "glorot_uniform_init",
    "glorot_normal_init",
    "he_uniform_init",
    "he_normal_init",
    "lecun_uniform_init",
    "lecun_normal_init",
    "normal_init",
    "uniform_init",
    "zero_init",
    "configure_glorot_uniform_init",
    "configure_glorot_normal_init",
    "configure_he_uniform_init",
    "configure_he_normal_init",
    "configure_lecun_uniform_init",
    "configure_lecun_normal_init",
    "configure_normal_init",
    "configure_uniform_init",
    "configure_zero_init",
]

Shape = Tuple[int, ...]
# An initializer with its options already bound: called as init(ops, shape).
InitFunction = Callable[[Ops, Shape], FloatsXd]


def _fans(shape: Shape, name: str) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight matrix laid out as (nO, nI, ...)."""
    if len(shape) < 2:
        raise IndexError(
            f"{name} needs a shape with at least 2 dimensions (nO, nI, ...), got {tuple(shape)}"
        )
    return int(shape[1]), int(shape[0])


def _from_numpy(ops: Ops, values: numpy.ndarray) -> FloatsXd:
    return ops.asarray_f(values.astype("float32"))


def glorot_uniform_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Uniform on [-s, s] with s = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(shape, "glorot_uniform_init")
    scale = numpy.sqrt(6.0 / (fan_in + fan_out))
    return _from_numpy(ops, numpy.random.uniform(-scale, scale, shape))


def glorot_normal_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Normal with mean 0 and std sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape, "glorot_normal_init")
    scale = numpy.sqrt(2.0 / (fan_in + fan_out))
    return _from_numpy(ops, numpy.random.normal(0, scale, shape))


def he_uniform_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Uniform on [-s, s] with s = sqrt(6 / fan_in) (He et al. 2015, for ReLU)."""
    fan_in, _ = _fans(shape, "he_uniform_init")
    scale = numpy.sqrt(6.0 / fan_in)
    return _from_numpy(ops, numpy.random.uniform(-scale, scale, shape))


def he_normal_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Normal with mean 0 and std sqrt(2 / fan_in)."""
    fan_in, _ = _fans(shape, "he_normal_init")
    scale = numpy.sqrt(2.0 / fan_in)
    return _from_numpy(ops, numpy.random.normal(0, scale, shape))


def lecun_uniform_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Uniform on [-s, s] with s = sqrt(3 / fan_in) (LeCun 1998, for SELU)."""
    fan_in, _ = _fans(shape, "lecun_uniform_init")
    scale = numpy.sqrt(3.0 / fan_in)
    return _from_numpy(ops, numpy.random.uniform(-scale, scale, shape))


def lecun_normal_init(ops: Ops, shape: Shape) -> FloatsXd:
    """Normal with mean 0 and std sqrt(1 / fan_in)."""
    fan_in, _ = _fans(shape, "lecun_normal_init")
    scale = numpy.sqrt(1.0 / fan_in)
    return _from_numpy(ops, numpy.random.normal(0, scale, shape))


def normal_init(ops: Ops, shape: Shape, *, mean: float = 0) -> FloatsXd:
    """Normal draws centred on 0 whose standard deviation is ``mean``.

    The option's name is historical: thinc 8.3 passes it to numpy as the scale,
    so the default gives all zeros. Kept so seeded configs reproduce their weights."""
    size = int(numpy.prod(shape, dtype="int64"))
    values = numpy.random.normal(scale=mean, size=size)
    return _from_numpy(ops, values.reshape(shape))


def uniform_init(ops: Ops, shape: Shape, *, lo: float = -0.1, hi: float = 0.1) -> FloatsXd:
    """Uniform draws on [lo, hi)."""
    return _from_numpy(ops, numpy.random.uniform(lo, hi, shape))


def zero_init(ops: Ops, shape: Shape) -> FloatsXd:
    """All zeros."""
    return ops.alloc(shape, dtype="float32")


@registry.initializers("glorot_uniform_init.v1")
def configure_glorot_uniform_init() -> InitFunction:
    return functools.partial(glorot_uniform_init)


@registry.initializers("glorot_normal_init.v1")
def configure_glorot_normal_init() -> InitFunction:
    return functools.partial(glorot_normal_init)


@registry.initializers("he_uniform_init.v1")
def configure_he_uniform_init() -> InitFunction:
    return functools.partial(he_uniform_init)


@registry.initializers("he_normal_init.v1")
def configure_he_normal_init() -> InitFunction:
    return functools.partial(he_normal_init)


@registry.initializers("lecun_uniform_init.v1")
def configure_lecun_uniform_init() -> InitFunction:
    return functools.partial(lecun_uniform_init)


@registry.initializers("lecun_normal_init.v1")
def configure_lecun_normal_init() -> InitFunction:
    return functools.partial(lecun_normal_init)


@registry.initializers("normal_init.v1")
def configure_normal_init(*, mean: float = 0) -> InitFunction:
    return functools.partial(normal_init, mean=mean)


@registry.initializers("uniform_init.v1")
def configure_uniform_init(*, lo: float = -0.1, hi: float = 0.1) -> InitFunction:
    return functools.partial(uniform_init, lo=lo, hi=hi)


@registry.initializers("zero_init.v1")
def configure_zero_init() -> InitFunction:
    return functools.partial(zero_init)
