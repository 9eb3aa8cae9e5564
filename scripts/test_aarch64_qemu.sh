#!/usr/bin/env bash
# Runs (part of) thinc's test suite on an aarch64 build of thinc, emulated
# with qemu-user on an x86-64 Debian host, so the compiled kernels' portable
# (non-x86) code paths are tested for real, not only compiled
# (scripts/cross_compile_aarch64.sh only compiles them).
#
# Run by hand, as root (apt-get, debootstrap); not part of CI: too slow.
#   scripts/test_aarch64_qemu.sh          # the default selection (below)
#   scripts/test_aarch64_qemu.sh tests/backends/test_numpy_ops.py -x   # any pytest
#       arguments instead (test paths, -k, -x, -rs, --durations=20, ...)
# The default selection: tests/backends, tests/layers and tests/test_model.py,
# less test_dispatch.py's two exhaustive gemm grids (16 cases of up to 220,000
# products each; pass the paths explicitly to include them).
#
# What it does (each step is skipped when its result is already there):
#   1. apt-get installs qemu-user-static, debootstrap, proot, g++-aarch64-linux-gnu.
#   2. debootstrap makes an arm64 Debian bookworm root in $CACHE/root (first
#      stage on the host, second stage emulated), from the mirror apt here uses.
#   3. A venv in that root (/opt/venv) gets thinc's dependencies as aarch64
#      wheels from PyPI (pip runs emulated).
#   4. The repository's files are copied to $CACHE/src (the checkout and its
#      x86-64 .so files are never touched); Cython runs on the host, and the
#      host's aarch64 cross compiler builds the extensions against the arm64
#      root's Python and numpy headers (cached by the hash of their inputs).
#   5. pytest runs emulated in $CACHE/src.
# Emulated programs run through proot (ptrace: it sends every exec of an arm64
# binary through qemu-aarch64-static), so no binfmt_misc is needed. Known
# limit: proot 5.1 does not translate statx(), so coreutils' ls/stat fail
# inside the root; Python and dpkg do not use it.
#
# Time, measured on 2 busy x86-64 cores: the first run makes the root in
# ~8 min (debootstrap: first stage 20 s, emulated second stage 7.5 min),
# installs the wheels in ~3 min (venv 40 s, pip 2 min) and cross-compiles in
# ~3 min (1 min per changed module after that; unchanged ones come from the
# cache); later runs reach pytest within ~30 s. The default selection then
# takes ~6.5 min emulated (1411 passed, 448 skipped at 03:17Z on 2026-12-05;
# natively ~1 min).
#
# Environment: THINC_AARCH64_CACHE (default /var/cache/thinc-aarch64),
# THINC_AARCH64_MIRROR (default: the Debian mirror of this machine's apt
# sources), HOST_PYTHON (a host Python with Cython; default .venv/bin/python),
# THINC_AARCH64_QEMU_CPU (qemu's -cpu model; default neoverse-n1, an
# Armv8.2 server core without SVE. With "max" (qemu's own default: SVE2 and
# SME) numpy's OpenBLAS picks its armv9sme kernels, which qemu 7.2 emulates
# several times slower still, and in test_dispatch.py they got a product
# wrong and timed at 0.0 GFLOPS: test_thinc_blas_forces_small_products_too[numpy]
# and test_float32_choice_is_timed_once_and_kept fail there, pass on
# neoverse-n1 and cortex-a72).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${THINC_AARCH64_CACHE:-/var/cache/thinc-aarch64}
ROOT=$CACHE/root
SRC=$CACHE/src
SO_CACHE=$CACHE/so
SUITE=bookworm
PYVER=3.11
GUEST_PY=/opt/venv/bin/python
QEMU=qemu-aarch64-static
QEMU_CPU_MODEL=${THINC_AARCH64_QEMU_CPU:-neoverse-n1}
CXX=aarch64-linux-gnu-g++
# Pinned to what the host's .venv has, so both architectures test the same code.
GUEST_DEPS=(
    "numpy==2.4.6" "blis==1.3.4" "cymem==2.0.16" "preshed==3.0.15" "murmurhash==1.0.16"
    "srsly==2.5.6" "catalogue==2.0.10" "confection==1.3.4" "wasabi==1.1.3"
    "pydantic==2.14.4" "packaging==26.4" "tqdm==4.70.1" "setuptools"
    "pytest==9.2.0" "hypothesis==6.170.27" "mock==5.2.0" "Cython==3.3.1"
)
DEFAULT_TESTS=(tests/backends tests/layers tests/test_model.py
               -k "not test_gemm_exhaustive_small_shapes and not test_gemm_every_depth")

