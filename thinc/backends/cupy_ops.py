"""PLACEHOLDER (owned by the types/util helper)."""
from .ops import Ops


class CupyOps(Ops):
    name = "cupy"
