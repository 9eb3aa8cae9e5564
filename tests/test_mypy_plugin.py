"""The mypy plugin: chain() of mismatched layers is a type error, matched ones are not."""

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

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
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
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


# The real factories, imported as a thinc 8.3 user would: their types must
# survive the registry decorators for the plugin to see anything.
REAL_FACTORIES = """
from thinc.api import (
    Linear, Maxout, Relu, Softmax, add, chain, concatenate, list2ragged, reduce_mean,
    residual, with_array,
)
relu = Relu(10, 10)
reveal_type(relu)
reveal_type(Maxout(10))
bad = chain(Relu(10, 10), reduce_mean())
good = chain(Linear(10, 10), relu, Softmax(2, 10))
reveal_type(good)
summed = add(Relu(10, 10), Linear(10, 10))
reveal_type(summed)
joined = concatenate(Relu(10, 10), reduce_mean())
reveal_type(list2ragged())
reveal_type(residual(Relu(10)))
ignored = chain(Relu(10, 10), reduce_mean())  # type: ignore[layer-mismatch-output, layer-mismatch-input, misc]
"""


def _notes_and_errors(output: str, source: Path) -> list:
    """mypy's lines about the snippet, with the path stripped so two runs compare."""
    lines = []
    for line in output.splitlines():
        if line.startswith(str(source)) or line.startswith(source.name):
            lines.append(line.split(source.name, 1)[1])
    return lines


def run_mypy_source(
    tmp_path: Path, source_text: str, plugin: str = "thinc.mypy", python: Optional[Path] = None
) -> subprocess.CompletedProcess:
    source = tmp_path / "factories.py"
    source.write_text(source_text)
    config = tmp_path / "factories.ini"
    config.write_text(
        f"[mypy]\nplugins = {plugin}\nfollow_imports = silent\nignore_missing_imports = True\n\n"
        "[mypy-torch.*,tensorflow.*,mxnet.*,cupy.*,cupyx.*,hypothesis.*]\nfollow_imports = skip\n"
    )
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(config),
        "--no-incremental",
        "--cache-dir",
        str(tmp_path / ("cache-" + source.stem)),
        str(source),
    ]
    cwd = Path(__file__).resolve().parents[1]
    if python is not None:
        # Type-check against another interpreter's thinc; run from outside the
        # checkout so this one does not shadow it.
        command += ["--python-executable", str(python)]
        cwd = tmp_path
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_real_factories_keep_their_types(tmp_path):
    result = run_mypy_source(tmp_path, REAL_FACTORIES)
    lines = _notes_and_errors(result.stdout, tmp_path / "factories.py")
    text = "\n".join(lines)
    floats = "thinc.model.Model[thinc.types.Floats2d, thinc.types.Floats2d]"
    assert f':7: note: Revealed type is "{floats}"' in text, result.stdout
    assert (
        ":9: error: Layer outputs type (thinc.types.Floats2d) but the next layer expects "
        "(thinc.types.Ragged) as an input  [layer-mismatch-output]" in text
    ), result.stdout
    assert ":9: error: Layer input type (thinc.types.Ragged) is not compatible" in text
    assert "[layer-mismatch-input]" in text
    assert ":10:" not in text, "a valid chain needs no annotation"
    assert f':11: note: Revealed type is "{floats}"' in text
    assert f':13: note: Revealed type is "{floats}"' in text
    assert (
        ":14: error: Layer input (thinc.types.Floats2d) not compatible with next layer input"
        in text
    )
    assert ":17:" not in text, "the error codes can be ignored by name"


@pytest.mark.slow
def test_real_factories_typed_as_thinc_8_3_14_types_them(tmp_path):
    """The same snippet under thinc 8.3.14 (its own plugin and package) gives
    the same notes and errors, line for line."""
    from .util import require_ref_thinc

    ref_python = require_ref_thinc()
    ours = run_mypy_source(tmp_path, REAL_FACTORIES)
    # thinc 8.3.14's plugin file is loaded by path under another name: a
    # plugin module called "mypy" would shadow mypy itself.
    found = subprocess.run(
        [
            str(ref_python),
            "-c",
            "import importlib.util as u; print(u.find_spec('thinc').submodule_search_locations[0])",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    plugin_copy = tmp_path / "thinc_8_3_plugin.py"
    plugin_copy.write_text((Path(found.stdout.strip()) / "mypy.py").read_text())
    theirs = run_mypy_source(tmp_path, REAL_FACTORIES, plugin=str(plugin_copy), python=ref_python)
    source = tmp_path / "factories.py"
    assert _notes_and_errors(ours.stdout, source) == _notes_and_errors(theirs.stdout, source), (
        ours.stdout + "\n---\n" + theirs.stdout
    )
