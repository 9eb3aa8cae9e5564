"""Tests for the Shim base class: ids, config, the abstract interface, copying
and disk round trips; its public signatures are compared with thinc 8.3.14."""

import inspect
import json
import subprocess
import tempfile
import threading

import pytest

from tests.util import require_ref_thinc
from thinc.shims import Shim


class ListShim(Shim):
    """A shim around a plain list, serialized as comma-separated digits."""

    def to_bytes(self):
        return ",".join(str(value) for value in self._model).encode("utf8")

    def from_bytes(self, data):
        self._model = [int(value) for value in data.decode("utf8").split(",")]
        return self


def test_ids_increase_and_attributes_are_set():
    first = Shim("model")
    second = Shim("other", config={"a": 1}, optimizer="optimizer")
    assert second.id == first.id + 1
    assert Shim.global_id >= second.id
    assert first._model == "model" and first.cfg == {} and first._optimizer is None
    assert second.cfg == {"a": 1} and second._optimizer == "optimizer"


def test_config_is_copied():
    config = {"a": 1}
    shim = Shim(None, config=config)
    shim.cfg["a"] = 2
    assert config == {"a": 1}


def test_ids_are_unique_across_threads():
    ids = []
    lock = threading.Lock()

    def make():
        made = [Shim(None).id for _ in range(200)]
        with lock:
            ids.extend(made)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 800


@pytest.mark.parametrize(
    "method,args",
    [
        ("__call__", (1, True)),
        ("predict", (1,)),
        ("begin_update", (1,)),
        ("finish_update", (None,)),
        ("to_device", ("cpu", -1)),
        ("to_bytes", ()),
        ("from_bytes", (b"",)),
    ],
)
def test_the_interface_is_abstract(method, args):
    with pytest.raises(NotImplementedError):
        getattr(Shim(None), method)(*args)


def test_use_params_yields_nothing_by_default():
    with Shim(None).use_params({}) as result:
        assert result is None


def test_copy_is_deep_and_keeps_the_id():
    shim = ListShim([1, 2, 3], config={"nested": [1]})
    copied = shim.copy()
    assert type(copied) is ListShim
    assert copied.id == shim.id
    assert copied._model == [1, 2, 3] and copied._model is not shim._model
    assert copied.cfg["nested"] is not shim.cfg["nested"]


def test_disk_round_trip(tmp_path):
    path = tmp_path / "shim.bin"
    ListShim([4, 5]).to_disk(path)
    assert path.read_bytes() == b"4,5"
    loaded = ListShim([])
    assert loaded.from_disk(str(path)) is loaded
    assert loaded._model == [4, 5]
    with pytest.raises(FileNotFoundError):
        loaded.from_disk(tmp_path / "absent.bin")
    with pytest.raises(NotImplementedError):
        Shim(None).to_disk(tmp_path / "base.bin")


# Dunders other than these are inherited from object or typing.Generic.
DUNDERS = ("__init__", "__call__", "__add__", "__rshift__")

SIGNATURE_SCRIPT = """
import inspect, json
from thinc.shims import Shim
from thinc.model import Model
from thinc.backends import ParamServer
out = {}
for cls in (Shim, Model, ParamServer):
    for name, member in vars(cls).items():
        if callable(member) and (not name.startswith("__") or name in DUNDERS):
            try:
                params = inspect.signature(member).parameters.values()
            except (TypeError, ValueError):
                continue
            out[cls.__name__ + "." + name] = [
                [p.name, str(p.kind), repr(p.default)] for p in params
            ]
print(json.dumps(out))
"""


def signature_table(classes):
    table = {}
    for cls in classes:
        for name, member in vars(cls).items():
            if callable(member) and (not name.startswith("__") or name in DUNDERS):
                try:
                    params = inspect.signature(member).parameters.values()
                except (TypeError, ValueError):
                    continue
                table[cls.__name__ + "." + name] = [
                    [p.name, str(p.kind), repr(p.default)] for p in params
                ]
    return table


def test_public_signatures_match_thinc_8_3_14():
    python = require_ref_thinc()
    with tempfile.TemporaryDirectory() as cwd:
        result = subprocess.run(
            [str(python), "-c", f"DUNDERS = {DUNDERS!r}\n" + SIGNATURE_SCRIPT],
            capture_output=True,
            cwd=cwd,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr.decode()
    reference = json.loads(result.stdout)
    from thinc.backends import ParamServer
    from thinc.model import Model

    ours = signature_table((Shim, Model, ParamServer))
    # Model.define_operators is a classmethod-wrapped context manager in both.
    missing = sorted(set(reference) - set(ours))
    assert missing == []
    for name, parameters in reference.items():
        assert ours[name] == parameters, name


def test_package_exports_framework_shims_lazily():
    import sys

    import thinc.shims

    assert thinc.shims.Shim is Shim
    with pytest.raises(AttributeError, match="no attribute 'NotAShim'"):
        thinc.shims.NotAShim
    # Importing the package alone does not import the framework shims.
    assert "PyTorchShim" in thinc.shims.__all__
    if "thinc.shims.pytorch" not in sys.modules:
        assert "PyTorchShim" not in vars(thinc.shims)
    try:
        from thinc.shims import PyTorchShim
    except ImportError:
        pytest.skip("thinc.shims.pytorch is not available")
    assert issubclass(PyTorchShim, Shim)
