"""The README's main job (examples/train_demo.py) trains, saves, reloads and tags."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_trains_saves_and_reloads(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_demo.py"),
            "--epochs",
            "1",
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    accuracy = float(re.search(r"epoch 1: .*dev accuracy ([0-9.]+)", result.stdout).group(1))
    baseline = float(re.search(r"each word's commonest tag ([0-9.]+)", result.stdout).group(1))
    assert accuracy > baseline, result.stdout
    assert (tmp_path / "pos-tagger.bin").stat().st_size > 0
    assert re.search(r"^I/\S+ saw/\S+ her/\S+ duck/\S+", result.stdout, re.M), result.stdout
    assert "tags all" in result.stdout and "exactly as the trained model did" in result.stdout
    plot = tmp_path / "training.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(plot) in result.stdout
