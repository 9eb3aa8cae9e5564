"""thinc's gemm kernels built with AddressSanitizer and UBSan and run on a grid
of shapes: float32 (tests/backends/native/gemm_sanitized.cc) and bf16 and int8
(reduced_sanitized.cc). No read or write past an operand, no undefined
behaviour, and every product right, at each vector level the CPU has, on one
thread and split over two. (Masked vector loads and stores are not checked by
AddressSanitizer; what they read wrongly shows in the products.)"""

import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATIVE = Path(__file__).parent / "native"
SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
]


def _compiler() -> str:
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the gemm kernels are AVX2/AVX-512 code: x86-64 only")
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no g++ on this machine")
    return compiler


@pytest.mark.parametrize("driver", ["gemm_sanitized.cc", "reduced_sanitized.cc"])
def test_gemm_kernels_under_address_and_undefined_behaviour_sanitizers(tmp_path, driver):
    compiler = _compiler()
    # A compiler without the sanitizer runtimes is the machine's limit, not
    # the kernels' fault; a failure to build the driver is.
    probe = tmp_path / "probe.cc"
    probe.write_text("int main() { return 0; }\n")
    probe_build = subprocess.run(
        [compiler, *SANITIZE, str(probe), "-o", str(tmp_path / "probe")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe_build.returncode != 0:
        pytest.skip(f"g++ here cannot link AddressSanitizer/UBSan: {probe_build.stderr[-300:]}")
    binary = tmp_path / "gemm_sanitized"
    build = subprocess.run(
        [
            compiler,
            "-O1",
            "-g",
            "-std=c++17",
            "-pthread",
            *SANITIZE,
            f"-I{ROOT / 'include'}",
            str(NATIVE / driver),
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    # The worker pool is never torn down (detached workers), which the leak
    # checker would report.
    env = dict(
        os.environ,
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
        UBSAN_OPTIONS="print_stacktrace=1",
    )
    env.pop("THINC_ISA", None)
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=900, env=env)
    if result.returncode == 0 and result.stdout.startswith("no vector level"):
        pytest.skip("this CPU has no AVX2/FMA: the kernels never run")
    if result.returncode == 0 and result.stdout.startswith("no reduced-precision kernel"):
        pytest.skip(
            "this CPU has neither AVX-512 BF16 nor VNNI (AVX-512 or AVX): no bf16/int8 kernel runs"
        )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    assert "wrong 0" in result.stdout, result.stdout[-2000:]
