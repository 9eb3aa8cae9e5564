"""Train an MXNet Gluon network inside a thinc model on a toy two-rings
problem, then save and reload it.

MXNet 1.9.1 needs numpy < 1.24: scripts/make_framework_venvs.sh mxnet creates
.venv-mxnet for it. Run: .venv-mxnet/bin/python examples/mxnet_wrapper.py"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy

HERE = Path(__file__).parent
# Run from a source checkout, the example shows that checkout's thinc.
if (HERE.parent / "thinc" / "__init__.py").exists():
    sys.path.insert(0, str(HERE.parent))

from _toy_rings import accuracy, train, two_rings  # noqa: E402

from thinc.compat import enable_mxnet  # noqa: E402
from thinc.layers import Softmax, chain  # noqa: E402
from thinc.model import Model  # noqa: E402
from thinc.util import fix_random_seed  # noqa: E402


def build_model(width: int) -> Model:
    import mxnet

    from thinc.layers.mxnetwrapper import MXNetWrapper

    gluon_mlp = mxnet.gluon.nn.Sequential()
    gluon_mlp.add(
        mxnet.gluon.nn.Dense(width, activation="relu", in_units=2),
        mxnet.gluon.nn.Dense(width, activation="relu", in_units=width),
    )
    gluon_mlp.initialize(mxnet.init.Xavier())
    return chain(MXNetWrapper(gluon_mlp), Softmax(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=32)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        enable_mxnet()
    import mxnet

    fix_random_seed(0)
    mxnet.random.seed(0)
    X_train, Y_train = two_rings(2000, seed=0)
    X_dev, Y_dev = two_rings(500, seed=1)
    model = build_model(args.width)
    model.initialize(X=X_train[:10], Y=Y_train[:10])
    train(model, (X_train, Y_train), (X_dev, Y_dev), args.epochs)
    reloaded = build_model(args.width)
    reloaded.initialize(X=X_train[:10], Y=Y_train[:10])
    reloaded.from_bytes(model.to_bytes())
    same = numpy.allclose(reloaded.predict(X_dev), model.predict(X_dev), atol=1e-6)
    print(
        f"reloaded from bytes: dev accuracy {accuracy(reloaded, X_dev, Y_dev):.3f}, "
        f"identical predictions: {same}"
    )


if __name__ == "__main__":
    main()
