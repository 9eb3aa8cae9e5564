import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.layers.bidirectional import bidirectional
from thinc.layers.chain import chain
from thinc.layers.linear import Linear
from thinc.layers.with_array2d import with_array2d
from thinc.model import Model
from thinc.types import Padded

from ..util import check_gradients
from ._sequences import padded_data

OPS = NumpyOps()


def _cumsum_layer() -> Model:
    """Order-sensitive toy layer: running sum over time (Padded -> Padded)."""

    def forward(model, Xp, is_train):
        Y = Xp.data.cumsum(axis=0)

        def backprop(dYp):
            dX = dYp.data[::-1].cumsum(axis=0)[::-1]
            return Padded(dX.copy(), dYp.size_at_t, dYp.lengths, dYp.indices)

        return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices), backprop

    return Model("cumsum", forward)


def _padded(seed=0):
    rng = numpy.random.default_rng(seed)
    # Equal lengths, so time reversal of the padded block is exact.
    seqs = [rng.uniform(-1, 1, (3, 2)).astype("f") for _ in range(2)]
    return OPS.list2padded(seqs)


def test_bidirectional_reads_both_directions():
    model = bidirectional(_cumsum_layer())
    assert model.name == "bicumsum"
    assert model.layers[0] is not model.layers[1]
    Xp = _padded()
    Yp = model.predict(Xp)
    assert isinstance(Yp, Padded)
    assert Yp.data.shape == (3, 2, 4)
    forward_sums = Xp.data.cumsum(axis=0)
    backward_sums = Xp.data[::-1].cumsum(axis=0)[::-1]
    numpy.testing.assert_allclose(Yp.data[..., :2], forward_sums, rtol=1e-6)
    numpy.testing.assert_allclose(Yp.data[..., 2:], backward_sums, rtol=1e-6)


def test_bidirectional_matches_reference_thinc_on_linear():
    # thinc 8.3.14 with Linear(1, 2) weights [[1, 0]], zero bias, on sequences of
    # lengths 3 and 2: each row yields [x0, x0]; all-ones gradient gives [2, 0].
    inner = with_array2d(Linear(1, 2))
    inner.initialize()
    inner.layers[0].set_param("W", numpy.asarray([[1.0, 0.0]], dtype="f"))
    inner.layers[0].set_param("b", numpy.zeros((1,), dtype="f"))
    model = bidirectional(inner)
    X = [numpy.arange(6, dtype="f").reshape(3, 2), numpy.arange(4, dtype="f").reshape(2, 2) + 10]
    Xp = OPS.list2padded(X)
    Yp, backprop = model.begin_update(Xp)
    Ys = OPS.padded2list(Yp)
    numpy.testing.assert_allclose(Ys[0], [[0, 0], [2, 2], [4, 4]])
    numpy.testing.assert_allclose(Ys[1], [[10, 10], [12, 12]])
    dXs = OPS.padded2list(
        backprop(Padded(numpy.ones_like(Yp.data), Yp.size_at_t, Yp.lengths, Yp.indices))
    )
    numpy.testing.assert_allclose(dXs[0], [[2, 0]] * 3)


def test_bidirectional_gradients():
    inner = with_array2d(Linear(2, 2))
    model = bidirectional(inner, with_array2d(Linear(3, 2)))
    model.initialize()
    Xp = _padded(1)
    check_gradients(chain(model, padded_data()), Xp, input_arrays=lambda X: [X.data])


def test_bidirectional_infers_dims_from_sample():
    model = bidirectional(with_array2d(Linear()))
    Xp = _padded()
    Yp = Padded(numpy.zeros((3, 2, 4), dtype="f"), Xp.size_at_t, Xp.lengths, Xp.indices)
    model.initialize(X=Xp, Y=Yp)
    for direction in model.layers:
        assert direction.layers[0].get_dim("nI") == 2
        assert direction.layers[0].get_dim("nO") == 2
    assert model.predict(Xp).data.shape == (3, 2, 4)


def test_bidirectional_serialization_round_trip():
    model = bidirectional(with_array2d(Linear(2, 2))).initialize()
    other = bidirectional(with_array2d(Linear(2, 2))).initialize()
    other.from_bytes(model.to_bytes())
    Xp = _padded()
    numpy.testing.assert_allclose(other.predict(Xp).data, model.predict(Xp).data)


def test_bidirectional_from_config():
    config = Config().from_str(
        """
        [model]
        @layers = "bidirectional.v1"

        [model.l2r]
        @layers = "with_array2d.v1"

        [model.l2r.layer]
        @layers = "Linear.v1"
        nO = 2
        nI = 2
        """
    )
    model = registry.resolve(config)["model"]
    assert model.name == "biwith_array(linear)"
    assert len(model.layers) == 2


def test_bidirectional_bad_input():
    model = bidirectional(with_array2d(Linear(2, 2))).initialize()
    with pytest.raises(TypeError, match="Padded"):
        model.predict(numpy.ones((3, 2), dtype="f"))
    with pytest.raises(TypeError):
        bidirectional("nope")  # type: ignore[arg-type]


@pytest.mark.ref
def test_bidirectional_bytes_compatible_with_reference():
    from ._combinators_ref import assert_matches_reference

    assert_matches_reference(
        "bidirectional(with_array2d(Linear(2, 2)))",
        "OPS.list2padded([numpy.ones((3, 2), dtype='f'), numpy.linspace(0, 1, 6, dtype='f').reshape(3, 2)])",
    )