SCRIPT_START=$(date +%s)
STEP_START=$SCRIPT_START
step() {
    local now
    now=$(date +%s)
    if [ -n "${STEP_NAME:-}" ]; then
        echo "    (${STEP_NAME}: $((now - STEP_START)) s)"
    fi
    STEP_NAME=$1
    STEP_START=$now
    echo
    echo "==> [$(date -u +%H:%M:%S)] $1"
}
die() { echo "ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, debootstrap and the arm64 root need it)"
[ "$(uname -m)" = x86_64 ] || die "this script emulates aarch64 on an x86-64 host"

# --- 1 ------------------------------------------------------------------
step "1. host tools: qemu-user-static, debootstrap, proot, $CXX"
missing=()
command -v "$QEMU" >/dev/null || missing+=(qemu-user-static)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v proot >/dev/null || missing+=(proot)
command -v "$CXX" >/dev/null || missing+=(g++-aarch64-linux-gnu)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "    apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "    all present"
fi
echo "    $($QEMU --version | head -1); proot $(proot --version 2>&1 | grep -m1 -oE '[0-9]+\.[0-9]+\.[0-9]+' || true)"
if [ -d /proc/sys/fs/binfmt_misc ] && [ -e /proc/sys/fs/binfmt_misc/status ]; then
    echo "    binfmt_misc is mounted here; not needed (proot runs qemu explicitly)"
else
    echo "    binfmt_misc is not mounted: proot runs each arm64 program through $QEMU"
fi
echo "    emulated CPU: $QEMU_CPU_MODEL (THINC_AARCH64_QEMU_CPU)"

# The host's CA bundle (this network may inspect TLS with its own CA); pip in
# the root uses it.
HOST_CA=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
[ -r "$HOST_CA" ] || HOST_CA=/etc/ssl/certs/ca-certificates.crt

# Runs an arm64 program in the root, emulated (niced). GUEST_CWD: its directory.
guest() {
    mkdir -p "$SRC"
    nice env -i PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp \
        PIP_CERT=/etc/thinc-host-ca.crt PIP_DEFAULT_TIMEOUT=180 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        ${GUEST_ENV:-} \
        proot -q "$QEMU -cpu $QEMU_CPU_MODEL" -r "$ROOT" -w "${GUEST_CWD:-/}" \
        -b /dev -b /proc -b /sys -b /etc/resolv.conf \
        -b "$HOST_CA:/etc/thinc-host-ca.crt" -b "$SRC:/src" "$@"
}

# --- 2 ------------------------------------------------------------------
step "2. arm64 Debian $SUITE root in $ROOT"
mirror=${THINC_AARCH64_MIRROR:-}
if [ -z "$mirror" ]; then
    # The first URI of apt's sources that serves the $SUITE suite (deb822 or one-line).
    mirror=$(
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            awk -v suite="$SUITE" '
                function emit() { if (uri != "" && ok && deb) print uri; uri = ""; ok = 0; deb = 0 }
                /^[ \t]*$/ { emit(); next }
                /^URIs:/ { uri = $2 }
                /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
                /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
                END { emit() }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -r "$f" ] || continue
            awk -v suite="$SUITE" '
                $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                              if ($(i + 1) == suite) print $i }' "$f"
        done
    )
    mirror=$(echo "$mirror" | grep -v -- '-security' | head -1 || true)
fi
[ -n "$mirror" ] || die "no Debian mirror for $SUITE in apt's sources; set THINC_AARCH64_MIRROR"
echo "    mirror: $mirror"
if [ -e "$ROOT/.thinc-root-ok" ]; then
    echo "    already made (delete $ROOT to remake it)"
