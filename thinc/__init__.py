"""thinc: a lightweight deep-learning library with compiled CPU kernels.

Models are composed from layers; layers compute through an Ops backend."""

import numpy  # noqa: F401  (imported first so its C API is ready for our extensions)

from .about import __version__
from .config import registry

__all__ = ["registry", "__version__"]
