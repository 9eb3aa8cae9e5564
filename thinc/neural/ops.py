"""The backends under their thinc 7 import path."""

from ..backends import CupyOps, NumpyOps, Ops

__all__ = ["Ops", "NumpyOps", "CupyOps"]
