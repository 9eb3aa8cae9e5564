"""The mypy plugin: chain() of mismatched layers is a type error, matched ones are not."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")

HEADER = """
from typing import Any
from thinc.model import Model
from thinc.layers.chain import chain
from thinc.types import Floats2d, Ints1d, Ragged

def floats_to_floats() -> Model[Floats2d, Floats2d]: ...
def ragged_to_floats() -> Model[Ragged, Floats2d]: ...
def floats_to_ints() -> Model[Floats2d, Ints1d]: ...
"""


def run_mypy(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    source = tmp_path / "snippet.py"
    source.write_text(HEADER + textwrap.dedent(body))
    config = tmp_path / "mypy.ini"
    # The heavy optional frameworks are skipped: the plugin only needs thinc's types.
    config.write_text(
        "[mypy]\nplugins = thinc.mypy\nfollow_imports = silent\n"
        "ignore_missing_imports = True\n\n"
        "[mypy-torch.*,tensorflow.*,mxnet.*,cupy.*,cupyx.*,hypothesis.*]\n"
        "follow_imports = skip\n"
    )
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), str(source)],
        capture_output=True, text=True, cwd=root, timeout=300,
    )


@pytest.mark.slow
def test_mismatched_chain_is_reported(tmp_path):
    result = run_mypy(tmp_path, "model = chain(floats_to_floats(), ragged_to_floats())\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Layer outputs type" in result.stdout
    assert "Ragged" in result.stdout


@pytest.mark.slow
def test_matching_chain_is_typed_from_ends(tmp_path):
    body = """
    model = chain(floats_to_floats(), floats_to_floats(), floats_to_ints())
    reveal_type(model)
    """
    result = run_mypy(tmp_path, body)
    assert "Layer outputs type" not in result.stdout, result.stdout
    assert "Model[" in result.stdout and "Ints1d" in result.stdout.split("Revealed type")[-1]
