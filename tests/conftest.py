"""Suite-wide settings: hypothesis keeps no example database in the checkout,
and the compiled-kernel test modules run once per instruction-set level the CPU has."""

import os
import tempfile

# Hypothesis's own files (its cache of constants) live outside the checkout.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "thinc-hypothesis")
)

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# The seeding fixture below is function-scoped and only seeds: safe under @given.
_HEALTH = [HealthCheck.function_scoped_fixture]
# No example database: a failure prints its example (and a reproduce blob)
# instead of being replayed by every later run of the suite in this checkout.
settings.register_profile("thinc", database=None, print_blob=True, suppress_health_check=_HEALTH)
# CI: the same examples every run, so a red CI names a real regression.
settings.register_profile(
    "thinc-ci", database=None, print_blob=True, derandomize=True, suppress_health_check=_HEALTH
)
settings.load_profile("thinc-ci" if os.environ.get("CI") else "thinc")

# Modules whose tests compare compiled kernels with the reference Ops: each
# runs under every level of thinc.backends.dispatch.available_isas().
KERNEL_MODULES = {
    "tests.backends.test_numpy_ops",
    "tests.backends.test_kernels_elementwise",
    "tests.backends.test_kernel_grids",
    "tests.backends.test_elementwise_table",
    "tests.backends.test_ops_oracle",
    "tests.backends.test_ops_props",
    "tests.backends.test_ops_grads",
    "tests.backends.test_parallel",
    "tests.backends.test_linalg",
    "tests.backends.test_cblas_axpy",
    "tests.layers.test_fused_layer_ops",
}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__ in KERNEL_MODULES and "kernel_isa" in metafunc.fixturenames:
        from thinc.backends.dispatch import available_isas

        metafunc.parametrize("kernel_isa", available_isas(), indirect=True, scope="module")


@pytest.fixture(autouse=True, scope="module")
def kernel_isa(request):
    """The instruction-set level this module's kernels are forced to (None:
    the module is not a kernel module and runs at the default level)."""
    level = getattr(request, "param", None)
    if level is None:
        yield None
        return
    from thinc.backends import dispatch

    dispatch.configure(isa=level)
    try:
        yield level
    finally:
        dispatch.configure(isa=None)


@pytest.fixture(autouse=True)
def seeded_random_state():
    """Every test starts from the same random state, whichever tests ran (or
    were skipped) before it: a draw that trips a test fails every run."""
    from thinc.util import fix_random_seed

    fix_random_seed(0)
    yield
