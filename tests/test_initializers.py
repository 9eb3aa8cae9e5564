"""Tests for thinc.initializers: seeded values against thinc 8.3.14, shapes and
dtypes, the spread of each distribution, and resolution through the registry."""

import numpy
import pytest

from thinc.backends import NumpyOps
from thinc.config import Config, registry
from thinc.initializers import (
    configure_normal_init,
    configure_uniform_init,
    glorot_normal_init,
    glorot_uniform_init,
    he_normal_init,
    he_uniform_init,
    lecun_normal_init,
    lecun_uniform_init,
    normal_init,
    uniform_init,
    zero_init,
)

OPS = NumpyOps()

# Elements 0, 1, 2 and 23 of each init for shape (2, 3, 4) after numpy.random.seed(0),
# from thinc 8.3.14. fan_in is shape[1] and fan_out shape[0].
SEEDED = {
    glorot_uniform_init: [
        0.10694503039121628,
        0.47145628929138184,
        0.22514328360557556,
        0.614608645439148,
    ],
    glorot_normal_init: [
        1.1156846284866333,
        0.25308164954185486,
        0.6190082430839539,
        -0.46938636898994446,
    ],
    he_uniform_init: [
        0.13806544244289398,
        0.6086474657058716,
        0.29065871238708496,
        0.7934563159942627,
    ],
    he_normal_init: [1.440342664718628, 0.3267270028591156, 0.799136221408844, -0.6059752106666565],
    lecun_uniform_init: [
        0.09762700647115707,
        0.4303787350654602,
        0.20552675426006317,
        0.5610583424568176,
    ],
    lecun_normal_init: [
        1.018476128578186,
        0.23103086650371552,
        0.565074622631073,
        -0.42848917841911316,
    ],
}


@pytest.mark.parametrize("init", list(SEEDED), ids=lambda f: f.__name__)
def test_seeded_values_match_thinc(init):
    numpy.random.seed(0)
    values = init(OPS, (2, 3, 4))
    assert values.dtype == numpy.float32
    assert values.shape == (2, 3, 4)
    assert values.ravel()[[0, 1, 2, 23]].tolist() == SEEDED[init]


def test_normal_and_uniform_seeded_values_match_thinc():
    numpy.random.seed(0)
    assert normal_init(OPS, (2, 3), mean=0.5).ravel().tolist() == [
        0.882026195526123,
        0.20007860660552979,
        0.4893690049648285,
        1.1204465627670288,
        0.9337790012359619,
        -0.4886389374732971,
    ]
    numpy.random.seed(0)
    assert uniform_init(OPS, (2, 3), lo=-1, hi=2).ravel().tolist() == [
        0.6464405059814453,
        1.1455681324005127,
        0.8082901239395142,
        0.6346495747566223,
        0.2709643840789795,
        0.9376823306083679,
    ]


# (init, bound for uniform draws or None, expected variance) for shape (nO=200, nI=300).
SPREADS = [
    (glorot_uniform_init, numpy.sqrt(6 / 500), 2 / 500),
    (glorot_normal_init, None, 2 / 500),
    (he_uniform_init, numpy.sqrt(6 / 300), 2 / 300),
    (he_normal_init, None, 2 / 300),
    (lecun_uniform_init, numpy.sqrt(3 / 300), 1 / 300),
    (lecun_normal_init, None, 1 / 300),
]


@pytest.mark.parametrize("init,bound,variance", SPREADS, ids=lambda x: getattr(x, "__name__", ""))
def test_spread(init, bound, variance):
    numpy.random.seed(1)
    values = init(OPS, (200, 300)).astype("float64")
    if bound is not None:
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.99 * bound and values.min() < -0.99 * bound
    assert abs(values.mean()) < 0.05 * numpy.sqrt(variance)
    assert values.var() == pytest.approx(variance, rel=0.03)


def test_normal_init_uses_mean_as_scale():
    # thinc 8.3 passes `mean` to numpy as the standard deviation; the default is 0.
    assert not zero_init(OPS, (3,)).any()
    assert not normal_init(OPS, (50, 40)).any()
    numpy.random.seed(2)
    values = normal_init(OPS, (300, 200), mean=2.0)
    assert values.dtype == numpy.float32
    assert abs(values.mean()) < 0.05
    assert values.std() == pytest.approx(2.0, rel=0.02)


def test_uniform_init_bounds():
    numpy.random.seed(3)
    values = uniform_init(OPS, (100, 50), lo=0.5, hi=0.75)
    assert values.min() >= 0.5 and values.max() < 0.75
    assert values.mean() == pytest.approx(0.625, abs=0.005)
    default = uniform_init(OPS, (100, 50))
    assert default.min() >= -0.1 and default.max() < 0.1


@pytest.mark.parametrize(
    "init",
    [glorot_uniform_init, he_normal_init, lecun_uniform_init, normal_init, uniform_init, zero_init],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("shape", [(0, 3), (4, 2), (3, 2, 5)])
def test_shapes_and_dtype(init, shape):
    values = init(OPS, shape)
    assert isinstance(values, numpy.ndarray)
    assert values.shape == shape
    assert values.dtype == numpy.float32


def test_zero_init():
    values = zero_init(OPS, (4, 5))
    assert values.dtype == numpy.float32 and values.shape == (4, 5)
    assert not values.any()
    assert zero_init(OPS, ()).shape == ()


@pytest.mark.parametrize("init", list(SEEDED), ids=lambda f: f.__name__)
def test_fan_based_inits_need_two_dims(init):
    with pytest.raises(IndexError, match="at least 2 dimensions"):
        init(OPS, (5,))


REGISTERED = [
    "glorot_uniform_init.v1",
    "glorot_normal_init.v1",
    "he_uniform_init.v1",
    "he_normal_init.v1",
    "lecun_uniform_init.v1",
    "lecun_normal_init.v1",
    "normal_init.v1",
    "uniform_init.v1",
    "zero_init.v1",
]


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_configure_functions(name):
    configured = registry.initializers.get(name)()
    numpy.random.seed(0)
    values = configured(OPS, (3, 4))
    direct = globals()[name[: -len(".v1")]]
    numpy.random.seed(0)
    expected = direct(OPS, (3, 4))
    numpy.testing.assert_array_equal(values, expected)


def test_configure_binds_options():
    numpy.random.seed(4)
    a = configure_uniform_init(lo=1.0, hi=2.0)(OPS, (10,))
    assert a.min() >= 1.0 and a.max() < 2.0
    numpy.random.seed(4)
    b = configure_normal_init(mean=0.25)(OPS, (10,))
    numpy.random.seed(4)
    numpy.testing.assert_array_equal(b, normal_init(OPS, (10,), mean=0.25))


def test_resolve_from_config_block():
    config = Config().from_str(
        """
        [init]
        @initializers = "uniform_init.v1"
        lo = -0.5
        hi = 0.5

        [glorot]
        @initializers = "glorot_uniform_init.v1"
        """
    )
    resolved = registry.resolve(config)
    numpy.random.seed(5)
    values = resolved["init"](OPS, (20, 10))
    assert values.min() >= -0.5 and values.max() < 0.5 and values.max() > 0.4
    numpy.random.seed(0)
    values = resolved["glorot"](OPS, (2, 3, 4))
    assert values.ravel()[[0, 1, 2, 23]].tolist() == SEEDED[glorot_uniform_init]
