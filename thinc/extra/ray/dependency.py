"""Ray is an optional extra: the one place that imports it for this package,
so that `import thinc.extra.ray` works without it and the error names the fix."""

from typing import Any

INSTALL_HINT = 'pip install "thinc[ray]"'


def require_ray() -> Any:
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f"thinc.extra.ray needs Ray, which is not installed: {INSTALL_HINT} "
            '(or pip install "ray>=2.60,<3")'
        ) from error
    return ray
