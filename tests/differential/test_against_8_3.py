"""Differential test: every case of cases.py runs under this thinc and under thinc
8.3.14 (.venv-ref), each in its own interpreter; results or exception types must agree.

A difference is accepted only where KNOWN_DIFFERENCES says why: 8.3.14 crashes on
the input (an internal IndexError, NameError, a hang) or returns garbage."""

import fnmatch
import os
import pickle
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from ..util import require_ref_thinc
from .cases import CASES, EXTRA_KNOWN
from .compare import outcome_difference

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "runner.py"

# (function pattern, edge pattern, why ours may differ from 8.3.14)
KNOWN_DIFFERENCES: List[Tuple[str, str, str]] = [
    (
        "Ops.*",
        "int-array",
        "8.3.14 gives float results (or a UFuncTypeError) for int input; ours keeps the dtype",
    ),
    ("Ops.relu", "None", "8.3.14's AttributeError comes from touching None; ours is a TypeError"),
    ("Ops.mish", "None", "8.3.14's AttributeError comes from touching None; ours is a TypeError"),
    (
        "Ops.softmax",
        "None",
        "8.3.14's TypeError comes from touching None; ours is an AttributeError",
    ),
    (
        "Ops.reduce_first",
        "empty-batch",
        "ours returns starts_ends [0] (n + 1 entries), 8.3.14 an empty array",
    ),
    (
        "Ops.reduce_first",
        "float-lengths",
        "ours checks lengths where they are used (8.3.14 truncates floats)",
    ),
    (
        "Ops.reduce_last",
        "float-lengths",
        "both refuse; ours says why with a ValueError (8.3.14: IndexError)",
    ),
    (
        "Ops.flatten",
        "only-empty-seqs,pad=1",
        "empty arrays get no padding of their own (unflatten relies on it)",
    ),
    ("Ops.unflatten", "lengths-too-long", "8.3.14 returns truncated garbage; ours refuses"),
    (
        "Ops.ngrams",
        "n=*,empty-keys",
        "8.3.14 crashes (IndexError) on no keys; ours returns no n-grams",
    ),
    ("Ops.gather_add", "empty-batch", "8.3.14 crashes (IndexError) on an empty batch"),
    ("Ops.scatter_add", "*", "8.3.14 returns None; ours also returns the updated table"),
    ("Ops.backprop_maxout", "empty-batch", "8.3.14 crashes (IndexError) on an empty batch"),
    ("Ops.insert_into", "empty-list", "8.3.14 crashes (IndexError) on no items"),
    ("Ops.minibatch", "size=0", "8.3.14 loops for ever"),
    ("to_categorical", "negative", "8.3.14 wraps -1 to the last class; ours refuses the label"),
    ("Ragged", "list-lengths", "ours converts a list of lengths to an int32 array"),
    ("Ragged", "empty", "8.3.14 reshapes empty data to (0, 0), losing the width; ours keeps it"),
    ("Maxout", "empty-batch", "8.3.14 crashes (IndexError) on an empty batch"),
    ("Dish", "*", "8.3.14's Dish backprop fails (broadcast) or is wrong whenever nO != nI"),
    ("Embed(column=1)", "empty-batch", "8.3.14 crashes (IndexError) on an empty 1d batch"),
    ("HashEmbed", "*empty", "8.3.14 crashes (NameError) on an empty batch"),
    ("HashEmbed", "empty-batch", "8.3.14 crashes (NameError) on an empty batch"),
    (
        "premap_ids",
        "*",
        "8.3.14 refuses 1d ids (ValueError); ours maps them (column applies to 2d)",
    ),
    ("Embed", "2d-*", "ids have no gradient; ours returns zeros of the ids' shape, 8.3.14 of (n,)"),
    (
        "LSTM",
        "empty-list",
        "both refuse a list; ours says so with a TypeError (8.3.14: AttributeError)",
    ),
    ("LSTM", "only-empty-seqs", "8.3.14 crashes (IndexError) when every sequence is empty"),
    ("LSTM", "*", "8.3.14's LSTM input gradient is wrong (finite differences agree with ours)"),
    ("list2ragged", "only-empty-seqs", "8.3.14 reshapes empty data to (0, 0), losing the width"),
    ("reduce_*", "only-empty-seqs", "8.3.14 reshapes empty data to (0, 0), losing the width"),
    (
        "ParametricAttention",
        "only-empty-seqs",
        "8.3.14 crashes (IndexError) when every sequence is empty",
    ),
    ("PyTorchLSTM", "*", "needs PyTorch, which only this side may have"),
    ("Model", "mixed_precision-cpu", "needs PyTorch, which only this side may have"),
    ("PyTorchGradScaler", "*", "needs PyTorch, which only this side may have"),
    (
        "loss",
        "L2Distance-ragged",
        "both refuse Ragged; ours says so with a TypeError (8.3.14: AttributeError)",
    ),
    ("with_reshape(Linear)", "empty-batch", "8.3.14 cannot reshape an empty batch (ValueError)"),
    (
        "ParametricAttention_v2",
        "only-empty-seqs",
        "8.3.14 crashes (IndexError) when every sequence is empty",
    ),
    (
        "with_array(Embed)",
        "only-empty-ids",
        "8.3.14 crashes (IndexError): it joins no ids into a float array",
    ),
    ("bidirectional", "empty-padded", "8.3.14 crashes (IndexError) on an empty batch"),
]

