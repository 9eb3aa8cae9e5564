"""Shims wrap models from other frameworks so that a thinc Model can hold them.

Only the base class lives here for now; framework shims are added alongside."""
from .shim import Shim

__all__ = ["Shim"]
