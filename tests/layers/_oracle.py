"""Runs snippets under thinc 8.3.14 (the reference virtualenv) for the weight-layer
tests, so they can load its bytes and compare outputs on the same weights."""

import os
import pickle
import subprocess
import tempfile
from typing import Any, Dict

from ..util import require_ref_thinc

_FOOTER = "\nimport pickle, sys\nsys.stdout.buffer.write(pickle.dumps(result))\n"


def run_reference(script: str) -> Dict[str, Any]:
    """Run ``script`` with thinc 8.3.14 and return its ``result`` dict (numpy
    arrays, bytes and plain values). Skips the test where the oracle is absent."""
    python = require_ref_thinc()
    # Run outside the checkout, without PYTHONPATH, so no other thinc shadows the reference.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    proc = subprocess.run(
        [str(python), "-c", script + _FOOTER],
        cwd=tempfile.gettempdir(),
        env=env,
        capture_output=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError("reference script failed:\n" + proc.stderr.decode("utf8", "replace"))
    return pickle.loads(proc.stdout)
