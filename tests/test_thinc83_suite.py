"""thinc 8.3.14's own test suite, run against this thinc.

The released wheel ships its tests (thinc/tests in .venv-ref). They are copied
into a temporary package, never into the checkout, and run twice at once: with
this checkout's thinc and with thinc 8.3.14 itself. Every test that fails here
must fail (or skip) there too, or be one of the deviations below, each of them
a choice this thinc makes on purpose. Tests failing on both sides (numpy 2.4
refuses float() of a one-element array in the PyTorch comparison; no network)
say nothing about either side."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict

import pytest

from .util import require_ref_thinc

CHECKOUT = Path(__file__).resolve().parents[1]

# Failing here, passing on 8.3.14, on purpose: test id prefix -> why.
DEVIATIONS = {
    "backends/test_ops.py::test_get_ops": (
        "get_ops('cupy') without CuPy raises a ValueError naming the fix; 8.3.14 returns "
        "an Ops whose first array call fails"
    ),
    "backends/test_ops.py::test_use_ops": "use_ops('cupy') without CuPy: as test_get_ops",
    "backends/test_ops.py::test_pad[": "the same ValueError; the test matches 8.3.14's message",
    "backends/test_ops.py::test_reduce_first[": "the same IndexError, matched by 8.3.14's message",
    "backends/test_ops.py::test_reduce_last[": "the same IndexError, matched by 8.3.14's message",
    "layers/test_softmax.py::test_reject_incorrect_temperature": "same error, message matched",
    "layers/test_softmax.py::test_unnormalized_softmax_backprop": "same error, message matched",
    "test_loss.py::test_crossentropy_incorrect_scores_targets": "same error, message matched",
    "test_util.py::test_array_module_cpu_gpu_helpers[": "same error, message matched",
    "shims/test_pytorch_grad_scaler.py::test_raises_on_old_pytorch": (
        "on a CPU-only PyTorch the ValueError says CUDA tensors are needed, where 8.3.14 "
        "blames the PyTorch version"
    ),
    "backends/test_ops.py::test_compare_activations_to_torch[": (
        "not this thinc: the test calls float() on a one-element array, which numpy 2.4 "
        "refuses (with PyTorch installed, 8.3.14 fails all 48 alike); 8.3.14's side here "
        "has no PyTorch, so it never collects them"
    ),
    "test_import__all__.py::test_import_reexport_equivalency[": (
        "parses the modules' import statements; the __all__ lists themselves are 8.3.14's "
        "(tests/test_api.py)"
    ),
}


def _shipped_suite(ref_python: Path) -> Path:
    """Where thinc 8.3.14's wheel put its tests."""
    found = subprocess.run(
        [
            str(ref_python),
            "-c",
            "import thinc.tests, os; print(os.path.dirname(thinc.tests.__file__))",
        ],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def _outcomes(report: Path) -> Dict[str, str]:
    """{test id relative to the suite: passed|failed|skipped} from a junit XML."""
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        module = case.get("classname", "").split(".", 1)[-1].replace(".", "/")
        test_id = f"{module}.py::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[test_id] = "failed"
        elif case.find("skipped") is not None:
            outcomes[test_id] = "skipped"
        else:
            outcomes[test_id] = "passed"
    return outcomes


def _start(python: str, workdir: Path, report: Path, pythonpath: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen(
        [
            python,
            "-m",
            "pytest",
            "thinc83_tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--hypothesis-seed=0",
            f"--junitxml={report}",
        ],
        cwd=str(workdir),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_thinc_8_3_14_suite_passes_where_it_passes_on_8_3_14(tmp_path):
    ref_python = require_ref_thinc()
    probe = subprocess.run(
        [str(ref_python), "-c", "import pytest, hypothesis, mock"], cwd="/", capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"{ref_python} lacks pytest/hypothesis/mock: run scripts/make_ref_venv.sh")
    ours_dir, ref_dir = tmp_path / "ours", tmp_path / "ref"
    ours_dir.mkdir()
    ref_dir.mkdir()
    suite = _shipped_suite(ref_python)
    for workdir in (ours_dir, ref_dir):
        shutil.copytree(
            suite, workdir / "thinc83_tests", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    # Both at once (two cores); each in its own directory so their hypothesis
    # databases and temporary files stay apart, and neither sees the checkout's
    # thinc/ unless told to.
    ours = _start(sys.executable, ours_dir, tmp_path / "ours.xml", str(CHECKOUT))
    ref = _start(str(ref_python), ref_dir, tmp_path / "ref.xml", "")
    for process, side in ((ours, "ours"), (ref, "8.3.14")):
        _, stderr = process.communicate(timeout=1200)
        # 0: all passed, 1: some failed; anything else is a broken run.
        assert process.returncode in (0, 1), (
            f"{side}: pytest exit {process.returncode}\n{stderr.decode()[-3000:]}"
        )
    ours_outcomes = _outcomes(tmp_path / "ours.xml")
    ref_outcomes = _outcomes(tmp_path / "ref.xml")
    # Parametrizations may differ where an optional package is on one side only
    # (the PyTorch comparisons need torch, which only this side has).
    assert len(set(ours_outcomes) & set(ref_outcomes)) > 1000
    unexplained = sorted(
        test_id
        for test_id, outcome in ours_outcomes.items()
        if outcome == "failed"
        and ref_outcomes.get(test_id) != "failed"
        and not any(test_id.startswith(prefix) for prefix in DEVIATIONS)
    )
    assert not unexplained, "failing on this thinc only:\n" + "\n".join(unexplained)
