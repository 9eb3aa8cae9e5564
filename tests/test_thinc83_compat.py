"""Models saved by thinc 8.3.14 load here unchanged, and ours load there.

The fixtures come from scripts/make_ref_fixtures.py, run under thinc 8.3.14."""

import json
import subprocess
import textwrap
from pathlib import Path

import numpy
import pytest
import srsly

import thinc.layers  # noqa: F401  (registers the layers the configs name)
from thinc.config import Config, registry

from .util import require_ref_thinc

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = json.loads((FIXTURES / "architectures.json").read_text())
ARCHITECTURES = sorted(MANIFEST["architectures"])


def build(name: str):
    config = Config().from_str(MANIFEST["architectures"][name]["config"])
    return registry.resolve(config)["model"]


def fixture(name: str):
    data = (FIXTURES / f"{name}.bytes").read_bytes()
    X = numpy.load(FIXTURES / f"{name}_X.npy")
    Y = numpy.load(FIXTURES / f"{name}_Y.npy")
    return data, X, Y


def node_tree(model) -> list:
    return [
        {
            "name": node.name,
            "dims": {dim: node.maybe_get_dim(dim) for dim in node.dim_names},
            "params": {
                param: list(node.get_param(param).shape)
                for param in node.param_names
                if node.has_param(param)
            },
        }
        for node in model.walk()
    ]


def test_manifest_is_from_thinc_8_3_14():
    assert MANIFEST["thinc_version"] == "8.3.14"
    assert len(ARCHITECTURES) >= 2


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_reference_bytes_load_into_uninitialized_model(name):
    data, X, Y = fixture(name)
    model = build(name).from_bytes(data)
    assert node_tree(model) == MANIFEST["architectures"][name]["nodes"]
    numpy.testing.assert_allclose(model.predict(X), Y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_reference_params_identical_node_by_node(name):
    data, X, Y = fixture(name)
    model = build(name)
    model.initialize(X=X, Y=Y)
    model.from_bytes(data)
    # Decode the file independently of Model to know what each node must hold.
    message = srsly.msgpack_loads(data)
    nodes = list(model.walk())
    assert len(message["params"]) == len(nodes)
    for node, saved in zip(nodes, message["params"]):
        assert sorted(saved) == sorted(p for p in node.param_names if node.has_param(p))
        for param, value in saved.items():
            ours = node.get_param(param)
            assert ours.dtype == value.dtype, (node.name, param)
            numpy.testing.assert_array_equal(ours, value, err_msg=f"{node.name}.{param}")
    numpy.testing.assert_allclose(model.predict(X), Y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_round_trip_reproduces_reference_bytes(name):
    data, _, _ = fixture(name)
    model = build(name).from_bytes(data)
    assert srsly.msgpack_loads(model.to_bytes()).keys() == srsly.msgpack_loads(data).keys()
    again = build(name).from_bytes(model.to_bytes())
    for ours, theirs in zip(again.walk(), model.walk()):
        for param in theirs.param_names:
            if theirs.has_param(param):
                numpy.testing.assert_array_equal(ours.get_param(param), theirs.get_param(param))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_reloaded_model_writes_byte_identical_file(name):
    # thinc 8.3.14 itself writes back exactly the bytes it read.
    data, _, _ = fixture(name)
    assert build(name).from_bytes(data).to_bytes() == data


# Loads each (architecture, bytes, input, output) job with thinc 8.3.14 and saves
# its predictions; one process for all jobs, since importing thinc is slow.
REF_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy
    from thinc.api import Config, registry
    manifest = json.load(open(sys.argv[1]))
    for name, model_path, input_path, output_path in json.load(open(sys.argv[2])):
        config = Config().from_str(manifest["architectures"][name]["config"])
        model = registry.resolve(config)["model"]
        model.from_bytes(open(model_path, "rb").read())
        numpy.save(output_path, model.predict(numpy.load(input_path)))
    """
)


def perturbed_reference_model(name: str):
    """The reference model with every param changed, so that thinc can only
    reproduce our output from our bytes."""
    data, _, _ = fixture(name)
    model = build(name).from_bytes(data)
    for node in model.walk():
        for param in node.param_names:
            if node.has_param(param):
                node.set_param(param, node.get_param(param) * 0.5 + 0.25)
    return model


def model_trained_here(name: str):
    """A model initialized and trained by our code alone."""
    from thinc.loss import CategoricalCrossentropy
    from thinc.optimizers import Adam

    _, X, _ = fixture(name)
    truths = numpy.eye(4, dtype="float32")[numpy.arange(len(X)) % 4]
    model = build(name)
    model.initialize(X=X, Y=truths)
    optimizer = Adam(0.01)
    for _ in range(3):
        guesses, backprop = model.begin_update(X)
        backprop(CategoricalCrossentropy().get_grad(guesses, truths))
        model.finish_update(optimizer)
    return model


@pytest.mark.ref
def test_our_bytes_load_into_thinc_8_3_14(tmp_path):
    ref_python = require_ref_thinc()
    jobs, expected = [], {}
    for name in ARCHITECTURES:
        X = fixture(name)[1]
        numpy.save(tmp_path / f"{name}_X.npy", X)
        for kind, make in (
            ("perturbed", perturbed_reference_model),
            ("trained", model_trained_here),
        ):
            model = make(name)
            stem = f"{name}_{kind}"
            (tmp_path / f"{stem}.bytes").write_bytes(model.to_bytes())
            expected[stem] = model.predict(X)
            jobs.append([name, f"{stem}.bytes", f"{name}_X.npy", f"{stem}_Y.npy"])
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    (tmp_path / "script.py").write_text(REF_SCRIPT)
    # Run from tmp_path so our checkout's thinc/ cannot shadow thinc 8.3.14.
    result = subprocess.run(
        [str(ref_python), "script.py", str(FIXTURES / "architectures.json"), "jobs.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for stem, ours in expected.items():
        theirs = numpy.load(tmp_path / f"{stem}_Y.npy")
        numpy.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-6, err_msg=stem)


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("cut", [1, 10, 100])
def test_truncated_bytes_raise_value_error(name, cut):
    data, _, _ = fixture(name)
    with pytest.raises(ValueError):
        build(name).from_bytes(data[:-cut])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_garbage_bytes_raise_value_error(name):
    data, _, _ = fixture(name)
    with pytest.raises(ValueError):
        build(name).from_bytes(b"\x00not a model" + data[:20])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_well_formed_msgpack_of_wrong_content_raises_value_error(name):
    with pytest.raises(ValueError):
        build(name).from_bytes(srsly.msgpack_dumps({"nodes": [], "params": []}))


def test_bytes_of_another_architecture_raise_value_error():
    first, second = ARCHITECTURES[:2]
    with pytest.raises(ValueError):
        build(first).from_bytes(fixture(second)[0])
    with pytest.raises(ValueError):
        build(second).from_bytes(fixture(first)[0])
