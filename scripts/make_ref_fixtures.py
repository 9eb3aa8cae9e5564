"""Write thinc 8.3.14 reference fixtures into tests/fixtures/ for the compat tests.

Run with the oracle's interpreter, from outside the checkout so that our own
thinc/ does not shadow the released one; from the checkout's root:
    root=$PWD; (cd "$(mktemp -d)" && "$root/.venv-ref/bin/python" "$root/scripts/make_ref_fixtures.py")
For each architecture it writes <name>.bytes (the trained model), <name>_X.npy
(sample input), <name>_Y.npy (predictions), and one architectures.json listing
each architecture's config and node tree."""

import json
import sys
from pathlib import Path

import numpy

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SEED = 0
N_SAMPLES = 24
N_FEATURES = 5
N_CLASSES = 4
TRAIN_STEPS = 5

# Each architecture is a thinc config, so a test can rebuild it through the registry.
ARCHITECTURES = {
    "relu_linear_softmax": """
[model]
@layers = "chain.v1"

[model.*.relu]
@layers = "Relu.v1"
nO = 8
dropout = 0.1
normalize = true

[model.*.linear]
@layers = "Linear.v1"
nO = 6

[model.*.softmax]
@layers = "Softmax.v1"
nO = 4
""",
    "layernorm_stack": """
[model]
@layers = "chain.v1"

[model.*.linear]
@layers = "Linear.v1"
nO = 10

[model.*.layernorm]
@layers = "LayerNorm.v1"

[model.*.relu]
@layers = "Relu.v1"
nO = 7

[model.*.dropout]
@layers = "Dropout.v1"
rate = 0.2

[model.*.softmax]
@layers = "Softmax.v2"
nO = 4
temperature = 2.0
""",
}


def node_tree(model) -> list:
    """Each node in walk order: its name, dims and param shapes."""
    nodes = []
    for node in model.walk():
        params = {
            name: list(node.get_param(name).shape)
            for name in node.param_names
            if node.has_param(name)
        }
        dims = {name: node.maybe_get_dim(name) for name in node.dim_names}
        nodes.append({"name": node.name, "dims": dims, "params": params})
    return nodes


def sample_data(rng: numpy.random.Generator):
    X = rng.normal(size=(N_SAMPLES, N_FEATURES)).astype("float32")
    labels = rng.integers(0, N_CLASSES, size=N_SAMPLES)
    Y = numpy.zeros((N_SAMPLES, N_CLASSES), dtype="float32")
    Y[numpy.arange(N_SAMPLES), labels] = 1.0
    return X, Y


def build_and_train(config_text: str, X, Y):
    from thinc.api import Adam, CategoricalCrossentropy, Config, fix_random_seed, registry

    fix_random_seed(SEED)
    model = registry.resolve(Config().from_str(config_text))["model"]
    model.initialize(X=X, Y=Y)
    optimizer = Adam(0.01)
    loss = CategoricalCrossentropy()
    for _ in range(TRAIN_STEPS):
        guesses, backprop = model.begin_update(X)
        gradient, _ = loss(guesses, Y)
        backprop(gradient)
        model.finish_update(optimizer)
    return model


def main() -> None:
    import thinc

    if thinc.__version__ != "8.3.14":
        sys.exit(f"expected thinc 8.3.14, got {thinc.__version__} from {thinc.__file__}")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"thinc_version": thinc.__version__, "seed": SEED, "architectures": {}}
    for index, (name, config_text) in enumerate(ARCHITECTURES.items()):
        X, Y = sample_data(numpy.random.default_rng(SEED + index))
        model = build_and_train(config_text, X, Y)
        predictions = model.predict(X)
        (FIXTURES / f"{name}.bytes").write_bytes(model.to_bytes())
        numpy.save(FIXTURES / f"{name}_X.npy", X)
        numpy.save(FIXTURES / f"{name}_Y.npy", predictions)
        manifest["architectures"][name] = {
            "config": config_text.strip(),
            "input_shape": list(X.shape),
            "output_shape": list(predictions.shape),
            "nodes": node_tree(model),
        }
    (FIXTURES / "architectures.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(ARCHITECTURES)} architectures to {FIXTURES}")


if __name__ == "__main__":
    main()
