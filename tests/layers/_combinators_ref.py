"""Cross-checks a combinator against thinc 8.3.14: each side loads the other's
bytes for the same model tree and must then predict the same outputs."""

import pickle
import subprocess
import tempfile
from pathlib import Path
from typing import Any, List, Optional

import numpy

from ..util import require_ref_thinc

# Shared by both sides: builds inputs and flattens any output to a list of arrays.
PRELUDE = """
import numpy
from thinc.backends import NumpyOps
from thinc.layers import *
from thinc.layers.resizable import resize_linear_weighted
from thinc.layers.with_flatten_v2 import with_flatten_v2
from thinc.types import Padded, Ragged

OPS = NumpyOps()


def flat(Y):
    if isinstance(Y, Ragged):
        return [numpy.asarray(Y.dataXd), numpy.asarray(Y.lengths)]
    if isinstance(Y, Padded):
        return [numpy.asarray(Y.data), numpy.asarray(Y.lengths)]
    if isinstance(Y, (list, tuple)):
        return [array for item in Y for array in flat(item)]
    return [numpy.asarray(Y)]
"""

REFERENCE_SCRIPT = """
import pickle, sys
with open(sys.argv[1], "rb") as file_:
    job = pickle.load(file_)
exec(PRELUDE)
X = eval(job["inputs"])
reference = eval(job["build"]).initialize(X=X)
ours = eval(job["reader"]).initialize(X=X).from_bytes(job["bytes"])
result = {
    "bytes": reference.to_bytes(),
    "Y": flat(reference.predict(X)),
    "Y_from_ours": flat(ours.predict(X)),
}
sys.stdout.buffer.write(pickle.dumps(result))
"""


def _namespace() -> dict:
    namespace: dict = {}
    exec(PRELUDE, namespace)
    return namespace


def _assert_same(got: List[Any], want: List[Any], what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} arrays vs {len(want)}"
    for got_array, want_array in zip(got, want):
        assert got_array.shape == want_array.shape, (
            f"{what}: {got_array.shape} vs {want_array.shape}"
        )
        numpy.testing.assert_allclose(got_array, want_array, rtol=1e-5, atol=1e-6, err_msg=what)


def assert_matches_reference(build: str, inputs: str, reader: Optional[str] = None) -> None:
    """``build`` and ``inputs`` are Python expressions evaluated on both sides
    (with thinc.layers' names, numpy, OPS, Ragged and Padded in scope); the
    loading side builds ``reader`` (default ``build``), so attrs must travel."""
    reader = reader or build
    python = require_ref_thinc()
    namespace = _namespace()
    X = eval(inputs, namespace)
    ours = eval(build, namespace).initialize(X=X)
    with tempfile.TemporaryDirectory() as tmp:
        job_path = Path(tmp) / "job.pkl"
        job = {"build": build, "reader": reader, "inputs": inputs, "bytes": ours.to_bytes()}
        job_path.write_bytes(pickle.dumps(job))
        script = "PRELUDE = " + repr(PRELUDE) + "\n" + REFERENCE_SCRIPT
        # Run outside the checkout so our own thinc/ does not shadow the reference.
        proc = subprocess.run(
            [str(python), "-c", script, str(job_path)], cwd=tmp, capture_output=True, timeout=300
        )
    if proc.returncode != 0:
        raise AssertionError("reference script failed:\n" + proc.stderr.decode("utf8", "replace"))
    result = pickle.loads(proc.stdout)
    _assert_same(
        result["Y_from_ours"], namespace["flat"](ours.predict(X)), "thinc 8.3.14 on our bytes"
    )
    loaded = eval(reader, namespace).initialize(X=X).from_bytes(result["bytes"])
    _assert_same(namespace["flat"](loaded.predict(X)), result["Y"], "ours on thinc 8.3.14 bytes")