KNOWN_DIFFERENCES += EXTRA_KNOWN


def known_difference(function: str, edge: str) -> Optional[str]:
    for function_pattern, edge_pattern, reason in KNOWN_DIFFERENCES:
        if fnmatch.fnmatchcase(function, function_pattern) and fnmatch.fnmatchcase(
            edge, edge_pattern
        ):
            return reason
    return None


def run_side(python: Path, cwd: Path, env: Dict[str, str], out: Path) -> Dict[str, Any]:
    subprocess.run(
        [str(python), str(RUNNER), str(out)],
        cwd=cwd,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
    )
    with open(out, "rb") as file:
        return pickle.load(file)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> Tuple[Dict, Dict]:
    ref_python = require_ref_thinc()
    folder = tmp_path_factory.mktemp("differential")
    ours_env = dict(os.environ, PYTHONPATH=str(ROOT))
    ours = run_side(Path(sys.executable), ROOT, ours_env, folder / "ours.pkl")
    assert Path(ours["file"]).resolve().is_relative_to(ROOT), ours["file"]
    # The reference runs outside the checkout, without PYTHONPATH, so this thinc cannot shadow it.
    ref_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    theirs = run_side(ref_python, Path(tempfile.gettempdir()), ref_env, folder / "ref.pkl")
    assert theirs["thinc"] == "8.3.14", theirs["thinc"]
    return ours["outcomes"], theirs["outcomes"]


FUNCTIONS: Dict[str, List[str]] = defaultdict(list)
for _function, _edge, _ in CASES:
    FUNCTIONS[_function].append(_edge)


def test_case_names_are_unique():
    keys = [(function, edge) for function, edge, _ in CASES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_agrees_with_thinc_8_3_14(outcomes, function):
    ours, theirs = outcomes
    problems = []
    for edge in FUNCTIONS[function]:
        found = outcome_difference(ours[(function, edge)], theirs[(function, edge)])
        if found and known_difference(function, edge) is None:
            problems.append(f"{function} [{edge}]: {found}")
    assert not problems, "\n".join(problems)


def test_known_differences_are_still_needed(outcomes):
    """Each entry of KNOWN_DIFFERENCES still excuses at least one difference."""
    ours, theirs = outcomes
    used = set()
    for (function, edge), their_outcome in theirs.items():
        if outcome_difference(ours[(function, edge)], their_outcome):
            for entry in KNOWN_DIFFERENCES:
                if fnmatch.fnmatchcase(function, entry[0]) and fnmatch.fnmatchcase(edge, entry[1]):
                    used.add(entry)
                    break
    # PyTorch may be installed on both sides (then those cases agree).
    stale = [
        entry for entry in KNOWN_DIFFERENCES if entry not in used and "PyTorch" not in entry[2]
    ]
    assert not stale, f"entries that excuse nothing (remove them): {stale}"
