"""The hand-written AVX-512 bodies of sigmoid, swish and swish's gradient
(include/thinc_math_avx512.hh) give the same bits as gcc's AVX-512 code of
the scalar rows they replaced, over a sweep of float32 values, at every
length and misaligned start, serial and split over threads. Their agreement
with the reference Ops at every level is in test_elementwise_table.py."""

import numpy
import pytest

from thinc.backends import _testing, dispatch
from thinc.backends.numpy_ops import NumpyOps

OPS = NumpyOps()

pytestmark = pytest.mark.skipif(
    "avx512" not in dispatch.available_isas(),
    reason=f"needs AVX-512 (F, BW, DQ, VL); this CPU's widest level is {dispatch.cpu_isa()}",
)


def float_sweep() -> numpy.ndarray:
    """Every 61st float32 bit pattern from -40 to 40 (about 35 million values:
    sigmoid's clamp at +-20 and exp's at +-88 from both sides, the tiny and
    subnormal values around zero), then the specials and the largest floats."""
    top = numpy.array(40.0, dtype="f4").view("i4")
    positive = numpy.arange(0, int(top), 61, dtype="i4").view("f4")
    specials = numpy.array(
        [
            numpy.nan,
            -numpy.nan,
            numpy.inf,
            -numpy.inf,
            0.0,
            -0.0,
            20.0,
            -20.0,
            88.0,
            -88.0,
            87.7,
            -87.7,
            1e-45,
            -1e-45,
            3.4028235e38,
            -3.4028235e38,
            1e30,
            -1e30,
        ],
        dtype="f4",
    )
    return numpy.concatenate([positive, -positive, specials])


def same_bits(got, want, label):
    """Equal, NaN where NaN (its payload aside), -0 where -0."""
    assert got.shape == want.shape, label
    nan = numpy.isnan(want)
    assert numpy.array_equal(numpy.isnan(got), nan), label
    mismatch = numpy.flatnonzero(got[~nan].view("i4") != want[~nan].view("i4"))
    assert mismatch.size == 0, (
        f"{label}: {mismatch.size} differ, first at {want[~nan][mismatch[0]]!r}: "
        f"{got[~nan][mismatch[0]]!r} against {want[~nan][mismatch[0]]!r}"
    )


def inputs_for(name, X, rng):
    if name != "backprop_swish":
        return (X,)
    with numpy.errstate(all="ignore"):
        Y = (X / (1 + numpy.exp(-X.astype("f8")))).astype("f4")
    return (rng.uniform(-2, 2, X.shape).astype("f4"), X, Y)


def run_ours(name, arrays):
    with dispatch.forced(isa="avx512"), numpy.errstate(all="ignore"):
        return getattr(OPS, name)(*arrays)


@pytest.mark.parametrize("name", _testing.SCALAR_ROWS_AT_AVX512)
def test_bodies_give_the_bits_of_gccs_code_over_a_sweep_of_floats(name):
    arrays = inputs_for(name, float_sweep(), numpy.random.default_rng(0))
    want = _testing.scalar_rows_at_avx512(name, *arrays)
    assert want is not None, "this build has no AVX-512 code"
    same_bits(run_ours(name, arrays), want, name)


@pytest.mark.parametrize("split", ["serial", "split"])
@pytest.mark.parametrize("name", _testing.SCALAR_ROWS_AT_AVX512)
def test_every_length_and_start_takes_the_same_bits(name, split):
    # Masked heads up to a 64-byte boundary, four-vector steps, single
    # vectors and masked tails: every length to 3 steps, every start in a line.
    rng = numpy.random.default_rng(1)
    buffer = rng.uniform(-25, 25, 256 + 16).astype("f4")
    with dispatch.forced(grain=1 if split == "split" else None):
        for offset in range(16):
            for length in range(0, 200):
                X = buffer[offset : offset + length]
                arrays = inputs_for(name, X, rng)
                want = _testing.scalar_rows_at_avx512(name, *arrays)
                same_bits(run_ours(name, arrays), want, f"{name}, {length} from {offset}")


def test_bodies_leave_the_output_outside_its_range_alone():
    # The masked head and tail must not write past either end.
    X = numpy.linspace(-5, 5, 64, dtype="f4")
    for start, stop in [(1, 2), (3, 20), (5, 63), (0, 17)]:
        out = numpy.full(64, 7.0, dtype="f4")
        with dispatch.forced(isa="avx512"):
            view = out[start:stop]
            view[...] = X[start:stop]
            OPS.sigmoid(view, inplace=True)
        assert numpy.all(out[:start] == 7.0) and numpy.all(out[stop:] == 7.0)
        numpy.testing.assert_allclose(
            out[start:stop], 1 / (1 + numpy.exp(-X[start:stop])), rtol=1e-6
        )


def test_scalar_rows_hook_checks_its_arrays():
    with pytest.raises(ValueError, match="three arrays"):
        _testing.scalar_rows_at_avx512("backprop_swish", numpy.zeros(3, "f4"))
    with pytest.raises(ValueError, match="one array"):
        _testing.scalar_rows_at_avx512("swish", numpy.zeros(3, "f4"), numpy.zeros(3, "f4"))
