"""Every path the machine can run, forced one at a time: gemm per BLAS choice,
instruction-set level and thread count over exhaustive small-shape grids, and
the settings that force each choice (thinc.backends.dispatch)."""

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

from thinc.backends import _gemm_cache, cblas, dispatch
from thinc.backends.numpy_ops import NumpyOps

ROOT = Path(__file__).resolve().parents[2]
TOP_ISA = dispatch.available_isas()[-1]

# Every M and N up to 65 (past four 16-wide tiles: each remainder of every
# common tile width), at depths around the kernels' unrolling and blocking.
SIDES = tuple(range(1, 66))
DEPTHS = (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64, 65)
# Every depth up to 65, and across thinc's own 288-deep k-blocks, for smaller sides.
DEEP_SIDES = tuple(range(1, 18))
DEEP_DEPTHS = tuple(range(0, 66)) + (287, 288, 289, 577)


def gemm_configurations():
    """(blas, isa) pairs: the unforced choice and thinc's own kernel at each
    level (they change with it); the libraries at the top level (they pick
    their own kernels whatever thinc's level)."""
    configurations = [(blas, isa) for isa in dispatch.available_isas() for blas in ("", "thinc")]
    return configurations + [("blis", TOP_ISA), ("numpy", TOP_ISA)]


def expected_path(blas, dtype):
    """The name the report gives the forced candidate, or None when unforced."""
    if blas == "thinc":
        return (
            "thinc's own kernel"
            if dtype == "float32" and cblas.own_sgemm_is_available()
            else "plain loops"
        )
    if blas == "blis":
        return f"blis ({cblas.blis_arch()} kernels)"
    if blas == "numpy":
        return "numpy's BLAS"
    return None


