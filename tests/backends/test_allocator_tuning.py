"""The compiled backend's glibc allocator settings (include/thinc_malloc.hh):
not touched by importing the backend; applied when the first NumpyOps is made
(on glibc), left alone when the user opts out or sets their own."""

import os
import platform
import subprocess
import sys

import pytest

glibc_only = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's"
)


def tuned_in_fresh_process(**environment: str) -> bool:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.pop("THINC_TUNE_MALLOC", None)
    env.update(environment)
    code = (
        "import thinc.backends.numpy_ops as m; before = m.allocator_tuned(); m.NumpyOps(); "
        "assert before is None, before; print(m.allocator_tuned())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip() == "True"


@glibc_only
def test_tuned_by_default():
    assert tuned_in_fresh_process()


@glibc_only
def test_opt_out_and_user_settings_are_respected():
    assert not tuned_in_fresh_process(THINC_TUNE_MALLOC="0")
    assert not tuned_in_fresh_process(MALLOC_TRIM_THRESHOLD_="1000000")
    assert not tuned_in_fresh_process(MALLOC_MMAP_THRESHOLD_="1000000")