else
    if [ ! -e "$ROOT/.thinc-stage1-ok" ]; then
        echo "    debootstrap --foreign (first stage, on the host; ~20 s)"
        rm -rf "$ROOT"
        mkdir -p "$CACHE"
        nice debootstrap --foreign --arch=arm64 --variant=minbase \
            --include=python3,python3-venv,python3-dev,ca-certificates \
            "$SUITE" "$ROOT" "$mirror" >"$CACHE/debootstrap-stage1.log" 2>&1 ||
            { tail -20 "$CACHE/debootstrap-stage1.log"; die "debootstrap's first stage failed (log: $CACHE/debootstrap-stage1.log)"; }
        touch "$ROOT/.thinc-stage1-ok"
    fi
    echo "    debootstrap --second-stage (emulated; ~7 min)"
    GUEST_ENV="DEBOOTSTRAP_DIR=/debootstrap" guest /debootstrap/debootstrap --second-stage \
        >"$CACHE/debootstrap-stage2.log" 2>&1 ||
        { tail -20 "$CACHE/debootstrap-stage2.log"; die "debootstrap's second stage failed (log: $CACHE/debootstrap-stage2.log); delete $ROOT to start over"; }
    touch "$ROOT/.thinc-root-ok"
fi
echo "    $(guest /usr/bin/python3 -c 'import sys, platform; print("python", sys.version.split()[0], "on", platform.machine())')"

# --- 3 ------------------------------------------------------------------
step "3. Python dependencies as aarch64 wheels in $ROOT/opt/venv"
deps_stamp="$ROOT/opt/venv/.thinc-deps"
if [ -e "$deps_stamp" ] && [ "$(cat "$deps_stamp")" = "${GUEST_DEPS[*]}" ]; then
    echo "    already installed"
else
    if [ ! -x "$ROOT$GUEST_PY" ]; then
        echo "    python3 -m venv /opt/venv"
        guest /usr/bin/python3 -m venv /opt/venv
    fi
    echo "    pip install (emulated; ~2-3 min): ${GUEST_DEPS[*]}"
    guest "$GUEST_PY" -m pip install -q --only-binary=:all: "${GUEST_DEPS[@]}"
    echo "${GUEST_DEPS[*]}" >"$deps_stamp"
fi
numpy_include=$(guest "$GUEST_PY" -c 'import numpy; print(numpy.get_include())')
echo "    arm64 numpy headers: $numpy_include"

# --- 4 ------------------------------------------------------------------
step "4. copy the repository to $SRC and cross-compile the extensions for aarch64"
rm -rf "$SRC"
mkdir -p "$SRC" "$SO_CACHE"
# Tracked files and new files git does not ignore, as they are in the working tree now.
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$REPO" && xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$REPO" --null -T - -cf - | tar -C "$SRC" -xf -
echo "    copied $(find "$SRC" -type f | wc -l) files"

HOST_PYTHON=${HOST_PYTHON:-$REPO/.venv/bin/python}
"$HOST_PYTHON" -c 'import Cython' 2>/dev/null ||
    die "no Cython in $HOST_PYTHON (run make venv, or set HOST_PYTHON)"
py_include=$ROOT/usr/include/python$PYVER
py_arch_include=$ROOT/usr/include/aarch64-linux-gnu/python$PYVER
[ -e "$py_include/Python.h" ] && [ -e "$py_arch_include/pyconfig.h" ] ||
    die "no arm64 Python headers in the root (python3-dev)"
