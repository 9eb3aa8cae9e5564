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

from thinc.compat import enable_tensorflow  # noqa: E402
from thinc.layers import Linear, Logistic, Softmax, add, chain  # noqa: E402
from thinc.loss import CategoricalCrossentropy  # noqa: E402
from thinc.model import Model  # noqa: E402
from thinc.optimizers import Adam  # noqa: E402
from thinc.util import fix_random_seed  # noqa: E402

from _toy_rings import accuracy, two_rings  # noqa: E402


def keras_mlp(width: int):
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.layers.Input((2,)),
        tf.keras.layers.Dense(width, activation="relu"),
        tf.keras.layers.Dense(width, activation="relu"),
    ])


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
    return chain(add(PyTorchWrapper(torch_mlp), TensorFlowWrapper(keras_mlp(width))),
                 Linear(2), Logistic())


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
    optimizer = Adam(0.005)
    loss_function = CategoricalCrossentropy()
    batch_size = 64
    for epoch in range(args.epochs):
        order = numpy.random.default_rng(epoch).permutation(len(X_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            Y, backprop = model.begin_update(X_train[index])
            truth = Y_train[index]
            if args.mixed:
                # Logistic outputs with a binary cross-entropy: the gradient is Y - truth.
                backprop((Y - truth) / len(index))
                total += float(-(truth * numpy.log(Y) + (1 - truth) * numpy.log(1 - Y)).sum())
            else:
                gradient, _ = loss_function(Y, truth)
                backprop(gradient)
                total += float(-(truth * numpy.log(Y)).sum())
            model.finish_update(optimizer)
        print(f"epoch {epoch + 1:2d}  loss {total / len(X_train):.4f}  "
              f"dev accuracy {accuracy(model, X_dev, Y_dev):.3f}")
    reloaded = build_model(args.width, args.mixed)
    reloaded.initialize(X=X_train[:10], Y=Y_train[:10])
    reloaded.from_bytes(model.to_bytes())
    same = numpy.allclose(reloaded.predict(X_dev), model.predict(X_dev), atol=1e-6)
    print(f"reloaded from bytes: dev accuracy {accuracy(reloaded, X_dev, Y_dev):.3f}, "
          f"identical predictions: {same}")


if __name__ == "__main__":
    main()
