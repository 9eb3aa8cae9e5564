"""Tests for Model serialization: round trips through dicts, bytes and disk,
byte-for-byte compatibility with thinc 8.3.14, and refusal of bad input."""

import base64
import json
import pickle
import subprocess
import tempfile
import textwrap

import numpy
import pytest
import srsly

from tests.util import require_ref_thinc
from thinc.model import Model
from thinc.shims import Shim

# Model-building code that runs unchanged against our thinc and thinc 8.3.14:
# a two-layer affine network with a shared layer, a ref, dims, attrs and an
# unallocated param.
BUILD_SOURCE = textwrap.dedent(
    """
    import numpy
    from thinc.model import Model

    def affine_forward(model, X, is_train):
        Y = X @ model.get_param("W").T
        if model.has_param("b"):
            Y = Y + model.get_param("b")
        return Y, None

    def chain_forward(model, X, is_train):
        for layer in model.layers:
            X = layer.predict(X)
        return X, None

    def affine(name, nO, nI, seed, allocated):
        rng = numpy.random.default_rng(seed)
        W = rng.normal(size=(nO, nI)).astype("float32") if allocated else None
        b = rng.normal(size=(nO,)).astype("float32") if allocated else None
        return Model(
            name,
            affine_forward,
            dims={"nO": nO, "nI": nI},
            params={"W": W, "b": b, "unused": None},
            attrs={"dropout_rate": 0.25, "tags": ["a", "b"], "scale": {"k": 1.5}, "none": None},
        )

    def build(allocated=True):
        first = affine("affine1", 4, 3, 0, allocated)
        second = affine("affine2", 2, 4, 1, allocated)
        shared = Model("shared_chain", chain_forward, layers=[first, second])
        top = Model("top", chain_forward, layers=[shared], dims={"nO": None}, attrs={"name": "top"})
        top.set_ref("output_layer", second)
        top.set_ref("missing", None)
        return top

    X = numpy.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    """
)


def build_ours(allocated=True):
    namespace: dict = {}
    exec(BUILD_SOURCE, namespace)
    return namespace["build"](allocated), namespace["X"]


