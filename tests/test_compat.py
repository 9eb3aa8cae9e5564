"""Tests for thinc.compat: optional-framework flags exist, agree with what is
importable, and a broken optional install cannot break `import thinc`."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thinc import compat

ROOT = Path(__file__).resolve().parents[1]

# thinc 8.3.14's thinc.compat names (plus has_h5py, has_blis, has_apple_ops).
NAMES = """Version cublas cupy cupy_from_dlpack cupy_version cupyx enable_mxnet
enable_tensorflow h5py has_cupy has_cupy_gpu has_gpu has_mxnet has_os_signpost
has_tensorflow has_tensorflow_gpu has_torch has_torch_amp has_torch_cuda_gpu has_torch_gpu
has_torch_mps has_torch_mps_gpu mxnet os_signpost tensorflow torch torch_version
has_h5py blis has_blis has_apple_ops""".split()


def test_names_exist():
    assert [name for name in NAMES if not hasattr(compat, name)] == []


def test_flags_are_bools_and_consistent():
    for name in NAMES:
        if name.startswith("has_"):
            assert isinstance(getattr(compat, name), bool), name
    assert compat.has_gpu == (compat.has_cupy_gpu or compat.has_torch_mps_gpu)
    assert compat.has_torch_gpu == compat.has_torch_cuda_gpu
    if not compat.has_cupy:
        assert compat.cupy is None and not compat.has_cupy_gpu
        assert compat.cupy_version == compat.Version("0.0.0")
    if not compat.has_torch:
        assert compat.torch is None and not compat.has_torch_amp


def test_torch_detection_matches_installation():
    try:
        import torch
    except ImportError:
        assert not compat.has_torch
        return
    assert compat.has_torch and compat.torch is torch
    assert compat.torch_version == compat.Version(torch.__version__.split("+")[0])
    assert compat.has_torch_cuda_gpu == (torch.cuda.device_count() > 0)


def test_tensorflow_and_mxnet_load_only_on_request():
    # Both are opt-in (slow to import, deprecated): nothing is imported at start-up.
    assert compat.tensorflow is None and not compat.has_tensorflow
    assert compat.mxnet is None and not compat.has_mxnet


def test_enable_tensorflow_without_tensorflow_raises_import_error():
    try:
        import tensorflow  # noqa: F401

        pytest.skip("tensorflow is installed")
    except ImportError:
        pass
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ImportError):
            compat.enable_tensorflow()
    assert not compat.has_tensorflow


def test_broken_optional_frameworks_do_not_break_import(tmp_path):
    # Fake cupy and torch packages that blow up on import with a non-ImportError.
    for name in ("cupy", "torch", "h5py"):
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("raise RuntimeError('broken CUDA driver')\n")
    script = textwrap.dedent("""
        import thinc.compat as compat, thinc.util
        assert not compat.has_cupy and compat.cupy is None
        assert not compat.has_torch and compat.torch is None
        assert not compat.has_h5py
        print("ok")
        """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
