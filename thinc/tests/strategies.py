"""Hypothesis strategies for array-shaped test data, importable by downstream
test suites (spaCy's among them) as ``thinc.tests.strategies``."""

from typing import Tuple

import numpy
from hypothesis.extra.numpy import arrays
from hypothesis.strategies import composite, floats, integers, just, tuples

from ..backends import NumpyOps


def get_ops() -> NumpyOps:
    return NumpyOps()


def lengths(lo: int = 1, hi: int = 10):
    return integers(min_value=lo, max_value=hi)


def shapes(min_rows: int = 1, max_rows: int = 100, min_cols: int = 1, max_cols: int = 100):
    return tuples(lengths(lo=min_rows, hi=max_rows), lengths(lo=min_cols, hi=max_cols))


def ndarrays_of_shape(
    shape: Tuple[int, ...],
    lo: float = -10.0,
    hi: float = 10.0,
    dtype: str = "float32",
    width: int = 32,
):
    """Arrays of a fixed shape with finite elements in [lo, hi]."""
    if numpy.dtype(dtype).kind == "i":
        elements = integers(min_value=int(lo), max_value=int(hi))
    else:
        elements = floats(
            min_value=lo, max_value=hi, width=width, allow_nan=False, allow_infinity=False
        )
    return arrays(dtype, shape=shape, elements=elements)


def ndarrays(min_len: int = 0, max_len: int = 10, min_val: float = -10.0, max_val: float = 10.0):
    """1d float32 arrays of a random length."""
    return lengths(lo=min_len, hi=max_len).flatmap(
        lambda n: ndarrays_of_shape((n,), lo=min_val, hi=max_val)
    )


def arrays_BI(min_B: int = 1, max_B: int = 10, min_I: int = 1, max_I: int = 100):
    """A batch of inputs, shape (B, I)."""
    return shapes(min_B, max_B, min_I, max_I).flatmap(ndarrays_of_shape)


def arrays_BI_BO(min_B=1, max_B=10, min_I=1, max_I=100, min_O=1, max_O=100):
    """Inputs (B, I) and outputs (B, O) of one batch size."""
    return tuples(lengths(min_B, max_B), lengths(min_I, max_I), lengths(min_O, max_O)).flatmap(
        lambda dims: tuples(
            ndarrays_of_shape((dims[0], dims[1])), ndarrays_of_shape((dims[0], dims[2]))
        )
    )


def arrays_BOP(min_B=1, max_B=10, min_O=1, max_O=100, min_P=1, max_P=5):
    """Maxout pre-activations, shape (B, O, P)."""
    return tuples(lengths(min_B, max_B), lengths(min_O, max_O), lengths(min_P, max_P)).flatmap(
        ndarrays_of_shape
    )


def arrays_BOP_BO(min_B=1, max_B=10, min_O=1, max_O=100, min_P=1, max_P=5):
    """Maxout pre-activations (B, O, P) with a gradient (B, O)."""
    return tuples(lengths(min_B, max_B), lengths(min_O, max_O), lengths(min_P, max_P)).flatmap(
        lambda dims: tuples(ndarrays_of_shape(dims), ndarrays_of_shape(dims[:2]))
    )


def arrays_OI_O_BI(min_batch=1, max_batch=16, min_out=1, max_out=16, min_in=1, max_in=16):
    """Weights (O, I), bias (O,) and inputs (B, I) for a linear layer."""
    return tuples(
        lengths(min_batch, max_batch), lengths(min_out, max_out), lengths(min_in, max_in)
    ).flatmap(
        lambda dims: tuples(
            ndarrays_of_shape((dims[1], dims[2])),
            ndarrays_of_shape((dims[1],)),
            ndarrays_of_shape((dims[0], dims[2])),
        )
    )


@composite
def arrays_OPFI_BI_lengths(draw, max_B=5, max_P=3, max_F=5, max_I=8):
    """Window-layer weights (O, P, F, I), bias (O, P), inputs (B, I) and lengths summing to B."""
    O = draw(lengths(1, 4))
    P = draw(lengths(1, max_P))
    F = draw(lengths(1, max_F))
    I = draw(lengths(1, max_I))
    B = draw(lengths(1, max_B))
    cuts = sorted(draw(tuples(*[integers(0, B) for _ in range(2)])))
    seq_lengths = numpy.diff(numpy.asarray([0, *cuts, B], dtype="int32"))
    weights = draw(ndarrays_of_shape((O, P, F, I)))
    bias = draw(ndarrays_of_shape((O, P)))
    inputs = draw(ndarrays_of_shape((B, I)))
    return weights, bias, inputs, draw(just(seq_lengths))
