"""Train a PyTorch network inside a thinc model on the toy two-rings problem,
then save, reload and convert it to TorchScript.

Needs torch (pip install torch==2.13.0). Run: .venv/bin/python examples/pytorch_wrapper.py"""

import argparse
import sys
from pathlib import Path

import numpy

HERE = Path(__file__).parent
# Run from a source checkout, the example shows that checkout's thinc.
if (HERE.parent / "thinc" / "__init__.py").exists():
    sys.path.insert(0, str(HERE.parent))

from _toy_rings import accuracy, train, two_rings  # noqa: E402

from thinc.layers import PyTorchWrapper, Softmax, chain  # noqa: E402
from thinc.layers.torchscriptwrapper import (  # noqa: E402
    TorchScriptWrapper_v1,
    pytorch_to_torchscript_wrapper,
)
from thinc.loss import CategoricalCrossentropy  # noqa: E402
from thinc.model import Model  # noqa: E402
from thinc.util import fix_random_seed  # noqa: E402


def build_model(width: int) -> Model:
    import torch

    # The torch network computes features; thinc's Softmax reads them out.
    torch_mlp = torch.nn.Sequential(
        torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU()
    )
    return chain(PyTorchWrapper(torch_mlp), Softmax(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=32)
    args = parser.parse_args()
    fix_random_seed(0)  # seeds torch too
    X_train, Y_train = two_rings(2000, seed=0)
    X_dev, Y_dev = two_rings(500, seed=1)
    model = build_model(args.width)
    model.initialize(X=X_train[:10], Y=Y_train[:10])
    train(model, (X_train, Y_train), (X_dev, Y_dev), args.epochs, CategoricalCrossentropy())

    reloaded = build_model(args.width).from_bytes(model.to_bytes())
    same = numpy.allclose(reloaded.predict(X_dev), model.predict(X_dev), atol=1e-6)
    print(
        f"reloaded from bytes: dev accuracy {accuracy(reloaded, X_dev, Y_dev):.3f}, "
        f"identical predictions: {same}"
    )

    # TorchScript keeps the network's program with its weights: loading it
    # needs no Python class, only an empty TorchScriptWrapper.
    scripted = chain(pytorch_to_torchscript_wrapper(model.layers[0]), model.layers[1])
    restored = chain(TorchScriptWrapper_v1(), Softmax(2)).from_bytes(scripted.to_bytes())
    same = numpy.allclose(restored.predict(X_dev), model.predict(X_dev), atol=1e-6)
    print(f"TorchScript round trip: identical predictions: {same}")


if __name__ == "__main__":
    main()
