"""The framework-wrapper examples run end to end where their framework is installed."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="needs PyTorch: .venv/bin/pip install torch==2.13.0",
)
def test_pytorch_example_trains_reloads_and_scripts():
    out = run_example("pytorch_wrapper.py", "--epochs", "3")
    last_epoch = [line for line in out.splitlines() if line.startswith("epoch")][-1]
    assert float(last_epoch.split("dev accuracy")[1]) > 0.9, out
    assert "reloaded from bytes: dev accuracy" in out and "identical predictions: True" in out
    assert "TorchScript round trip: identical predictions: True" in out


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None,
    reason="tensorflow is not installed (see scripts/make_framework_venvs.sh)",
)
def test_tensorflow_example_trains_and_reloads():
    out = run_example("tensorflow_wrapper.py", "--epochs", "3")
    assert "identical predictions: True" in out


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mxnet") is None,
    reason="mxnet is not installed (see scripts/make_framework_venvs.sh)",
)
def test_mxnet_example_trains_and_reloads():
    out = run_example("mxnet_wrapper.py", "--epochs", "3")
    assert "identical predictions: True" in out
