"""The toy problem shared by the framework-wrapper examples: points on two noisy
concentric rings, labelled by ring, and the accuracy of a model on them."""

from typing import Callable, Tuple

import numpy
from _common import progress

from thinc.loss import CategoricalCrossentropy
from thinc.optimizers import Adam


def two_rings(n: int, seed: int):
    """(X, one-hot Y): n points in 2d; the label says which ring a point is on."""
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    angles = rng.uniform(0, 2 * numpy.pi, n)
    radii = 1.0 + labels + rng.normal(0, 0.15, n)
    X = numpy.stack([radii * numpy.cos(angles), radii * numpy.sin(angles)], axis=1)
    return X.astype("f"), numpy.eye(2, dtype="f")[labels]


def accuracy(model, X, Y) -> float:
    return float((model.predict(X).argmax(axis=1) == Y.argmax(axis=1)).mean())


def cross_entropy_step(Y, truth) -> Tuple[numpy.ndarray, float]:
    """The softmax outputs' gradient under categorical cross-entropy, and that loss summed."""
    gradient, _ = CategoricalCrossentropy()(Y, truth)
    return gradient, float(-(truth * numpy.log(Y)).sum())


def train(
    model,
    train_data,
    dev_data,
    epochs: int,
    gradient_and_loss: Callable = cross_entropy_step,
    batch_size: int = 64,
) -> None:
    """Adam over shuffled minibatches; after each epoch, print the mean loss and
    the dev accuracy. gradient_and_loss(Y, truth) gives the output gradient and the loss."""
    X_train, Y_train = train_data
    optimizer = Adam(0.005)
    for epoch in range(epochs):
        order = numpy.random.default_rng(epoch).permutation(len(X_train))
        total = 0.0
        for start in progress(range(0, len(order), batch_size), f"epoch {epoch + 1}"):
            index = order[start : start + batch_size]
            Y, backprop = model.begin_update(X_train[index])
            gradient, loss = gradient_and_loss(Y, Y_train[index])
            backprop(gradient)
            model.finish_update(optimizer)  # also steps the wrapped framework's weights
            total += float(loss)
        print(
            f"epoch {epoch + 1:2d}  loss {total / len(X_train):.4f}  "
            f"dev accuracy {accuracy(model, *dev_data):.3f}"
        )
