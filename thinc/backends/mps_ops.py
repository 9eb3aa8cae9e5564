"""PLACEHOLDER (owned by the types/util helper)."""
from .numpy_ops import NumpyOps


class MPSOps(NumpyOps):
    name = "mps"
