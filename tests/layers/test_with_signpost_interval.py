import contextlib
import importlib

import numpy
import pytest

from thinc.layers.linear import Linear
from thinc.layers.with_signpost_interval import with_signpost_interval

# The package re-exports the function under the module's name, so fetch the module.
module = importlib.import_module("thinc.layers.with_signpost_interval")


class FakeSignposter:
    def __init__(self):
        self.intervals = []

    @contextlib.contextmanager
    def use_interval(self, name):
        self.intervals.append(name)
        yield


def test_with_signpost_interval_requires_package(monkeypatch):
    monkeypatch.setattr(module, "has_os_signpost", False)
    with pytest.raises(ValueError, match="os_signpost"):
        with_signpost_interval(Linear(2, 2), FakeSignposter())


def test_with_signpost_interval_marks_passes(monkeypatch):
    monkeypatch.setattr(module, "has_os_signpost", True)
    signposter = FakeSignposter()
    layer = with_signpost_interval(Linear(3, 2), signposter, "lin")
    assert layer.name == "linear"
    layer.initialize()
    Y, backprop = layer.begin_update(numpy.ones((1, 2), dtype="f"))
    backprop(numpy.ones_like(Y))
    assert signposter.intervals == ["lin init", "lin forward", "lin backprop"]
