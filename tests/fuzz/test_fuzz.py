"""Crash-and-hang fuzzing of NumpyOps' compiled kernels, the linalg wrappers and
Model.from_bytes: the corpus of known reproducers, a seeded batch, then
hypothesis-drawn cases; every case runs in a `python -O` worker with a timeout
(harness.py). scripts/fuzz_long.py runs the same generators for longer."""

from typing import Iterator

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .cases import LAID, Chooser, _built, corpus, is_laid_out, kernel_case, model_case, run_case
from .harness import FAILURES, Worker, run_all

# No example database: it would be written inside the checkout.
FUZZ_SETTINGS = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    with Worker(timeout=10.0) as running:
        yield running


def test_harness_notices_crashes_and_hangs():
    with Worker(timeout=2.0) as short:
        assert short.run(("self-test-crash",))[0] == "crash"
        assert short.run(("self-test-hang",))[0] == "hang"
        # A fresh worker takes over after each.
        case = ("ops", "relu", (numpy.ones(3, "float32"),), {})
        assert short.run(case) == ("ok", "relu")


def test_three_arguments_starting_with_an_array_reach_the_kernel():
    # Such an args tuple once looked like a layout marker to the worker, whose
    # check raised ValueError on the array before the kernel ran: 15% of the
    # kernel calls (maxout, scatter_add, affine, ...) were never tried.
    args = (numpy.ones((3, 2), "float32"), numpy.zeros((3, 2), "int32"), 2)
    assert run_case(("ops", "backprop_maxout", args, {})) == ("ok", "backprop_maxout")
    assert not is_laid_out(args) and not is_laid_out((numpy.zeros(0), "x", 1))
    marker = (LAID, "fortran", numpy.ones((3, 2), "float32"))
    assert is_laid_out(marker) and _built(marker).flags.f_contiguous
    rng = numpy.random.default_rng(0)
    for _ in range(2000):
        case = kernel_case(Chooser(rng=rng))
        _built(case)  # never raises while only laying out arrays


CORPUS = corpus()


@pytest.mark.parametrize("name,case,expected", CORPUS, ids=[name for name, _, _ in CORPUS])
def test_corpus(worker, name, case, expected):
    outcome = worker.run(case)
    assert outcome[0] not in FAILURES, f"{name}: {outcome}"
    if expected != "any":
        assert outcome[0] == expected, f"{name}: expected {expected}, got {outcome}"


def test_seeded_batch():
    rng = numpy.random.default_rng(20261205)
    chooser = Chooser(rng)
    cases = [(f"kernel-{i}", kernel_case(chooser)) for i in range(3000)]
    cases += [(f"model-{i}", model_case(chooser)) for i in range(600)]
    tally = run_all(cases)
    assert not tally.failures, tally.summary()


@pytest.mark.parametrize(
    "make_case,examples", [(kernel_case, 5000), (model_case, 1500)], ids=["kernels", "model_files"]
)
def test_hypothesis_cases(worker, make_case, examples):
    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(data=st.data())
    def survives(data):
        case = make_case(Chooser(data=data))
        outcome = worker.run(case)
        assert outcome[0] not in FAILURES, f"{case[:2]}: {outcome}"

    survives()
