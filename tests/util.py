"""Helpers shared by the tests: finite-difference gradient checks and paths.

Gradients are checked in float64 where the layer allows it, else with a loose
tolerance, by comparing backprop against central differences of a random
projection of the output (so one backward pass checks every input element)."""

from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
UD_EWT = SHARED / "data" / "ud-english-ewt"
REF_PYTHON = Path(__file__).resolve().parents[1] / ".venv-ref" / "bin" / "python"


def require_shared(path: Path = UD_EWT) -> Path:
    """Skip the calling test where ../shared data is absent (a user's machine)."""
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


def require_ref_thinc() -> Path:
    """Skip where thinc 8.3.14's virtualenv (scripts/make_ref_venv.sh) is absent."""
    if not REF_PYTHON.exists():
        pytest.skip(
            f"thinc 8.3.14 virtualenv not found at {REF_PYTHON}: run scripts/make_ref_venv.sh"
        )
    if int(numpy.__version__.split(".")[0]) < 2:
        # The oracle runs numpy 2 and pickles its results, which numpy 1 cannot load.
        pytest.skip("the thinc 8.3.14 oracle exchanges numpy 2 pickles; this is numpy 1")
    return REF_PYTHON


def _flat_views(arrays: Iterable[Any]):
    return [a.reshape(-1) for a in arrays]


def numeric_grad(
    func: Callable[[], float], array: numpy.ndarray, eps: float, max_checks: int, rng
) -> tuple:
    """Central differences of ``func`` w.r.t. a sample of ``array``'s elements
    (perturbed in place and restored). Returns (indices, gradients)."""
    flat = array.reshape(-1)
    n = flat.size
    idx = rng.choice(n, size=min(n, max_checks), replace=False) if n else numpy.zeros(0, "i")
    grads = numpy.zeros(len(idx), dtype="f8")
    for k, i in enumerate(idx):
        orig = flat[i].copy()
        flat[i] = orig + eps
        plus = func()
        flat[i] = orig - eps
        minus = func()
        flat[i] = orig
        grads[k] = (plus - minus) / (2 * eps)
    return idx, grads


def check_gradients(
    model,
    X,
    *,
    to_array: Callable[[Any], numpy.ndarray] = lambda Y: Y,
    input_arrays: Optional[Callable[[Any], list]] = None,
    eps: float = 1e-3,
    atol: float = 1e-2,
    rtol: float = 5e-2,
    max_checks: int = 40,
    check_params: bool = True,
    seed: int = 0,
) -> None:
    """Assert that ``model``'s backprop matches finite differences for its input
    (the arrays ``input_arrays(X)`` returns, default ``[X]``) and its params.

    ``to_array`` flattens the model's output into one array (e.g. for Ragged or
    lists). The scalar checked is ``sum(output * R)`` for a fixed random R."""
    rng = numpy.random.default_rng(seed)
    Y, backprop = model.begin_update(X)
    Y_arr = to_array(Y)
    R = rng.uniform(-1, 1, size=Y_arr.shape).astype(Y_arr.dtype)

    def loss() -> float:
        out = to_array(model.predict(X))
        return float((numpy.asarray(out, dtype="f8") * R).sum())

    # dY must have the structure of Y: rebuild it through the same to_array view.
    dY = _like(Y, R)
    for name in model.param_names if check_params else []:
        if model.has_grad(name):
            model.set_grad(
                name,
                model.ops.alloc(model.get_param(name).shape, dtype=model.get_param(name).dtype),
            )
    dX = backprop(dY)
    arrays = input_arrays(X) if input_arrays is not None else [X]
    grads_in = input_arrays(dX) if input_arrays is not None else [dX]
    for array, grad in zip(arrays, grads_in):
        if array.dtype.kind != "f":
            continue
        idx, expected = numeric_grad(loss, array, eps, max_checks, rng)
        got = numpy.asarray(grad, dtype="f8").reshape(-1)[idx]
        numpy.testing.assert_allclose(got, expected, atol=atol, rtol=rtol, err_msg="input gradient")
    if not check_params:
        return
    for name in model.param_names:
        if not model.has_param(name) or not model.has_grad(name):
            continue
        param = model.get_param(name)
        analytic = numpy.asarray(model.get_grad(name), dtype="f8").reshape(-1)

        def loss_for_param() -> float:
            model.set_param(name, param)
            return loss()

        idx, expected = numeric_grad(loss_for_param, param, eps, max_checks, rng)
        numpy.testing.assert_allclose(
            analytic[idx], expected, atol=atol, rtol=rtol, err_msg=f"gradient of param {name}"
        )


def _like(Y, R):
    """An object shaped like the output ``Y`` whose data is ``R``."""
    if isinstance(Y, numpy.ndarray):
        return R.reshape(Y.shape)
    if hasattr(Y, "dataXd") and hasattr(Y, "lengths"):  # Ragged
        return type(Y)(R.reshape(Y.dataXd.shape), Y.lengths)
    if isinstance(Y, list):
        out, start = [], 0
        for y in Y:
            out.append(R[start : start + len(y)].reshape(y.shape))
            start += len(y)
        return out
    raise TypeError(f"check_gradients cannot build a gradient for output of type {type(Y)}")
