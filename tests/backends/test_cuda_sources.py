"""The CUDA source compiles, on machines without a GPU: with nvcc for the
architectures cupy builds for, and with NVRTC (the compiler cupy.RawModule runs)
where cupy and its NVRTC library are installed. Both must export exactly the
kernels that _custom_kernels.py launches."""

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from thinc.backends import _custom_kernels

# The oldest architecture CUDA 13's nvcc still targets is Turing (sm_75;
# Maxwell, Pascal and Volta were dropped), then Ampere (A100, consumer),
# Ada, Hopper (H100/H200) and Blackwell (B200, consumer).
ARCHITECTURES = ("75", "80", "86", "89", "90", "100", "120")
NVRTC_ARCHITECTURES = ("75", "90")


def _entries(ptx: str) -> set:
    return set(re.findall(r"^\.visible \.entry (\w+)\(", ptx, flags=re.M))


def _nvcc_architectures(nvcc: str) -> set:
    listed = subprocess.run(
        [nvcc, "--list-gpu-arch"], capture_output=True, text=True, timeout=60
    ).stdout
    return set(re.findall(r"compute_(\d+)", listed))


def _compile(nvcc: str, architecture: str, out: Path) -> str:
    """PTX for the architecture (its kernel entries), then a cubin through ptxas,
    warnings as errors in both."""
    source = str(_custom_kernels.KERNELS_SOURCE_PATH)
    common = [nvcc, *_custom_kernels.COMPILE_OPTIONS, "-Werror", "all-warnings"]
    ptx = out / f"kernels_{architecture}.ptx"
    subprocess.run(
        common + ["-ptx", f"-arch=compute_{architecture}", "-o", str(ptx), source],
        check=True,
        timeout=300,
        capture_output=True,
    )
    subprocess.run(
        common
        + ["-cubin", f"-arch=sm_{architecture}", "-Xptxas", "-Werror", "-o", str(ptx) + ".cubin"]
        + [source],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return ptx.read_text()


def test_every_requested_kernel_is_defined_in_the_source():
    """Each name the wrappers launch comes from a macro or a table row in the
    .cu file; a renamed kernel would otherwise fail only on a GPU."""
    source = _custom_kernels.KERNELS_SRC
    for name in _custom_kernels.KERNEL_NAMES:
        base, _, suffix = name.rpartition("_")
        if name == "hash_data" or name in ("pad_int32", "pad_int64"):
            assert re.search(rf'extern "C" __global__ void {name}\(', source), name
            continue
        assert suffix in ("float", "double"), name
        generated_by_macro = re.search(rf"void {base}_##SUFFIX\(", source)
        generated_by_table = re.search(rf"^\s*X\({base},", source, flags=re.M)
        assert generated_by_macro or generated_by_table, name
    # Each float macro and table is instantiated for both precisions.
    for instantiation in (
        "THINC_FLOAT_KERNELS(float, float)",
        "THINC_FLOAT_KERNELS(double, double)",
        "THINC_GPU_FORWARD_OPS(THINC_FORWARD_FLOAT)",
        "THINC_GPU_FORWARD_OPS(THINC_FORWARD_DOUBLE)",
        "THINC_GPU_BACKWARD_OPS(THINC_BACKWARD_FLOAT)",
        "THINC_GPU_BACKWARD_OPS(THINC_BACKWARD_DOUBLE)",
    ):
        assert instantiation in source


def test_cuda_source_compiles_with_nvcc_for_every_architecture(tmp_path):
    """nvcc compiles the .cu to PTX and through ptxas for each architecture, and
    exports exactly the kernels the wrappers launch. One nvcc run per
    architecture and output kind, two at a time (about 20 s on 2 cores)."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found: install the CUDA toolkit to compile-check the kernels")
    supported = _nvcc_architectures(nvcc)
    architectures = [arch for arch in ARCHITECTURES if arch in supported]
    assert "75" in architectures or "80" in architectures, f"nvcc targets only {supported}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        ptx_by_arch = dict(
            zip(architectures, pool.map(lambda arch: _compile(nvcc, arch, tmp_path), architectures))
        )
    for architecture, ptx in ptx_by_arch.items():
        assert _entries(ptx) == set(_custom_kernels.KERNEL_NAMES), architecture


def test_cuda_source_compiles_with_nvrtc_as_cupy_compiles_it():
    """NVRTC, the compiler behind cupy.RawModule, has no system headers and its
    own dialect; cupy's NVRTC program runs without a device."""
    cupy = pytest.importorskip("cupy", reason="needs cupy (pip install cupy-cuda12x)")
    compiler = pytest.importorskip("cupy.cuda.compiler")
    program_class = getattr(compiler, "_NVRTCProgram", None)
    if program_class is None:
        pytest.skip(f"cupy {cupy.__version__} has no NVRTC program class to call directly")
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception as error:  # the library is loaded lazily; any failure means absent
        pytest.skip(
            f"cupy's NVRTC library is not loadable ({error}): pip install nvidia-cuda-nvrtc"
        )
    for architecture in NVRTC_ARCHITECTURES:
        program = program_class(_custom_kernels.KERNELS_SRC, "thinc_kernels.cu")
        options = _custom_kernels.COMPILE_OPTIONS + (f"-arch=compute_{architecture}",)
        ptx, _ = program.compile(options=options)
        text = ptx.decode() if isinstance(ptx, bytes) else ptx
        assert _entries(text) == set(_custom_kernels.KERNEL_NAMES), architecture
