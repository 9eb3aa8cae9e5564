"""The toy problem shared by the framework-wrapper examples: points on two noisy
concentric rings, labelled by ring, and the accuracy of a model on them."""
import numpy


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
