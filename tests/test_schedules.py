"""Tests for thinc.schedules: exact values against thinc 8.3.14, registry names,
config resolution and bad arguments."""

import itertools
import json
import subprocess

import pytest

from thinc.config import Config, registry
from thinc.schedules import (
    compounding,
    constant,
    constant_then,
    cyclic_triangular,
    decaying,
    slanted_triangular,
    warmup_linear,
)

from .util import require_ref_thinc


def take(schedule, n):
    return list(itertools.islice(schedule, n))


def test_constant():
    assert take(constant(0.5), 5) == [0.5] * 5
    values = take(constant(3), 3)
    assert values == [3, 3, 3] and all(type(v) is int for v in values)


def test_constant_then_switches_after_steps():
    assert take(constant_then(1.0, 3, constant(0.1)), 6) == [1.0, 1.0, 1.0, 0.1, 0.1, 0.1]
    # A finite schedule ends the series.
    assert list(constant_then(1.0, 2, [0.1, 0.2])) == [1.0, 1.0, 0.1, 0.2]
    assert take(constant_then(7, 0, decaying(0.5, 0.1)), 2) == [0.5, 0.5 / 1.1]


def test_decaying_matches_thinc():
    # Values from thinc 8.3.14.
    assert take(decaying(0.001, 1e-4), 4) == [
        0.001,
        0.000999900009999,
        0.0009998000399920016,
        0.000999700089973008,
    ]
    assert take(decaying(0.5, 0.01, t=5), 3) == [
        0.47619047619047616,
        0.4716981132075471,
        0.4672897196261682,
    ]


def test_compounding_matches_thinc():
    assert take(compounding(4.0, 32.0, 1.5), 8) == [4.0, 6.0, 9.0, 13.5, 20.25, 30.375, 32.0, 32.0]
    # Decreasing series stop at their floor.
    assert take(compounding(10.0, 1.0, 0.5), 6) == [10.0, 5.0, 2.5, 1.25, 1.0, 1.0]
    # t is accepted but does not shift the series.
    assert take(compounding(1.0, 10.0, 1.5, t=3.0), 3) == [1.0, 1.5, 2.25]


def test_warmup_linear_matches_thinc():
    assert take(warmup_linear(0.005, 3, 8), 10) == [
        0.0,
        0.0016666666666666666,
        0.003333333333333333,
        0.005,
        0.004,
        0.003,
        0.002,
        0.001,
        0.0,
        0.0,
    ]
    assert take(warmup_linear(1.0, 0, 3), 5) == [
        1.0,
        0.6666666666666666,
        0.3333333333333333,
        0.0,
        0.0,
    ]


def test_slanted_triangular_matches_thinc():
    assert take(slanted_triangular(0.01, 50, cut_frac=0.2, ratio=8), 14) == [
        0.002125,
        0.0030000000000000005,
        0.0038750000000000004,
        0.004750000000000001,
        0.005625,
        0.006500000000000001,
        0.007375,
        0.00825,
        0.009125,
        0.01,
        0.00978125,
        0.0095625,
        0.009343750000000001,
        0.009125,
    ]
    # decay has no effect; t offsets the step count.
    assert take(slanted_triangular(1.0, 20, cut_frac=0.3, ratio=4, decay=0.5, t=1.0), 6) == [
        0.5,
        0.625,
        0.75,
        0.875,
        1.0,
        0.9464285714285714,
    ]


def test_slanted_triangular_rejects_empty_warmup():
    with pytest.raises(ValueError, match="num_steps"):
        slanted_triangular(1.0, 5)


def test_cyclic_triangular_matches_thinc():
    expected = [
        0.004,
        0.006999999999999999,
        0.010000000000000002,
        0.007000000000000001,
        0.004,
        0.001,
        0.004000000000000002,
        0.006999999999999999,
        0.010000000000000002,
        0.006999999999999999,
        0.004000000000000002,
        0.001,
        0.003999999999999998,
        0.007000000000000004,
    ]
    assert [float(v) for v in take(cyclic_triangular(0.001, 0.01, 3), 14)] == expected
    with pytest.raises(ValueError, match="period"):
        cyclic_triangular(0.1, 1.0, 0)


def test_cyclic_triangular_negative_period_shifts_the_phase():
    # As thinc 8.3: the same triangle between min_lr and max_lr, half a cycle on.
    expected = [0.55, 1.0, 0.55, 0.1, 0.55, 1.0, 0.55, 0.1]
    assert [float(v) for v in take(cyclic_triangular(0.1, 1.0, -2), 8)] == pytest.approx(expected)


def test_schedules_are_generators():
    for schedule in [constant(1.0), decaying(1.0, 0.1), compounding(1.0, 2.0, 1.1)]:
        assert iter(schedule) is schedule
        assert next(schedule) == 1.0


REGISTERED = {
    "constant.v1": constant,
    "constant_then.v1": constant_then,
    "decaying.v1": decaying,
    "compounding.v1": compounding,
    "warmup_linear.v1": warmup_linear,
    "slanted_triangular.v1": slanted_triangular,
    "cyclic_triangular.v1": cyclic_triangular,
}


def test_registry_names():
    for name, func in REGISTERED.items():
        assert registry.schedules.get(name) is func


def test_resolve_nested_schedules_from_config():
    config = Config().from_str(
        """
        [rate]
        @schedules = "constant_then.v1"
        rate = 0.1
        steps = 2

        [rate.schedule]
        @schedules = "decaying.v1"
        base_rate = 0.5
        decay = 0.1

        [size]
        @schedules = "compounding.v1"
        start = 1
        stop = 10
        compound = 2.0
        """
    )
    resolved = registry.resolve(config)
    assert take(resolved["rate"], 4) == [0.1, 0.1, 0.5, 0.45454545454545453]
    assert take(resolved["size"], 5) == [1.0, 2.0, 4.0, 8.0, 10]


CASES = [
    ("constant", [0.25], {}),
    ("decaying", [0.5, 0.01], {"t": 2.5}),
    ("compounding", [1, 10, 2.0], {}),
    ("compounding", [4.0, 32.0, 1.001], {}),
    ("warmup_linear", [2, 2, 5], {}),
    ("warmup_linear", [0.005, 7, 13], {}),
    ("slanted_triangular", [1.0, 20], {}),
    ("slanted_triangular", [0.01, 100], {"cut_frac": 0.15}),
    ("cyclic_triangular", [0.1, 1.0, 4], {}),
    ("cyclic_triangular", [0.1, 1.0, 1], {}),
]

_ORACLE_SCRIPT = """
import itertools, json, sys
import thinc.schedules as s
out = []
for name, args, kwargs in json.loads(sys.argv[1]):
    out.append([float(v) for v in itertools.islice(getattr(s, name)(*args, **kwargs), 30)])
print(json.dumps(out))
"""


@pytest.mark.ref
def test_values_match_thinc_oracle(tmp_path):
    ref_python = require_ref_thinc()
    result = subprocess.run(
        [str(ref_python), "-c", _ORACLE_SCRIPT, json.dumps(CASES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(result.stdout)
    import thinc.schedules as ours

    for (name, args, kwargs), ref_values in zip(CASES, expected):
        values = [float(v) for v in take(getattr(ours, name)(*args, **kwargs), 30)]
        assert values == ref_values, name
