"""Train a Keras network inside a thinc model on a toy two-rings problem, then
save and reload it; with --mixed, a PyTorch and a Keras network run side by side.

Needs tensorflow-cpu (and torch for --mixed): scripts/make_framework_venvs.sh tf
creates .venv-tf with both. Run: .venv-tf/bin/python examples/tensorflow_wrapper.py"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy

HERE = Path(__file__).parent
# Run from a source checkout, the example shows that checkout's thinc.
if (HERE.parent / "thinc" / "__init__.py").exists():
    sys.path.insert(0, str(HERE.parent))

from _toy_rings import accuracy, cross_entropy_step, train, two_rings  # noqa: E402

from thinc.compat import enable_tensorflow  # noqa: E402
from thinc.layers import Linear, Logistic, Softmax, add, chain  # noqa: E402
from thinc.model import Model  # noqa: E402
from thinc.util import fix_random_seed  # noqa: E402


def keras_mlp(width: int):
    import tensorflow as tf

    return tf.keras.Sequential(
        [
            tf.keras.layers.Input((2,)),
            tf.keras.layers.Dense(width, activation="relu"),
            tf.keras.layers.Dense(width, activation="relu"),
        ]
    )


def build_model(width: int, mixed: bool) -> Model:
    from thinc.layers.tensorflowwrapper import TensorFlowWrapper

    if not mixed:
        return chain(TensorFlowWrapper(keras_mlp(width)), Softmax(2))
    import torch

    from thinc.layers.pytorchwrapper import PyTorchWrapper

    torch_mlp = torch.nn.Sequential(
        torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU()
    )
    # Both networks see the same input; their features are summed.
    return chain(
        add(PyTorchWrapper(torch_mlp), TensorFlowWrapper(keras_mlp(width))), Linear(2), Logistic()
    )


def logistic_step(Y, truth):
    """Logistic outputs with a binary cross-entropy: the gradient is Y - truth."""
    loss = float(-(truth * numpy.log(Y) + (1 - truth) * numpy.log(1 - Y)).sum())
    return (Y - truth) / len(truth), loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--mixed", action="store_true", help="add a PyTorch network")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enable_tensorflow()
    fix_random_seed(0)
    import tensorflow as tf

    tf.random.set_seed(0)
    X_train, Y_train = two_rings(2000, seed=0)
    X_dev, Y_dev = two_rings(500, seed=1)
    model = build_model(args.width, args.mixed)
    model.initialize(X=X_train[:10], Y=Y_train[:10])
    step = logistic_step if args.mixed else cross_entropy_step
    train(model, (X_train, Y_train), (X_dev, Y_dev), args.epochs, step)
    reloaded = build_model(args.width, args.mixed)
    reloaded.initialize(X=X_train[:10], Y=Y_train[:10])
    reloaded.from_bytes(model.to_bytes())
    same = numpy.allclose(reloaded.predict(X_dev), model.predict(X_dev), atol=1e-6)
    print(
        f"reloaded from bytes: dev accuracy {accuracy(reloaded, X_dev, Y_dev):.3f}, "
        f"identical predictions: {same}"
    )


if __name__ == "__main__":
    main()
