"""The BLAS table's binary interface (as spaCy cimports it) and the one-time
choice of gemm implementation."""

import ctypes
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

from thinc.backends import cblas
from thinc.backends.numpy_ops import NumpyOps

from ..util import require_ref_thinc

ROOT = Path(__file__).resolve().parents[2]

# The C signatures Cython records for each exported function; a cimporting
# module compiled against thinc 8.3 checks these strings at import time.
EXPECTED_CAPI = {
    "daxpy": b"__pyx_t_5thinc_8backends_5cblas_daxpy_ptr (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *)",
    "saxpy": b"__pyx_t_5thinc_8backends_5cblas_saxpy_ptr (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *)",
    "sgemm": b"__pyx_t_5thinc_8backends_5cblas_sgemm_ptr (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *)",
    "set_daxpy": b"void (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *, __pyx_t_5thinc_8backends_5cblas_daxpy_ptr)",
    "set_saxpy": b"void (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *, __pyx_t_5thinc_8backends_5cblas_saxpy_ptr)",
    "set_sgemm": b"void (struct __pyx_obj_5thinc_8backends_5cblas_CBlas *, __pyx_t_5thinc_8backends_5cblas_sgemm_ptr)",
}


def _capsule_names(module) -> dict:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    return {key: get_name(value) for key, value in module.__pyx_capi__.items()}


def test_exported_signatures_match_thinc_8_3():
    names = _capsule_names(cblas)
    for key, signature in EXPECTED_CAPI.items():
        assert names[key] == signature


def test_cblas_object_layout():
    # PyObject header plus one std::shared_ptr, as in thinc 8.3.
    assert cblas.CBlas.__basicsize__ == 32
    table = NumpyOps().cblas()
    assert isinstance(table, cblas.CBlas)


def test_gemm_paths_are_named_per_dtype():
    description = NumpyOps.blas_backend
    assert description == cblas.gemm_description() == NumpyOps().blas_backend
    assert description.startswith("float32: ") and "; float64: " in description
    paths = cblas.gemm_paths()
    for dtype in ("float32", "float64"):
        assert set(paths[dtype]) == {"small", "large", "refused"}
        assert paths[dtype]["large"] in description
        # Nothing that was refused as wrong is used.
        assert not any(
            name in (paths[dtype]["small"], paths[dtype]["large"])
            for name in paths[dtype]["refused"]
        )
    assert isinstance(cblas.blis_arch(), str) and cblas.blis_arch()


FORCED_BLIS = r"""
import numpy
from thinc.backends import cblas
from thinc.backends.numpy_ops import NumpyOps
paths = cblas.gemm_paths()
assert paths["forced"] == "blis" and paths["small_gemm"] == 0, paths
assert paths["float32"]["large"].startswith("blis") or paths["float32"]["refused"], paths
blis_name = "blis (" + cblas.blis_arch() + " kernels)"
assert paths["float64"]["large"].startswith("blis") or blis_name in paths["float64"]["refused"], paths
rng = numpy.random.default_rng(0)
a = rng.standard_normal((300, 200)).astype("f")
b = rng.standard_normal((150, 200)).astype("f")
numpy.testing.assert_allclose(NumpyOps().gemm(a, b, trans2=True), a @ b.T, rtol=1e-4, atol=1e-3)
print("ok")
"""


def test_thinc_blas_environment_variable_forces_blis():
    completed = subprocess.run(
        [sys.executable, "-c", FORCED_BLIS],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env={"THINC_BLAS": "blis", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "ok"


@pytest.mark.parametrize("shape", [(3, 4, 5), (64, 300, 200), (257, 129, 65)])
def test_gemm_small_and_large_paths(shape):
    # Small products run on blis, large ones on the chosen library.
    M, N, K = shape
    rng = numpy.random.default_rng(1)
    a = rng.standard_normal((M, K)).astype("f")
    b = rng.standard_normal((K, N)).astype("f")
    numpy.testing.assert_allclose(NumpyOps().gemm(a, b), a @ b, rtol=1e-4, atol=1e-3)
    numpy.testing.assert_allclose(
        NumpyOps().gemm(a.astype("d"), b.astype("d")), a.astype("d") @ b, rtol=1e-10, atol=1e-10
    )


ORACLE = r"""
import ctypes, thinc.backends.cblas as c
get = ctypes.pythonapi.PyCapsule_GetName
get.restype = ctypes.c_char_p
get.argtypes = [ctypes.py_object]
for key, value in sorted(c.__pyx_capi__.items()):
    print(key, get(value).decode())
"""


def test_signatures_against_installed_thinc_8_3_14():
    ref_python = require_ref_thinc()
    completed = subprocess.run(
        [str(ref_python), "-c", ORACLE], capture_output=True, text=True, cwd="/", check=True
    )
    expected = dict(line.split(" ", 1) for line in completed.stdout.strip().splitlines())
    ours = {key: value.decode() for key, value in _capsule_names(cblas).items()}
    assert {key: ours[key] for key in expected} == expected


@pytest.mark.skipif(not cblas.own_sgemm_is_available(), reason="this CPU has no AVX2/FMA")
def test_small_products_on_the_calling_thread_match_the_split_kernel():
    # Where the own kernel runs small products it keeps them off the thread
    # pool; the bits are those of the split product (each element sums its k
    # terms in one order however the work is shared out).
    from thinc.backends import dispatch

    ops = NumpyOps()
    rng = numpy.random.default_rng(11)
    shapes = [(64, 288, 96), (128, 96, 64), (40, 100, 33), (33, 7, 900)]
    for M, N, K in shapes:
        a = rng.standard_normal((M, K)).astype("f")
        b = rng.standard_normal((N, K)).astype("f")
        bias = rng.standard_normal((N,)).astype("f")
        with dispatch.forced(blas="thinc", grain=1):
            want = (ops.gemm(a, b, trans2=True), ops.affine(a, b, bias))
        with dispatch.forced(blas="", small_gemm=1 << 30):
            small = cblas.gemm_paths()["float32"]["small"]
            got = (ops.gemm(a, b, trans2=True), ops.affine(a, b, bias))
        if not small.startswith("thinc"):
            pytest.skip(f"small products run on {small} here")
        assert small.endswith("on the calling thread")
        for expected, actual in zip(want, got):
            numpy.testing.assert_array_equal(actual, expected, err_msg=f"{(M, N, K)}")
        numpy.testing.assert_allclose(got[0], a @ b.T, rtol=1e-4, atol=1e-4)