def check_forced_path_is_used_or_refused(blas, dtype):
    paths = cblas.gemm_paths()
    entry = paths[dtype]
    want = expected_path(blas, dtype)
    if want is None:
        return
    assert paths["forced"] == blas and paths["small_gemm"] == 0
    refused = [name for name in entry["refused"] if name.startswith(want)]
    if refused:
        # Wrong on this machine: refused, with the shape it got wrong, and never run.
        assert entry["refused"][refused[0]]["wrong_shapes"] > 0
        assert entry["large"] == entry["small"] == "plain loops"
    elif blas == "numpy" and entry["large"] == "plain loops":
        pytest.skip("numpy here has no BLAS that thinc can call")
    else:
        assert entry["large"].startswith(want) and entry["small"].startswith(want), entry


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("blas,isa", gemm_configurations())
def test_gemm_exhaustive_small_shapes(blas, isa, dtype):
    with dispatch.forced(isa=isa, blas=blas):
        check_forced_path_is_used_or_refused(blas, dtype)
        wrong, cases, first = cblas._count_wrong("routed", dtype, SIDES, SIDES, DEPTHS)
    assert cases == len(SIDES) ** 2 * len(DEPTHS) * 4
    assert wrong == 0, (
        f"{wrong} of {cases} products wrong; first (M, N, K, trans_a, trans_b) = {first}"
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("blas,isa", gemm_configurations())
def test_gemm_every_depth(blas, isa, dtype):
    with dispatch.forced(isa=isa, blas=blas):
        wrong, cases, first = cblas._count_wrong(
            "routed", dtype, DEEP_SIDES, DEEP_SIDES, DEEP_DEPTHS
        )
    assert wrong == 0, (
        f"{wrong} of {cases} products wrong; first (M, N, K, trans_a, trans_b) = {first}"
    )


def integer_matrix(rng, shape, dtype):
    return rng.integers(-3, 4, size=shape).astype(dtype)


# Large products, whose size sends unforced calls to the large-product path:
# thinc's row and column splits (a column unit cut by rows: 100 x 288 on
# AVX-512, 100 x 144 at both levels; a block per thread: 100 x 96), split-K,
# and several k-blocks.
LARGE_SHAPES = [
    (300, 200, 130),
    (145, 47, 577),
    (64, 2000, 64),
    (1000, 20, 100),
    (7, 17, 1153),
    (100, 288, 288),
    (100, 144, 288),
    (100, 96, 288),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("blas,isa", gemm_configurations())
def test_gemm_views_and_out_through_ops(blas, isa, dtype):
    # Integer entries: every right answer is exact, whatever the summation order.
    ops = NumpyOps()
    rng = numpy.random.default_rng(0)
    shapes = [
        (M, N, K) for M, N, K in itertools.product((1, 5, 17, 33), (1, 6, 16, 31), (1, 7, 64))
    ]
    with dispatch.forced(isa=isa, blas=blas):
        for (M, N, K), (trans1, trans2) in itertools.product(
            shapes + LARGE_SHAPES, itertools.product((False, True), repeat=2)
        ):
            x_shape = (K, M) if trans1 else (M, K)
            y_shape = (N, K) if trans2 else (K, N)
            # Offset, row-strided views of larger buffers; an out= view as well.
            x = integer_matrix(rng, (x_shape[0] + 1, x_shape[1] + 3), dtype)[1:, 2 : 2 + x_shape[1]]
            y = integer_matrix(rng, (y_shape[0], y_shape[1] + 1), dtype)[:, 1:]
            want = (x.T if trans1 else x).astype("f8") @ (y.T if trans2 else y).astype("f8")
            got = ops.gemm(x, y, trans1=trans1, trans2=trans2)
            assert got.dtype == numpy.dtype(dtype)
            numpy.testing.assert_array_equal(got, want, err_msg=f"{(M, N, K, trans1, trans2)}")
            holder = numpy.full((M + 2, N + 2), 9.0, dtype=dtype)
            out = holder[1 : M + 1, 1 : N + 1]
            assert ops.gemm(x, y, out=out, trans1=trans1, trans2=trans2) is out
            numpy.testing.assert_array_equal(out, want)
            assert (holder[0] == 9).all() and (holder[-1] == 9).all()
            b = integer_matrix(rng, (N,), dtype)
            if not trans1 and trans2:
                numpy.testing.assert_array_equal(ops.affine(x, y, b), want + b)


def test_the_reported_float64_failure_is_right_under_every_choice():
    # Wrong on AVX-512 Xeons when small float64 products went to blis.
    rng = numpy.random.default_rng(1)
    A = rng.standard_normal((8, 1))
    B = rng.standard_normal((11, 1))
    for blas in ("", "thinc", "blis", "numpy"):
        with dispatch.forced(blas=blas):
            numpy.testing.assert_allclose(NumpyOps().gemm(A, B, trans2=True), A @ B.T, rtol=1e-12)


FLOAT64_REPORT = r"""
import json
from thinc.backends import cblas
print(json.dumps({"paths": cblas.gemm_paths()["float64"], "blis": cblas.blis_arch()}))
"""


def test_small_float64_products_leave_untuned_blis():
    report = run_script(FLOAT64_REPORT, THINC_GEMM_CACHE="0")[0]
    paths = report["paths"]
    if report["blis"] in ("generic", "unknown"):
        # Its generic kernels are the slowest right candidate: small products
        # go where large ones do.
        assert paths["small"] == paths["large"], paths
    elif not any(name.startswith("blis") for name in paths["refused"]):
        assert paths["small"].startswith("blis"), paths


def test_a_candidate_that_is_wrong_here_is_never_used():
    # Pretend the check found blis wrong for float32 on this machine.
    saved = dict(cblas._verdicts)
    try:
        cblas._verdicts[("blis", "float32")] = (3, (8, 11, 1, 0, 1))
        with dispatch.forced(blas=""):
            entry = cblas.gemm_paths()["float32"]
            assert not entry["small"].startswith("blis") and not entry["large"].startswith("blis")
        with pytest.warns(UserWarning, match="computed 3 small float32 products wrong"):
            with dispatch.forced(blas="blis"):
                entry = cblas.gemm_paths()["float32"]
        assert entry["large"] == "plain loops"
        assert entry["refused"][f"blis ({cblas.blis_arch()} kernels)"] == {
            "wrong_shapes": 3,
            "first": (8, 11, 1, 0, 1),
        }
    finally:
        cblas._verdicts.clear()
        cblas._verdicts.update(saved)
        cblas.configure_gemm(blas=None)


def test_the_check_itself_catches_a_wrong_gemm():
    # The plain loops are the reference; any real candidate that passes the
    # grid agrees with them exactly, so compare one against numpy too.
    wrong, cases, _ = cblas._count_wrong("loop", "float64", (1, 5, 17), (2, 16), (1, 3, 17))
    assert (wrong, cases) == (0, 3 * 2 * 3 * 4)
    with pytest.raises(ValueError, match="positive"):
        cblas._count_wrong("loop", "float32", (0,), (1,), (1,))
    with pytest.raises(ValueError, match="float32 or float64"):
        cblas._count_wrong("loop", "float16", (1,), (1,), (1,))


def test_configure_rejects_unknown_choices():
    with pytest.raises(ValueError, match="blas must be one of"):
        dispatch.configure(blas="mkl")
    with pytest.raises(ValueError, match="isa must be one of"):
        dispatch.configure(isa="sse4")
    with pytest.raises(ValueError, match="small_gemm"):
        dispatch.configure(small_gemm=-1)
    missing = [level for level in dispatch.ISA_LEVELS if level not in dispatch.available_isas()]
    if missing:
        with pytest.raises(ValueError, match="cannot run"):
            dispatch.configure(isa=missing[-1])


def test_report_names_every_family():
    report = NumpyOps().paths()
    assert report["isa"] == {"cpu": dispatch.cpu_isa(), "active": dispatch.active_isa()}
    assert set(report["gemm"]) - {"measured"} == {
        "float32",
        "float64",
        "forced",
        "small_gemm",
        "few_rows",
        "precision",
    }
    assert report["gemm"]["precision"] == "float32"  # bf16 is opt-in
    assert set(report["kernels"]) == set(dispatch.KERNEL_FAMILIES)
    assert all(text.startswith(dispatch.active_isa()) for text in report["kernels"].values())
    assert report["threads"] >= 1
    with dispatch.forced(isa="scalar"):
        assert NumpyOps().paths()["isa"]["active"] == "scalar"
        assert "AVX2" not in NumpyOps().paths()["kernels"]["elementwise"]
        assert not cblas.own_sgemm_is_available()
        gemm = NumpyOps().paths()["gemm"]
        assert gemm["float32"]["large"] != "thinc's own kernel"
        # Every key stays (aarch64 has no own kernel at all): it says why none runs.
        assert set(gemm) - {"measured"} == set(report["gemm"]) - {"measured"}
        assert gemm["few_rows"].startswith("none: thinc's own kernel does not run here")


# ---------------------------------------------------------------------------
# Settings read from the environment, and thread counts, in fresh processes.

PROBE = r"""
import json, warnings
warnings.simplefilter("always")
from thinc.backends import cblas, dispatch
from thinc.backends.numpy_ops import NumpyOps, get_num_threads
sides, depths = tuple(range(1, 34)), (1, 2, 3, 8, 17, 33)
result = {"threads": get_num_threads(), "isa": dispatch.active_isa(), "paths": cblas.gemm_paths()}
for dtype in ("float32", "float64"):
    result[dtype] = cblas._count_wrong("routed", dtype, sides, sides, depths)[:2]
print(json.dumps(result))
"""


def run_script(script: str, **environment):
    """(the JSON value of the last line `script` prints, its stderr), run by a
    fresh interpreter whose only environment is `environment`."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **environment}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1]), completed.stderr


def run_probe(**environment):
    return run_script(PROBE, **environment)


@pytest.mark.parametrize("threads", [1, 2, 8])
@pytest.mark.parametrize("blas", ["thinc", ""])
def test_thread_counts_with_every_product_split(threads, blas):
    # THINC_PARALLEL_GRAIN=1 sends even the smallest products through the split.
    result, _ = run_probe(THINC_NUM_THREADS=str(threads), THINC_PARALLEL_GRAIN="1", THINC_BLAS=blas)
    assert result["threads"] == threads
    for dtype in ("float32", "float64"):
        wrong, cases = result[dtype]
        assert cases > 0 and wrong == 0, (dtype, result)


@pytest.mark.parametrize("level", dispatch.ISA_LEVELS)
def test_thinc_isa_setting(level):
    result, stderr = run_probe(THINC_ISA=level)
    if level in dispatch.available_isas():
        assert result["isa"] == level and "THINC_ISA" not in stderr
    else:
        assert result["isa"] == dispatch.cpu_isa() and f"this CPU has no {level}" in stderr
    for dtype in ("float32", "float64"):
        assert result[dtype][0] == 0


def test_unknown_settings_warn_and_fall_back():
    result, stderr = run_probe(THINC_ISA="sse9", THINC_BLAS="mkl", THINC_SMALL_GEMM="lots")
    assert "THINC_ISA='sse9' is not one of" in stderr
    assert "THINC_BLAS='mkl' is not one of" in stderr
    assert "THINC_SMALL_GEMM='lots'" in stderr
    assert result["isa"] == dispatch.cpu_isa() and result["paths"]["forced"] is None


@pytest.mark.parametrize("blas", ["blis", "numpy", "thinc"])
def test_thinc_blas_forces_small_products_too(blas):
    result, _ = run_probe(THINC_BLAS=blas)
    paths = result["paths"]
    assert paths["forced"] == blas and paths["small_gemm"] == 0
    for dtype in ("float32", "float64"):
        entry = paths[dtype]
        assert entry["small"] == entry["large"]
        assert result[dtype][0] == 0


def test_thinc_small_gemm_setting():
    result, _ = run_probe(THINC_SMALL_GEMM="1000")
    assert result["paths"]["small_gemm"] == 1000
    for dtype in ("float32", "float64"):
        assert result[dtype][0] == 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_scalar_level_runs_the_whole_backend_suite_smoke():
    # The portable build's code paths end to end: a small model trains under THINC_ISA=scalar.
    script = (
        "import numpy\n"
        "from thinc.api import Relu, Softmax, chain, Adam, NumpyOps\n"
        "from thinc.backends import dispatch\n"
        "assert dispatch.active_isa() == 'scalar'\n"
        "X = numpy.random.default_rng(0).uniform(-1, 1, (64, 10)).astype('f')\n"
        "Y = numpy.eye(3, dtype='f')[(X[:, :3].argmax(axis=1))]\n"
        "model = chain(Relu(16), Softmax(3)); model.initialize(X=X, Y=Y); opt = Adam(0.01)\n"
        "for _ in range(50):\n"
        "    Yh, backprop = model.begin_update(X); backprop(Yh - Y); model.finish_update(opt)\n"
        "print(float((model.predict(X).argmax(1) == Y.argmax(1)).mean()))\n"
    )
    accuracy, _ = run_script(script, THINC_ISA="scalar")
    assert accuracy > 0.6


@pytest.mark.skipif("avx512" not in dispatch.available_isas(), reason="this CPU has no AVX-512")
@pytest.mark.skipif(not cblas.own_sgemm_is_available(), reason="this CPU has no AVX2/FMA")
@pytest.mark.parametrize("grain", [None, 1])
def test_own_kernel_gives_the_same_bits_with_and_without_avx512(grain):
    # The AVX-512 tile adds each element's k terms in the AVX2 tile's order:
    # widths that mix 32- and 16-column steps, thread splits, bias and beta;
    # the few-rows kernels too. Which of the two takes a product of a few rows
    # depends on the level, so the routed products are compared where both
    # levels route them alike, and each kernel on every shape.
    from thinc.backends import _testing

    ops = NumpyOps()
    rng = numpy.random.default_rng(3)
    shapes = [
        (6, 32, 5),
        (7, 33, 17),
        (13, 48, 300),
        (145, 47, 577),
        (64, 2000, 64),
        (300, 200, 130),
        (100, 47, 96),
        (63, 33, 128),
        (5, 100, 64),
        (3, 1000, 96),
    ]
    compared = 0
    for M, N, K in shapes:
        a = rng.standard_normal((M, K)).astype("f")
        b = rng.standard_normal((N, K)).astype("f")
        bias = rng.standard_normal((N,)).astype("f")
        results, routes, kernels = {}, {}, {}
        for isa in ("avx2", "avx512"):
            with dispatch.forced(blas="thinc", isa=isa, grain=grain):
                results[isa] = (
                    ops.gemm(a, b, trans2=True),
                    ops.gemm(a.T.copy(), b.T.copy(), trans1=True),
                    ops.affine(a, b, bias),
                )
                routes[isa] = (
                    cblas._few_rows_takes(M, N, K, True),
                    cblas._few_rows_takes(M, N, K, False),
                )
                outputs = []
                for kernel in (_testing.packed_sgemm, _testing.few_rows_sgemm):
                    if kernel is _testing.few_rows_sgemm and M > 32:
                        continue
                    for trans_a, trans_b, x, y in (
                        (False, True, a, b),
                        (True, False, a.T.copy(), b.T.copy()),
                    ):
                        C = numpy.full((M, N), 0.5, "f")
                        assert kernel(trans_a, trans_b, 0.75, x, y, 1.0, C)
                        outputs.append(C)
                kernels[isa] = outputs
        for narrow, wide in zip(kernels["avx2"], kernels["avx512"]):
            numpy.testing.assert_array_equal(narrow, wide, err_msg=f"{(M, N, K)}")
        (nt2, tn2), (nt5, tn5) = routes["avx2"], routes["avx512"]
        same_route = (nt2 == nt5, tn2 == tn5, nt2 == nt5)
        for same, narrow, wide in zip(same_route, results["avx2"], results["avx512"]):
            if same:
                compared += 1
                numpy.testing.assert_array_equal(narrow, wide, err_msg=f"{(M, N, K)}")
    assert compared >= 20


CHOICE_REPORT = r"""
import json
from thinc.backends import cblas
paths = cblas.gemm_paths()
print(json.dumps({"measured": paths.get("measured"), "large": paths["float32"]["large"],
                  "small": paths["float32"]["small"]}))
"""


def test_float32_choice_is_timed_once_and_kept(tmp_path):
    def run(cache):
        return run_script(CHOICE_REPORT, THINC_GEMM_CACHE=cache)[0]

    cache = tmp_path / "choice.json"
    first = run(str(cache))
    if first["measured"] is None:
        pytest.skip("fewer than two gemm candidates are right on this machine: nothing to time")
    assert first["measured"]["from"] == "measured now" and cache.exists()
    rates = first["measured"]["gflops"]["large"]
    assert first["large"] in rates and all(rate > 0 for rate in rates.values())
    # Small products are timed on the calling thread, blis against the own kernel.
    small_rates = first["measured"]["gflops"]["small"]
    assert all(rate > 0 for rate in small_rates.values())
    if cblas.own_sgemm_is_available():
        assert "thinc's own kernel" in small_rates
    on_this_thread = " on the calling thread"
    assert first["small"].removesuffix(on_this_thread) in small_rates
    assert first["small"].endswith(on_this_thread) == first["small"].startswith("thinc")
    second = run(str(cache))
    assert second["measured"]["from"].startswith("cache")
    assert (second["large"], second["small"]) == (first["large"], first["small"])
    off = run("0")
    assert off["measured"] is None
    # Unmeasured, the rule alone: the own kernel runs at the CPU's widest level
    # by default, so it comes first (libraries only win by measurement).
    if cblas.own_sgemm_is_available():
        assert off["large"] == "thinc's own kernel"
        assert off["small"] == "thinc's own kernel on the calling thread"


WAITING_CHOICE_REPORT = r"""
import json
from thinc.backends import cblas
print("imported", flush=True)
paths = cblas.gemm_paths()
print(json.dumps({"measured": paths.get("measured"), "large": paths["float32"]["large"]}))
"""


@pytest.mark.skipif(_gemm_cache.fcntl is None, reason="advisory cache locks need fcntl (POSIX)")
def test_a_process_waits_for_another_ones_timing_and_reads_it(tmp_path):
    # This machine's entry, timed once, then marked so that a reader can tell
    # it from a timing of its own.
    timed_cache = tmp_path / "timed.json"
    first = run_script(CHOICE_REPORT, THINC_GEMM_CACHE=str(timed_cache))[0]
    if first["measured"] is None:
        pytest.skip("fewer than two gemm candidates are right on this machine: nothing to time")
    entries = json.loads(timed_cache.read_text())
    for entry in entries.values():
        entry["report"]["marker"] = "stored by the process that held the lock"
    shared = tmp_path / "shared.json"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "THINC_GEMM_CACHE": str(shared)}
    with _gemm_cache.exclusive(str(shared)) as locked:
        assert locked
        child = subprocess.Popen(
            [sys.executable, "-c", WAITING_CHOICE_REPORT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
            env=env,
        )
        try:
            assert child.stdout.readline().strip() == "imported"
            # Long past the point where it reads the cache (an unlocked child
            # would find it empty and time on its own).
            time.sleep(2.0)
            assert child.poll() is None, "the child finished while the lock was held"
            shared.write_text(json.dumps(entries))
        except BaseException:
            child.kill()
            raise
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["measured"]["from"].startswith("cache"), report["measured"]
    assert report["measured"]["marker"] == "stored by the process that held the lock"
    assert report["large"] == first["large"]


def test_candidates_take_turns_so_a_passing_load_slows_none_of_them_for_good(monkeypatch):
    calls = []

    def fake_time(candidate, shape, small=False, budget=0.03):
        calls.append(candidate)
        # The whole first round runs while something else has the machine.
        return 1.0 if len(calls) <= 6 else {"thinc": 0.2, "numpy": 0.25, "blis": 0.5}[candidate]

    monkeypatch.setattr(cblas, "_time_sgemm", fake_time)
    shapes = cblas.MEASURED_SHAPES["large"]
    seconds = cblas._time_in_turns(["numpy", "thinc", "blis"], shapes, False)
    rounds = cblas.MEASURE_ROUNDS
    assert rounds >= 2
    turn = ["thinc"] * len(shapes) + ["blis"] * len(shapes) + ["numpy"] * len(shapes)
    assert calls == turn * rounds  # numpy's BLAS last in every round
    assert seconds == {"thinc": 0.4, "numpy": 0.5, "blis": 1.0}


@pytest.mark.parametrize(
    "again,kept",
    [
        ({"thinc": 0.9, "numpy": 0.85}, {"thinc": 0.9, "numpy": 0.8, "blis": 3.0}),  # a bad spell
        ({"thinc": 1.5, "numpy": 0.9}, {"thinc": 1.2, "numpy": 0.8, "blis": 3.0}),  # it holds
    ],
)
def test_a_library_beating_the_rule_is_timed_again_before_it_takes_over(monkeypatch, again, kept):
    calls = []

    def fake_turns(timed, shapes, small):
        calls.append(sorted(timed))
        return {name: again[name] for name in timed}

    monkeypatch.setattr(cblas, "_time_in_turns", fake_turns)
    shapes = cblas.MEASURED_SHAPES["large"]
    first = {"thinc": 1.2, "numpy": 0.8, "blis": 3.0}
    assert cblas._confirmed(first, "thinc", shapes, False) == kept
    assert calls == [["numpy", "thinc"]]  # only the two contenders
    # The rule's candidate ahead, or within the margin: nothing timed again.
    calls.clear()
    assert cblas._confirmed({"thinc": 0.9, "numpy": 0.8}, "thinc", shapes, False) == {
        "thinc": 0.9,
        "numpy": 0.8,
    }
    assert cblas._confirmed({"thinc": 0.7, "numpy": 0.8}, "thinc", shapes, False)["thinc"] == 0.7
    assert calls == []


def test_timing_again_replaces_a_stored_choice_only_when_clearly_faster():
    assert _gemm_cache.RETIME_SWITCH == 1.3
    seconds = {"thinc": 1.0, "numpy": 1.25, "blis": 1.4}
    assert _gemm_cache.kept_choice("numpy", "thinc", seconds) == "numpy"
    assert _gemm_cache.kept_choice("blis", "thinc", seconds) == "thinc"
    assert _gemm_cache.kept_choice("thinc", "thinc", seconds) == "thinc"
    # A stored choice no longer timed (or junk) gives way.
    assert _gemm_cache.kept_choice("gone", "thinc", seconds) == "thinc"
    assert _gemm_cache.kept_choice(None, "numpy", seconds) == "numpy"


def test_a_stuck_lock_holder_delays_the_choice_but_never_hangs_it(tmp_path):
    path = str(tmp_path / "choice.json")
    with _gemm_cache.exclusive(path) as outer:
        started = time.monotonic()
        # A second holder in this process: flock locks belong to the open
        # file, so the second open file waits like another process would.
        with _gemm_cache.exclusive(path, patience=0.3) as inner:
            waited = time.monotonic() - started
    assert (outer, inner) == (_gemm_cache.fcntl is not None, False)
    if outer:
        assert waited >= 0.3


def test_others_share_counts_the_machine_less_this_process():
    before = _gemm_cache.CpuSample(wall=10.0, own=3.0, busy=100.0, cpus=2)
    # 2 s on 2 CPUs: this process used 1.5 CPU-s of the 2.5 busy ones.
    after = _gemm_cache.CpuSample(wall=12.0, own=4.5, busy=102.5, cpus=2)
    assert _gemm_cache.others_share(before, after) == pytest.approx(0.25)
    # This process alone busy: nobody else.
    assert _gemm_cache.others_share(before, _gemm_cache.CpuSample(12.0, 5.0, 102.0, 2)) == 0.0
    # Clamped, and unknown where a counter is missing or the CPU set changed.
    assert _gemm_cache.others_share(before, _gemm_cache.CpuSample(12.0, 3.0, 110.0, 2)) == 1.0
    assert _gemm_cache.others_share(before, _gemm_cache.CpuSample(12.0, 4.0, None, 0)) is None
    assert _gemm_cache.others_share(before, _gemm_cache.CpuSample(12.0, 4.0, 103.0, 4)) is None
    assert _gemm_cache.others_share(before, _gemm_cache.CpuSample(10.0, 4.0, 103.0, 2)) is None


def test_cpu_sample_reads_only_the_cpus_this_process_may_use(tmp_path, monkeypatch):
    monkeypatch.setattr(_gemm_cache, "_allowed_cpus", lambda: {0, 2})
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text(
        "cpu  999 999 999 999 999 999 999 999 0 0\n"
        "cpu0 10 1 5 1000 7 2 3 4 9 0\n"
        "cpu1 500 500 500 1 1 500 500 500 0 0\n"
        "cpu2 20 0 10 2000 0 0 0 6 0 0\n"
        "intr 123 4 5\n"
    )
    sample = _gemm_cache.sample_cpu(str(stat))
    ticks = os.sysconf("SC_CLK_TCK")
    assert sample.cpus == 2
    assert sample.busy == pytest.approx((10 + 1 + 5 + 2 + 3 + 4 + 20 + 10 + 6) / ticks)
    missing = _gemm_cache.sample_cpu(str(tmp_path / "absent"))
    assert missing.busy is None and missing.cpus == 0


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux's /proc/stat")
def test_others_share_sees_a_process_spinning_beside_this_one():
    cpus = len(os.sched_getaffinity(0))
    spin = "import time\nend = time.time() + 20\nprint('spinning', flush=True)\nwhile time.time() < end: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline().strip() == "spinning"
        before = _gemm_cache.sample_cpu()
        time.sleep(1.0)
        share = _gemm_cache.others_share(before, _gemm_cache.sample_cpu())
    finally:
        spinner.kill()
        spinner.wait()
    # One CPU of `cpus`, less what a crowded machine takes from the spinner.
    assert share is not None and share >= 0.5 / cpus


@pytest.mark.parametrize(
    "entry,now,due",
    [
        ({}, 0.0, True),  # stored before busy timings were told apart
        ({"busy": True, "timings": "1", "timed_at": 0.0}, 1e9, True),  # malformed
        ({"busy": False, "timings": 1, "timed_at": 0.0}, 1e9, False),
        ({"busy": True, "timings": 1, "timed_at": 0.0}, 59.0, False),
        ({"busy": True, "timings": 1, "timed_at": 0.0}, 61.0, True),
        ({"busy": True, "timings": 2, "timed_at": 0.0}, 239.0, False),
        ({"busy": True, "timings": 2, "timed_at": 0.0}, 241.0, True),
        ({"busy": True, "timings": 3, "timed_at": 0.0}, 961.0, True),
        ({"busy": True, "timings": 5, "timed_at": 0.0}, 1e9, False),  # the last timing stands
        ({"busy": True, "timings": 1, "timed_at": 1e9}, 0.0, True),  # the clock went back
    ],
)
def test_when_a_busy_timing_is_timed_again(entry, now, due):
    assert _gemm_cache.RETIME_AFTER == 60.0 and _gemm_cache.MAX_TIMINGS == 5
    assert _gemm_cache.retime_due(entry, now) == due


def test_each_candidate_keeps_its_best_of_all_timings():
    earlier = {"large": {"thinc": 2.0, "numpy": 0.9, "gone": 0.1}, "small": "junk"}
    now = {"large": {"thinc": 1.0, "numpy": 1.2, "blis": 3.0}, "small": {"blis": 0.5}}
    assert _gemm_cache.best_seconds(earlier, now) == {
        "large": {"thinc": 1.0, "numpy": 0.9, "blis": 3.0},
        "small": {"blis": 0.5},
    }
    assert _gemm_cache.best_seconds(None, now) == now


@pytest.mark.parametrize("quiet_thinc,switches", [(0.7, True), (0.85, False)])
def test_a_choice_timed_while_the_machine_was_busy_is_timed_again_later(
    tmp_path, monkeypatch, quiet_thinc, switches
):
    monkeypatch.setenv("THINC_GEMM_CACHE", str(tmp_path / "choice.json"))
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    shares = []
    monkeypatch.setattr(_gemm_cache, "others_share", lambda before, after: shares.pop(0))
    timings = []
    load = ["busy"]

    def fake_turns(timed, shapes, small):
        timings.append(load[0])
        phase = {  # a steady load halves the own kernel's threads at first
            "busy": {"thinc": 2.0, "numpy": 1.0, "blis": 5.0},
            "quiet": {"thinc": quiet_thinc, "numpy": 1.1, "blis": 4.0},
        }[load[0]]
        return {name: phase[name] / (10 if small else 1) for name in timed}

    monkeypatch.setattr(cblas, "_time_in_turns", fake_turns)

    def choose():
        return cblas._measured_choice(
            ["thinc", "numpy", "blis"], {"large": "thinc", "small": "thinc"}, "a BLAS"
        )

    shares.append(0.5)
    first = choose()
    assert (first["large"], first["report"]["from"]) == ("numpy", "measured now")
    assert "busy" in first["report"] and first["report"]["timings"] == 1
    busy_calls = len(timings)
    # Soon after, the busy choice is read, not timed again.
    clock[0] += _gemm_cache.RETIME_AFTER - 1
    assert choose()["report"]["from"].startswith("cache") and len(timings) == busy_calls
    # Later, on a quiet machine: timed again, each candidate keeping its best.
    clock[0] += 2
    shares.append(0.01)
    load[0] = "quiet"
    second = choose()
    # The own kernel, now the fastest, takes over only where clearly faster
    # than the stored choice's best (1.43x; not 1.18x): processes on the
    # machine then rarely disagree.
    assert (second["large"], second["report"]["from"]) == (
        "thinc" if switches else "numpy",
        "measured now",
    )
    assert second["report"]["timings"] == 2 and "busy" not in second["report"]
    numpy_rate = "numpy's BLAS (a BLAS)"  # its best came from the busy timing
    assert (
        second["report"]["gflops"]["large"][numpy_rate]
        == first["report"]["gflops"]["large"][numpy_rate]
    )
    assert timings.count("quiet") == 2  # large and small, once each
    # Quiet timings stand for good.
    clock[0] += 1e6
    assert choose()["report"]["from"].startswith("cache") and len(timings) == busy_calls + 2


BUDGET_REPORT = r"""
import json
from thinc.backends import cblas
paths = cblas.gemm_paths()
print(json.dumps({"not_timed": paths.get("not_timed"), "large": paths["float32"]["large"],
                  "numpy_threads": cblas.numpy_blas_threads(),
                  "timed": sorted(((paths.get("measured") or {}).get("gflops") or {}).get("large", {})),
                  "own": cblas.own_sgemm_is_available()}))
"""


def run_budget_report(tmp_path, **settings):
    return run_script(BUDGET_REPORT, THINC_GEMM_CACHE=str(tmp_path / "choice.json"), **settings)[0]


def test_numpy_blas_over_thinc_thread_budget_is_not_timed(tmp_path):
    # THINC_NUM_THREADS=1 beside OpenBLAS's two threads: letting OpenBLAS win
    # the timing would run thinc's products on two cores.
    over = run_budget_report(tmp_path, THINC_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2")
    if over["numpy_threads"] < 2:
        pytest.skip("numpy's BLAS does not report running two threads here")
    if not over["own"]:
        pytest.skip("no thinc gemm kernel at this level: numpy's BLAS may be the rule's choice")
    assert over["not_timed"] and "numpy's BLAS" in over["not_timed"]
    assert "2 threads" in over["not_timed"] and "thinc's 1" in over["not_timed"]
    assert not over["large"].startswith("numpy")
    assert over["timed"] and not any(name.startswith("numpy") for name in over["timed"])
    # Within the budget it is timed like any other candidate.
    within = run_budget_report(tmp_path, THINC_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    assert within["not_timed"] is None
    assert any(name.startswith("numpy") for name in within["timed"])
    # Forced, it runs whatever its thread count.
    forced = run_budget_report(
        tmp_path, THINC_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2", THINC_BLAS="numpy"
    )
    assert forced["large"].startswith("numpy") and forced["not_timed"] is None


@pytest.mark.parametrize(
    "candidates,rule,asked,numpy_threads,own_threads,left_out",
    [
        (["thinc", "blis", "numpy"], "thinc", 1, 2, 1, True),
        (["thinc", "numpy"], "thinc", 2, 8, 2, True),
        # Within the budget, or no budget asked for (0: THINC_NUM_THREADS unset
        # or malformed, as the pool reads it; its default of at most 8 beside
        # OpenBLAS's one per CPU on a bigger machine).
        (["thinc", "blis", "numpy"], "thinc", 2, 2, 2, False),
        (["thinc", "blis", "numpy"], "thinc", 0, 32, 8, False),
        # The rule's choice, or the only candidate: kept.
        (["blis", "numpy"], "numpy", 1, 2, 1, False),
        (["numpy"], "numpy", 1, 2, 1, False),
        (["thinc", "blis"], "thinc", 1, 2, 1, False),
    ],
)
def test_thread_budget_rule(candidates, rule, asked, numpy_threads, own_threads, left_out):
    note = cblas._thread_budget_note(candidates, rule, asked, numpy_threads, own_threads)
    assert (note is not None) == left_out
    if left_out:
        assert f"its {numpy_threads} threads" in note and f"thinc's {own_threads}" in note
