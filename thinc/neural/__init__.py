"""The thinc 7 API for models written as Model subclasses with begin_update.

``thinc.neural.Model`` subclasses compose with thinc 8 combinators and train with
thinc 8 optimizers; ``thinc.neural.optimizers`` keeps thinc 7's call style."""

from . import ops, optimizers
from .model import Model

__all__ = ["Model", "ops", "optimizers"]