def run_reference(script: str, stdin: bytes = b"") -> dict:
    """Run ``script`` (after BUILD_SOURCE) under thinc 8.3.14; it prints JSON."""
    python = require_ref_thinc()
    with tempfile.TemporaryDirectory() as cwd:  # so our thinc/ does not shadow it
        result = subprocess.run(
            [str(python), "-c", BUILD_SOURCE + textwrap.dedent(script)],
            input=stdin,
            capture_output=True,
            cwd=cwd,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def params_of(model):
    return {
        (position, name): node.get_param(name)
        for position, node in enumerate(model.walk())
        for name in node.param_names
        if node.has_param(name)
    }


def state_of(model):
    return [
        (node.name, {d: node.maybe_get_dim(d) for d in node.dim_names}, dict(node.attrs))
        for node in model.walk()
    ]


def one_node(**kwargs):
    return Model("node", lambda model, X, is_train: (X, None), **kwargs)


# --- round trips ----------------------------------------------------------------


def test_to_dict_layout():
    model, _ = build_ours()
    msg = model.to_dict()
    assert list(msg) == ["nodes", "attrs", "params", "shims"]
    assert [info["name"] for info in msg["nodes"]] == ["top", "shared_chain", "affine1", "affine2"]
    assert [info["index"] for info in msg["nodes"]] == [0, 1, 2, 3]
    assert list(msg["nodes"][0]) == ["index", "name", "dims", "refs"]
    assert msg["nodes"][0]["refs"] == {"output_layer": 3, "missing": None}
    assert msg["nodes"][0]["dims"] == {"nO": None}
    assert msg["nodes"][2]["dims"] == {"nO": 4, "nI": 3}
    assert msg["attrs"][2]["tags"] == srsly.msgpack_dumps(["a", "b"])
    assert msg["params"][2]["unused"] is None
    assert msg["params"][2]["W"].shape == (4, 3)
    assert msg["shims"] == [[], [], [], []]
    assert model.to_bytes() == srsly.msgpack_dumps(msg)


def test_bytes_round_trip_restores_everything():
    source, X = build_ours()
    expected = source.predict(X)
    target, _ = build_ours(allocated=False)
    for node in target.walk():
        node.attrs.clear()
    assert target.from_bytes(source.to_bytes()) is target
    assert state_of(target) == state_of(source)
    source_params, target_params = params_of(source), params_of(target)
    assert source_params.keys() == target_params.keys()
    for key, value in source_params.items():
        numpy.testing.assert_array_equal(target_params[key], value)
        assert target_params[key].dtype == value.dtype
        assert target_params[key].flags.writeable
    assert target.get_ref("output_layer") is target.layers[0].layers[1]
    assert target.has_ref("missing") is None
    numpy.testing.assert_array_equal(target.predict(X), expected)


def test_disk_round_trip(tmp_path):
    source, X = build_ours()
    path = tmp_path / "model.bin"
    source.to_disk(path)
    assert path.read_bytes() == source.to_bytes()
    target, _ = build_ours(allocated=False)
    assert target.can_from_disk(path)
    assert target.from_disk(str(path)) is target
    numpy.testing.assert_array_equal(target.predict(X), source.predict(X))


def test_from_disk_of_a_missing_file(tmp_path):
    model, _ = build_ours()
    with pytest.raises(FileNotFoundError, match="no file at"):
        model.from_disk(tmp_path / "absent.bin")
    assert model.can_from_disk(tmp_path / "absent.bin") is False
    assert model.can_from_disk(tmp_path) is False


def test_unallocated_params_in_the_data_unset_the_target():
    source = one_node(params={"W": None})
    target = one_node(params={"W": numpy.ones(2, dtype="f")})
    target.from_bytes(source.to_bytes())
    assert target.has_param("W") is None


def test_params_and_attrs_new_to_the_target_are_added():
    # Layers may create params in init, so a fresh model may not declare them.
    source = one_node(params={"W": numpy.ones(2, dtype="f")}, attrs={"extra": 3})
    target = one_node()
    target.from_bytes(source.to_bytes())
    numpy.testing.assert_array_equal(target.get_param("W"), [1.0, 1.0])
    assert target.attrs == {"extra": 3}


def test_unset_dims_in_the_data_keep_the_targets_value():
    source = one_node(dims={"nO": None})
    target = one_node(dims={"nO": 5})
    target.from_bytes(source.to_bytes())
    assert target.get_dim("nO") == 5


def test_array_and_tuple_attrs():
    attrs = {"array": numpy.arange(3, dtype="f"), "pair": (1, 2), "scalar": numpy.float32(2.5)}
    source = one_node(attrs=attrs)
    target = one_node()
    target.from_bytes(source.to_bytes())
    numpy.testing.assert_array_equal(target.attrs["array"], [0.0, 1.0, 2.0])
    assert target.attrs["pair"] == [1, 2]  # msgpack has no tuples
    assert target.attrs["scalar"] == numpy.float32(2.5)


def test_unserializable_attrs_are_skipped():
    source = one_node(attrs={"function": len, "kept": 1})
    assert list(source.to_dict()["attrs"][0]) == ["kept"]


def test_refs_outside_the_tree_cannot_be_serialized():
    model = one_node(refs={"outside": one_node()})
    with pytest.raises(ValueError, match=r"Cannot get references: \['outside'\]"):
        model.to_bytes()


class BytesShim(Shim):
    def to_bytes(self):
        return srsly.msgpack_dumps(self._model)

    def from_bytes(self, data):
        self._model = srsly.msgpack_loads(data)
        return self


def test_shims_are_serialized_per_node():
    source = one_node(shims=[BytesShim({"w": [1, 2]})])
    msg = source.to_dict()
    assert msg["shims"] == [[srsly.msgpack_dumps({"w": [1, 2]})]]
    target = one_node(shims=[BytesShim(None)])
    target.from_bytes(source.to_bytes())
    assert target.shims[0]._model == {"w": [1, 2]}


# --- mismatches and corrupt data -----------------------------------------------


def assert_unchanged_after(model, error_pattern, data):
    before = model.to_bytes()
    with pytest.raises(ValueError, match=error_pattern):
        if isinstance(data, dict):
            model.from_dict(data)
        else:
            model.from_bytes(data)
    assert model.to_bytes() == before


def test_truncated_and_garbage_bytes():
    model, _ = build_ours()
    data = model.to_bytes()
    for broken in (data[: len(data) // 2], data[:-1], b"", b"\xc1", b"\x00garbage"):
        assert_unchanged_after(model, "Cannot deserialize model", broken)
        assert model.can_from_bytes(broken) is False


def test_bytes_that_are_not_a_model():
    model, _ = build_ours()
    assert_unchanged_after(model, "expected a msgpack map, got list", srsly.msgpack_dumps([1, 2]))
    not_a_model = srsly.msgpack_dumps({"a": 1})
    assert_unchanged_after(model, "missing nodes, attrs, params, shims", not_a_model)
    with pytest.raises(TypeError, match="Expected bytes"):
        model.from_bytes("not bytes")


def test_node_count_mismatch():
    model, _ = build_ours()
    data = model.to_bytes()
    pattern = "has 4 entries in 'nodes' but the model 'shared_chain' has 3 nodes"
    assert_unchanged_after(model.layers[0], pattern, data)
    assert model.layers[0].can_from_bytes(data) is False


def test_node_name_mismatch():
    source, _ = build_ours()
    target, _ = build_ours()
    target.layers[0].layers[1].name = "renamed"
    pattern = r"node 3 \('renamed'\) is named 'affine2' in the data"
    assert_unchanged_after(target, pattern, source.to_bytes())
    assert target.can_from_bytes(source.to_bytes()) is False
    assert target.can_from_bytes(source.to_bytes(), strict=False) is True


def test_param_shape_mismatch():
    source = one_node(params={"W": numpy.ones((2, 3), dtype="f")})
    target = one_node(params={"W": numpy.ones((3, 3), dtype="f")})
    pattern = r"param 'W' of node 0 \('node'\) has shape \(3, 3\) but the data has \(2, 3\)"
    assert_unchanged_after(target, pattern, source.to_bytes())
    assert target.can_from_bytes(source.to_bytes(), strict=False) is False


def test_dim_mismatch_and_unknown_dim():
    source = one_node(dims={"nO": 2})
    data = source.to_bytes()
    conflict = "dimension 'nO' for model 'node' is 4 but the data has 2"
    assert_unchanged_after(one_node(dims={"nO": 4}), conflict, data)
    unknown = "unknown dimension 'nO' for model 'node'"
    assert_unchanged_after(one_node(dims={"nI": 4}), unknown, data)
    assert one_node(dims={"nO": 4}).can_from_bytes(source.to_bytes()) is False
    assert one_node(dims={"nO": None}).can_from_bytes(source.to_bytes()) is True


def test_bad_values_inside_a_valid_message():
    model, _ = build_ours()
    cases = [
        (
            ("nodes", 0, "refs", "output_layer"),
            17,
            "ref 'output_layer' of node 0 \\('top'\\) points at node 17",
        ),
        (("nodes", 2, "dims", "nO"), "four", "dimension 'nO' of node 2 \\('affine1'\\) is 'four'"),
        (("params", 2, "W"), [1, 2], "param 'W' of node 2 \\('affine1'\\) is not an array"),
        (("attrs", 2, "tags"), 5, "attr 'tags' of node 2 \\('affine1'\\) is not serialized bytes"),
        (("shims", 1), [b"x"], "node 1 \\('shared_chain'\\) has 0 shims but the data has 1"),
        (("nodes", 1), "oops", "node 1 lacks name, dims or refs"),
        (("params", 1), [], "params of node 1 is not a map"),
    ]
    for path, value, pattern in cases:
        msg = model.to_dict()
        holder = msg
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = value
        assert_unchanged_after(model, pattern, msg)
        assert_unchanged_after(model, pattern, srsly.msgpack_dumps(msg))


def test_can_from_bytes_checks_attrs_only_when_strict():
    source = one_node(attrs={"a": 1})
    target = one_node(attrs={"a": 2})
    assert target.can_from_bytes(source.to_bytes()) is False
    assert target.can_from_bytes(source.to_bytes(), strict=False) is True
    assert one_node(attrs={"other": 2}).can_from_bytes(source.to_bytes()) is True


# --- no code execution while loading ---------------------------------------------


class Exploit:
    def __reduce__(self):
        return (pytest.fail, ("unpickled attacker data",))


def object_array_payload(kind=b"O", type_="|O"):
    return {
        b"nd": True,
        b"type": type_,
        b"kind": kind,
        b"shape": [1],
        b"data": pickle.dumps(Exploit()),
    }


@pytest.mark.parametrize(
    "kind,type_",
    [(b"O", "|O"), (b"", "|O"), (b"V", [["f0", "|O"]]), (b"", [["f0", "<f4"], ["f1", "|O"]])],
)
def test_object_arrays_are_refused_not_unpickled(monkeypatch, kind, type_):
    def no_unpickling(*args, **kwargs):
        pytest.fail("pickle.loads was called")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    source = one_node(params={"W": numpy.ones(1, dtype="f")})
    msg = source.to_dict()
    msg["params"][0]["W"] = object_array_payload(kind, type_)
    data = srsly.msgpack_dumps(msg)
    target = one_node(params={"W": None})
    with pytest.raises(ValueError, match="object array|invalid dtype"):
        target.from_bytes(data)
    assert target.can_from_bytes(data) is False
    # The same payload hidden in a serialized attr is refused too.
    attr_msg = source.to_dict()
    attr_msg["attrs"][0]["evil"] = srsly.msgpack_dumps(object_array_payload(kind, type_))
    with pytest.raises(ValueError, match="object array|invalid dtype"):
        one_node(params={"W": None}).from_bytes(srsly.msgpack_dumps(attr_msg))


def test_arrays_with_inconsistent_sizes_are_refused():
    source = one_node(params={"W": numpy.ones((2, 2), dtype="f")})
    msg = source.to_dict()

    def array_map(type_, shape, data):
        return {b"nd": True, b"type": type_, b"kind": b"", b"shape": shape, b"data": data}

    msg["params"][0]["W"] = array_map("<f4", [3, 3], b"\x00" * 16)
    with pytest.raises(ValueError, match=r"shape \(3, 3\).*expected 36 bytes, got 16"):
        one_node(params={"W": None}).from_bytes(srsly.msgpack_dumps(msg))
    msg["params"][0]["W"] = array_map("<f4", [-1], b"")
    with pytest.raises(ValueError, match="invalid shape"):
        one_node(params={"W": None}).from_bytes(srsly.msgpack_dumps(msg))
    msg["params"][0]["W"] = array_map("not-a-dtype", [1], b"\x00" * 4)
    with pytest.raises(ValueError, match="invalid dtype"):
        one_node(params={"W": None}).from_bytes(srsly.msgpack_dumps(msg))


# --- compatibility with thinc 8.3.14 ---------------------------------------------


def test_bytes_match_thinc_8_3_14_exactly():
    reference = run_reference(
        """
        import base64, json
        print(json.dumps({"bytes": base64.b64encode(build().to_bytes()).decode()}))
        """
    )
    ours, _ = build_ours()
    assert ours.to_bytes() == base64.b64decode(reference["bytes"])


def test_thinc_8_3_14_bytes_load_into_our_model():
    reference = run_reference(
        """
        import base64, json
        model = build()
        print(json.dumps({
            "bytes": base64.b64encode(model.to_bytes()).decode(),
            "Y": model.predict(X).tolist(),
        }))
        """
    )
    model, X = build_ours(allocated=False)
    model.from_bytes(base64.b64decode(reference["bytes"]))
    numpy.testing.assert_array_equal(model.predict(X), numpy.asarray(reference["Y"], dtype="f"))
    assert model.layers[0].layers[0].attrs["tags"] == ["a", "b"]


def test_our_bytes_load_into_thinc_8_3_14():
    source, X = build_ours()
    reference = run_reference(
        """
        import base64, json, sys
        model = build(allocated=False)
        model.from_bytes(sys.stdin.buffer.read())
        print(json.dumps({
            "Y": model.predict(X).tolist(),
            "dims": [[n.name, {d: n.maybe_get_dim(d) for d in n.dim_names}] for n in model.walk()],
            "ref": model.get_ref("output_layer").name,
        }))
        """,
        stdin=source.to_bytes(),
    )
    numpy.testing.assert_array_equal(numpy.asarray(reference["Y"], dtype="f"), source.predict(X))
    assert reference["ref"] == "affine2"
    assert reference["dims"][2] == ["affine1", {"nO": 4, "nI": 3}]


def _fresh_relu_softmax():
    from thinc.api import Relu, Softmax, chain

    return chain(Relu(), Softmax())


def _trained_relu_softmax():
    from thinc.api import Relu, Softmax, chain

    model = chain(Relu(nO=5, nI=3), Softmax(nO=4, nI=5))
    model.initialize()
    return model


@pytest.mark.parametrize(
    "change,pattern",
    [
        (
            lambda W: numpy.ascontiguousarray(W.T),
            r"has shape \(3, 5\) in the data, but the model's dims imply \(nO=5, nI=3\)",
        ),
        (
            lambda W: W.reshape(-1),
            r"has shape \(15,\) in the data, but the model's dims imply \(nO=5, nI=3\)",
        ),
        (lambda W: W.reshape(1, 5, 3), r"has shape \(1, 5, 3\) in the data"),
    ],
    ids=["transposed", "flattened", "extra-axis"],
)
def test_reshaped_params_are_refused_by_a_fresh_model(change, pattern):
    msg = _trained_relu_softmax().to_dict()
    msg["params"][1]["W"] = change(msg["params"][1]["W"])
    data = srsly.msgpack_dumps(msg)
    fresh = _fresh_relu_softmax()
    assert fresh.can_from_bytes(data) is False
    with pytest.raises(ValueError, match=r"param 'W' of node 1 \('relu'\) " + pattern):
        fresh.from_bytes(data)
    # Nothing was changed by the refused load.
    assert not fresh.layers[0].has_dim("nO") and not fresh.layers[0].has_param("W")


def test_dims_the_fresh_model_leaves_unset_must_agree_with_the_params():
    msg = _trained_relu_softmax().to_dict()
    msg["nodes"][2]["dims"]["nO"] = 7
    data = srsly.msgpack_dumps(msg)
    fresh = _fresh_relu_softmax()
    assert fresh.can_from_bytes(data) is False
    with pytest.raises(
        ValueError, match=r"param 'W' of node 2 \('softmax'\) has shape \(4, 5\).*nO=7, nI=5"
    ):
        fresh.from_bytes(data)
    msg["nodes"][2]["dims"]["nO"] = -4
    with pytest.raises(ValueError, match="dimension 'nO' of node 2"):
        _fresh_relu_softmax().from_bytes(srsly.msgpack_dumps(msg))


def test_intact_files_still_load_into_fresh_models():
    trained = _trained_relu_softmax()
    fresh = _fresh_relu_softmax().from_bytes(trained.to_bytes())
    X = numpy.ones((2, 3), dtype="float32")
    numpy.testing.assert_array_equal(fresh.predict(X), trained.predict(X))