ext_suffix=$(guest "$GUEST_PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
# setup.py's flags; -idirafter: Debian's pyconfig.h wrapper includes
# <aarch64-linux-gnu/python3.11/pyconfig.h>, found last, after the cross
# compiler's own headers.
CXXFLAGS=(-O3 -std=c++17 -fno-trapping-math -fno-math-errno -Wno-unused-function
          -Wno-strict-aliasing -pthread -fPIC
          -DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION
          -I"$py_include" -I"$py_arch_include" -idirafter "$ROOT/usr/include"
          -I"$ROOT$numpy_include" -I"$SRC/include")
LDFLAGS=(-shared -pthread)
cython_version=$("$HOST_PYTHON" -c 'import Cython; print(Cython.__version__)')
compiler_version=$("$CXX" --version | head -1)

# Every module's inputs: its .pyx, all .pxd and headers (a change in any one
# rebuilds everything: simple and always right), the flags, the tools.
common_hash=$(
    {
        (cd "$SRC" && find thinc include -name '*.pxd' -o -name '*.hh' -o -name '*.h' | sort | xargs sha256sum)
        echo "${CXXFLAGS[*]} ${LDFLAGS[*]} $cython_version $compiler_version $ext_suffix"
        echo "${GUEST_DEPS[*]}"
    } | sha256sum | cut -c1-16
)
to_build=()
while IFS= read -r pyx; do
    module=${pyx%.pyx}
    key=$(cat "$SRC/$pyx" | sha256sum | cut -c1-16)-$common_hash
    cached="$SO_CACHE/$(echo "$module" | tr / .).$key.so"
    if [ -e "$cached" ]; then
        cp "$cached" "$SRC/$module$ext_suffix"
        echo "    cached: $module$ext_suffix"
    else
        to_build+=("$pyx")
    fi
done < <(cd "$SRC" && find thinc -name '*.pyx' | sort)

if [ "${#to_build[@]}" -gt 0 ]; then
    echo "    cython (host, $cython_version): ${to_build[*]}"
    (cd "$SRC" && nice "$HOST_PYTHON" - "${to_build[@]}" <<'EOF'
import sys
from Cython.Build import cythonize
from setuptools import Extension

exts = [Extension(p[:-4].replace("/", "."), [p], language="c++") for p in sys.argv[1:]]
cythonize(exts, compiler_directives={"language_level": "3", "embedsignature": True,
                                     "binding": False}, quiet=True)
EOF
    )
    echo "    $compiler_version: compiling ${#to_build[@]} modules (2 at a time)"
    export CXX SRC ext_suffix SO_CACHE common_hash
    export CXXFLAGS_STR="${CXXFLAGS[*]}" LDFLAGS_STR="${LDFLAGS[*]}"
    printf '%s\0' "${to_build[@]}" | xargs -0 -n1 -P2 bash -c '
        set -euo pipefail
        pyx=$1; module=${pyx%.pyx}
        out="$SRC/$module$ext_suffix"
        start=$(date +%s)
        # shellcheck disable=SC2086
        if ! nice "$CXX" $CXXFLAGS_STR "$SRC/$module.cpp" $LDFLAGS_STR -o "$out" 2>"$out.log"; then
            echo "    FAILED: $module (log: $out.log)"; grep -m20 error "$out.log"; exit 1
        fi
        key=$(sha256sum <"$SRC/$pyx" | cut -c1-16)-$common_hash
        cp "$out" "$SO_CACHE/$(echo "$module" | tr / .).$key.so"
        rm -f "$out.log"
        echo "    built: $module$ext_suffix ($(( $(date +%s) - start )) s)"
    ' sh || die "cross-compiling failed"
fi
file "$SRC/thinc/backends/numpy_ops$ext_suffix" | sed 's/^/    /'

echo "    importing the compiled modules (emulated)"
GUEST_CWD=/src guest "$GUEST_PY" -c '
import importlib, pathlib
for so in sorted(pathlib.Path("thinc").rglob("*.so")):
    importlib.import_module(".".join(so.relative_to(".").parts[:-1] + (so.name.split(".")[0],)))
from thinc.backends import dispatch
print("    ok; thinc.backends.dispatch.available_isas():", dispatch.available_isas())
'

# --- 5 ------------------------------------------------------------------
if [ "$#" -eq 0 ]; then
    set -- "${DEFAULT_TESTS[@]}"
fi
step "5. pytest (emulated aarch64, in $SRC): $*"
set +e
GUEST_CWD=/src guest "$GUEST_PY" -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
step "done"
echo "    total: $(( $(date +%s) - SCRIPT_START )) s; pytest exit status $rc"
exit $rc
