"""Tests for thinc.loss: gradients against finite differences of the losses they
belong to, values against thinc 8.3.14, truth formats, bad truths and registry."""

import json
import subprocess

import numpy
import pytest

from thinc.config import Config, registry
from thinc.loss import (
    CategoricalCrossentropy,
    CosineDistance,
    L2Distance,
    Loss,
    SequenceCategoricalCrossentropy,
)
from thinc.types import Ragged

from .util import numeric_grad, require_ref_thinc

GUESSES = numpy.array(
    [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4], [0.8, 0.1, 0.1]], dtype="f"
)
TRUTHS = numpy.array(
    [[0.2, 0.5, 0.1], [0.0, 0.0, 0.0], [0.3, -0.3, 0.4], [0.8, 0.1, 0.9]], dtype="f"
)
NAMES = ["a", "b", "c"]
# (guesses - one_hot([1, 0, 2, 0])) / 4, the expected gradient for those labels.
EXPECTED_GRAD = [
    [0.025, -0.075, 0.05],
    [-0.125, 0.05, 0.075],
    [0.075, 0.075, -0.15],
    [-0.05, 0.025, 0.025],
]


def softmax(logits):
    shifted = numpy.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def cross_entropy(logits, target, mask):
    return float(-(target * mask * numpy.log(softmax(logits))).sum())


# --- CategoricalCrossentropy -------------------------------------------------


@pytest.mark.parametrize(
    "truths",
    [
        [1, 0, 2, 0],
        numpy.array([1, 0, 2, 0]),
        numpy.array([1, 0, 2, 0], dtype="int32"),
        numpy.eye(3, dtype="f")[[1, 0, 2, 0]],
        (1, 0, 2, 0),
        [numpy.int64(1), numpy.int64(0), numpy.int64(2), numpy.int64(0)],
    ],
    ids=["list", "int64", "int32", "one-hot", "tuple", "numpy-ints"],
)
def test_cce_truth_formats(truths):
    d_guesses, loss = CategoricalCrossentropy()(GUESSES, truths)
    numpy.testing.assert_allclose(d_guesses, EXPECTED_GRAD, rtol=1e-6)
    assert d_guesses.dtype == numpy.float32
    assert float(loss) == pytest.approx(0.07, rel=1e-5)


def test_cce_string_labels():
    loss_func = CategoricalCrossentropy(names=NAMES)
    d_guesses, loss = loss_func(GUESSES, ["b", "a", "c", "a"])
    numpy.testing.assert_allclose(d_guesses, EXPECTED_GRAD, rtol=1e-6)
    assert float(loss_func.get_loss(GUESSES, ["b", "a", "c", "a"])) == float(loss)
    numpy.testing.assert_array_equal(loss_func.get_grad(GUESSES, ["b", "a", "c", "a"]), d_guesses)


def test_cce_normalize_divides_by_rows():
    d_guesses, loss = CategoricalCrossentropy(normalize=False)(GUESSES, [1, 0, 2, 0])
    numpy.testing.assert_allclose(d_guesses, numpy.array(EXPECTED_GRAD) * 4, rtol=1e-6)
    assert float(loss) == pytest.approx(1.12, rel=1e-5)


@pytest.mark.parametrize("truths,missing", [([1, 0, 2, 0], 0), (numpy.array([1, -1, 2, -1]), -1)])
def test_cce_missing_int_rows_get_no_gradient(truths, missing):
    d_guesses, _ = CategoricalCrossentropy(missing_value=missing)(GUESSES, truths)
    expected = numpy.array(EXPECTED_GRAD)
    expected[[1, 3]] = 0
    numpy.testing.assert_allclose(d_guesses, expected, rtol=1e-6)


def test_cce_missing_in_one_hot_truths_by_argmax():
    truths = numpy.eye(3, dtype="f")[[1, 0, 2, 0]]
    d_guesses, loss = CategoricalCrossentropy(missing_value=0)(GUESSES, truths)
    assert not d_guesses[[1, 3]].any()
    assert float(loss) == pytest.approx(0.0425, rel=1e-5)


def test_cce_missing_names_and_negative_labels_match_thinc():
    loss_func = CategoricalCrossentropy(names=NAMES, neg_prefix="!", missing_value="")
    d_guesses, loss = loss_func(GUESSES, ["b", "!a", "", "!c"])
    # From thinc 8.3.14: a negated row keeps only its named column.
    numpy.testing.assert_allclose(
        d_guesses,
        [[0.025, -0.075, 0.05], [0.125, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.025]],
        rtol=1e-6,
    )
    assert float(loss) == pytest.approx(0.02499999850988388, rel=1e-6)
    # None is missing too under the default missing_value.
    d_none, _ = CategoricalCrossentropy(names=NAMES)(GUESSES, ["b", None, "c", "a"])
    assert not d_none[1].any() and d_none[0].any()


def test_cce_convert_truths():
    target, mask = CategoricalCrossentropy(names=NAMES, neg_prefix="!").convert_truths(
        ["b", "!a", "c", "a"], GUESSES
    )
    numpy.testing.assert_array_equal(target, [[0, 1, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]])
    numpy.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [1, 1, 1], [1, 1, 1]])


def test_cce_label_smoothing_matches_thinc():
    expected = [
        [0.012500000186264515, -0.04999999701976776, 0.03750000149011612],
        [-0.09999999403953552, 0.03750000149011612, 0.0625],
        [0.0625, 0.0625, -0.1249999925494194],
        [-0.024999991059303284, 0.012500000186264515, 0.012500000186264515],
    ]
    for truths, names in [([1, 0, 2, 0], None), (["b", "a", "c", "a"], NAMES)]:
        d_guesses, loss = CategoricalCrossentropy(names=names, label_smoothing=0.1)(GUESSES, truths)
        numpy.testing.assert_allclose(d_guesses, expected, rtol=1e-6)
        assert float(loss) == pytest.approx(0.04374999552965164, rel=1e-6)


def test_cce_float64_guesses_give_float64_gradient():
    d_guesses, _ = CategoricalCrossentropy()(GUESSES.astype("f8"), [1, 0, 2, 0])
    assert d_guesses.dtype == numpy.float64


def test_cce_empty_batch():
    for names, truths in [(None, []), (NAMES, []), (None, numpy.zeros((0,), dtype="i"))]:
        d_guesses, loss = CategoricalCrossentropy(names=names)(GUESSES[:0], truths)
        assert d_guesses.shape == (0, 3)
        assert float(loss) == 0.0


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cce_gradient_is_softmax_cross_entropy_gradient(normalize, smoothing):
    # The gradient w.r.t. the softmax output equals d(cross-entropy)/d(logits).
    rng = numpy.random.default_rng(0)
    logits = rng.normal(size=(6, 5))
    labels = [0, 3, 4, 1, 2, 3]
    missing_row = 2
    truths = list(labels)
    truths[missing_row] = -1
    loss_func = CategoricalCrossentropy(
        normalize=normalize, missing_value=-1, label_smoothing=smoothing
    )
    d_guesses = loss_func.get_grad(softmax(logits), truths)
    target = numpy.full((6, 5), smoothing / 4)
    target[numpy.arange(6), labels] = 1 - smoothing
    mask = numpy.ones((6, 5))
    mask[missing_row] = 0
    scale = 1 / 6 if normalize else 1.0
    indices, numeric = numeric_grad(
        lambda: scale * cross_entropy(logits, target, mask), logits, 1e-5, 30, rng
    )
    numpy.testing.assert_allclose(d_guesses.reshape(-1)[indices], numeric, rtol=1e-4, atol=1e-6)
    assert not d_guesses[missing_row].any()


@pytest.mark.parametrize(
    "loss_func,truths,match",
    [
        (CategoricalCrossentropy(), ["b", "a", "c", "a"], "names"),
        (CategoricalCrossentropy(names=NAMES), ["b", "z", "c", "a"], "Unknown label 'z'"),
        (CategoricalCrossentropy(), [1, 0, 2], r"\(4, 3\).*\(3, 3\)"),
        (CategoricalCrossentropy(), numpy.array([1, 0, 2]), r"\(4, 3\).*\(3, 3\)"),
        (CategoricalCrossentropy(), numpy.eye(4, dtype="f"), r"\(4, 4\)"),
        (CategoricalCrossentropy(), [1, 0, 3, 0], "3 .*class index"),
        (CategoricalCrossentropy(), [1, 0, -1, 0], "-1 .*class index"),
        (CategoricalCrossentropy(), numpy.array([1, 0, 5, 0]), "5 .*class index"),
        (CategoricalCrossentropy(), numpy.array([1.0, 0.0, 2.0, 0.0]), "integer"),
        (CategoricalCrossentropy(), [1.0, 0.0, 2.0, 0.0], "float"),
        (CategoricalCrossentropy(), numpy.zeros((4, 3, 2), dtype="f"), "shape"),
        (CategoricalCrossentropy(), numpy.eye(3, dtype="f")[[1, 0, 2, 0]] * 2, r"\[0, 1\]"),
        (
            CategoricalCrossentropy(label_smoothing=0.1),
            numpy.eye(3, dtype="f")[[1, 0, 2, 0]],
            "label_smoothing",
        ),
        (CategoricalCrossentropy(label_smoothing=0.7), [1, 0, 2, 0], "(?i)smooth"),
        (CategoricalCrossentropy(label_smoothing=-0.1), [1, 0, 2, 0], "(?i)smooth"),
    ],
)
def test_cce_bad_truths(loss_func, truths, match):
    with pytest.raises(ValueError, match=match):
        loss_func(GUESSES, truths)


def test_unknown_label_is_also_a_key_error():
    # thinc 8.3 raised KeyError here; both kinds of handler keep working.
    with pytest.raises(KeyError, match="'z'"):
        CategoricalCrossentropy(names=NAMES)(GUESSES, ["b", "z", "c", "a"])


def test_cce_guesses_must_be_probabilities():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CategoricalCrossentropy()(GUESSES * 2, [1, 0, 2, 0])


def test_cce_truths_of_wrong_type():
    with pytest.raises(TypeError, match="dict"):
        CategoricalCrossentropy()(GUESSES, {"a": 1})


# --- SequenceCategoricalCrossentropy -----------------------------------------


def test_sequence_cce_matches_thinc():
    loss_func = SequenceCategoricalCrossentropy(names=NAMES, missing_value="")
    d_scores, loss = loss_func([GUESSES[:1], GUESSES[1:]], [["c"], ["a", "", "b"]])
    # From thinc 8.3.14: gradients are divided by the number of sequences.
    numpy.testing.assert_allclose(d_scores[0], [[0.05, 0.35, -0.4]], rtol=1e-6)
    numpy.testing.assert_allclose(
        d_scores[1], [[-0.25, 0.1, 0.15], [0, 0, 0], [0.4, -0.45, 0.05]], rtol=1e-6
    )
    assert float(loss) == pytest.approx(0.7450000047683716, rel=1e-6)


def test_sequence_cce_truth_formats_and_normalize():
    sequences = [GUESSES[:2], GUESSES[2:]]
    for truths in ([[1, 0], [2, 0]], [numpy.array([1, 0]), numpy.array([2, 0])]):
        d_scores, loss = SequenceCategoricalCrossentropy()(sequences, truths)
        numpy.testing.assert_allclose(
            numpy.vstack(d_scores), numpy.array(EXPECTED_GRAD) * 2, rtol=1e-6
        )
        assert float(loss) == pytest.approx(0.28, rel=1e-5)
    d_scores, loss = SequenceCategoricalCrossentropy(normalize=False)(sequences, [[1, 0], [2, 0]])
    numpy.testing.assert_allclose(numpy.vstack(d_scores), numpy.array(EXPECTED_GRAD) * 4, rtol=1e-6)
    assert float(
        SequenceCategoricalCrossentropy().get_loss(sequences, [[1, 0], [2, 0]])
    ) == pytest.approx(0.28, rel=1e-5)


def test_sequence_cce_gradient_against_finite_differences():
    rng = numpy.random.default_rng(1)
    logits = [rng.normal(size=(3, 4)), rng.normal(size=(5, 4))]
    labels = [[0, 3, 1], [2, 2, 0, 1, 3]]
    d_scores = SequenceCategoricalCrossentropy().get_grad([softmax(z) for z in logits], labels)

    def mean_over_sequences():
        return sum(cross_entropy(z, numpy.eye(4)[y], 1.0) for z, y in zip(logits, labels)) / 2

    for logit, d_score in zip(logits, d_scores):
        assert d_score.shape == logit.shape
        indices, numeric = numeric_grad(mean_over_sequences, logit, 1e-5, 20, rng)
        numpy.testing.assert_allclose(d_score.reshape(-1)[indices], numeric, rtol=1e-4, atol=1e-6)


def test_sequence_cce_ragged_guesses():
    ragged = Ragged(GUESSES, numpy.array([1, 3], dtype="int32"))
    d_ragged, loss = SequenceCategoricalCrossentropy()(ragged, [[1], [0, 2, 0]])
    assert isinstance(d_ragged, Ragged)
    numpy.testing.assert_array_equal(d_ragged.lengths, [1, 3])
    d_list, list_loss = SequenceCategoricalCrossentropy()(
        [GUESSES[:1], GUESSES[1:]], [[1], [0, 2, 0]]
    )
    numpy.testing.assert_allclose(d_ragged.data, numpy.vstack(d_list), rtol=1e-6)
    assert float(loss) == pytest.approx(float(list_loss), rel=1e-6)


def test_sequence_cce_lengths_must_match():
    with pytest.raises(ValueError, match="2 guesses and 1 truths"):
        SequenceCategoricalCrossentropy()([GUESSES[:2], GUESSES[2:]], [[1, 0]])
    with pytest.raises(ValueError, match="2 guesses and 1 truths"):
        SequenceCategoricalCrossentropy()(Ragged(GUESSES, numpy.array([2, 2], dtype="i")), [[1, 0]])


def test_sequence_cce_empty_batch():
    d_scores, loss = SequenceCategoricalCrossentropy()([], [])
    assert d_scores == [] and float(loss) == 0.0


# --- L2Distance and CosineDistance -------------------------------------------


def test_l2_distance_matches_thinc():
    d_guesses, loss = L2Distance()(GUESSES, TRUTHS)
    numpy.testing.assert_allclose(d_guesses, (GUESSES - TRUTHS) / 4, rtol=1e-6)
    assert float(loss) == pytest.approx(0.08999999612569809, rel=1e-6)
    d_guesses, loss = L2Distance(normalize=False)(GUESSES, TRUTHS)
    numpy.testing.assert_allclose(d_guesses, GUESSES - TRUTHS, rtol=1e-6)
    assert float(loss) == pytest.approx(1.4399999, rel=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
def test_l2_distance_gradient_against_finite_differences(normalize):
    # get_loss is the sum of the squared gradient, so its derivative is
    # 2 * grad, times a further 1 / rows when normalizing.
    rng = numpy.random.default_rng(2)
    guesses = rng.normal(size=(5, 3))
    truths = rng.normal(size=(5, 3))
    loss_func = L2Distance(normalize=normalize)
    d_guesses = loss_func.get_grad(guesses, truths)
    indices, numeric = numeric_grad(
        lambda: float(loss_func.get_loss(guesses, truths)), guesses, 1e-6, 15, rng
    )
    factor = 2 / 5 if normalize else 2.0
    numpy.testing.assert_allclose(
        factor * d_guesses.reshape(-1)[indices], numeric, rtol=1e-5, atol=1e-8
    )


def test_cosine_distance_matches_thinc():
    d_guesses, loss = CosineDistance()(GUESSES, TRUTHS)
    numpy.testing.assert_allclose(
        d_guesses,
        [
            [-0.07936660945415497, 0.003450751304626465, 0.02760579064488411],
            [0.07394096255302429, -0.11091147363185883, -0.04929399490356445],
            [-0.11678200215101242, 0.32439446449279785, -0.15570934116840363],
            [0.024696052074432373, 0.0030870065093040466, -0.2006554752588272],
        ],
        rtol=1e-5,
        atol=1e-7,
    )
    assert float(loss) == pytest.approx(0.21750397980213165, rel=1e-6)
    d_guesses, loss = CosineDistance(ignore_zeros=True, normalize=False)(GUESSES, TRUTHS)
    assert not d_guesses[1].any()
    numpy.testing.assert_allclose(
        d_guesses[2], [-0.4671280086040497, 1.2975778579711914, -0.6228373646736145], rtol=1e-5
    )
    assert float(loss) == pytest.approx(0.8066017031669617, rel=1e-6)


def test_cosine_similarity():
    similarity = CosineDistance().get_similarity(GUESSES, TRUTHS)
    assert similarity.shape == (4, 1)
    numpy.testing.assert_allclose(
        similarity[:, 0], [0.96896285, 0.9365858, 0.47058827, 0.7538472], rtol=1e-6
    )
    numpy.testing.assert_allclose(
        CosineDistance().get_similarity(GUESSES, GUESSES * 3), 1.0, rtol=1e-6
    )


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("ignore_zeros", [True, False])
def test_cosine_gradient_against_finite_differences(normalize, ignore_zeros):
    rng = numpy.random.default_rng(3)
    guesses = rng.normal(size=(4, 6))
    truths = rng.normal(size=(4, 6))
    truths[1] = 0
    loss_func = CosineDistance(normalize=normalize, ignore_zeros=ignore_zeros)
    d_guesses = loss_func.get_grad(guesses, truths)
    rows = [0, 2, 3] if ignore_zeros else [0, 1, 2, 3]
    for row in rows:
        indices, numeric = numeric_grad(
            lambda: float(loss_func.get_loss(guesses, truths)), guesses[row], 1e-6, 6, rng
        )
        numpy.testing.assert_allclose(d_guesses[row][indices], numeric, rtol=1e-4, atol=1e-7)
    if ignore_zeros:
        assert not d_guesses[1].any()


@pytest.mark.parametrize("loss_func", [L2Distance(), CosineDistance()], ids=["l2", "cosine"])
def test_distance_shape_mismatch(loss_func):
    with pytest.raises(ValueError, match=r"\(4, 3\) vs \(3, 3\)"):
        loss_func(GUESSES, TRUTHS[:3])
    with pytest.raises(ValueError, match=r"\(4, 3\) vs \(3, 3\)"):
        loss_func.get_loss(GUESSES, TRUTHS[:3])


def test_cosine_takes_axis_1_of_any_rank():
    # 1d arrays have no axis 1: numpy's AxisError (a ValueError and an IndexError),
    # as in thinc 8.3.
    with pytest.raises(ValueError, match="axis 1"):
        CosineDistance()(GUESSES[0], TRUTHS[0])
    with pytest.raises(IndexError):
        CosineDistance().get_similarity(GUESSES[0], TRUTHS[0])
    # Higher ranks: the cosine along axis 1, as thinc 8.3 computes it.
    guesses = GUESSES.reshape((2, 2, 3)) + 0.5
    truths = numpy.abs(TRUTHS).reshape((2, 2, 3)) + 0.5
    dot = (guesses * truths).sum(axis=1, keepdims=True)
    norms = numpy.linalg.norm(guesses, axis=1, keepdims=True) * numpy.linalg.norm(
        truths, axis=1, keepdims=True
    )
    similarity = CosineDistance().get_similarity(guesses, truths)
    numpy.testing.assert_allclose(similarity, dot / norms, rtol=1e-5)
    loss = CosineDistance(normalize=False).get_loss(guesses, truths)
    assert loss == pytest.approx(float(numpy.abs(dot / norms - 1).sum()), rel=1e-5)


def test_cce_label_out_of_range_in_a_list_is_also_an_index_error():
    # thinc 8.3 raised IndexError (indexing its one-hot table); a list and an
    # array of labels raise the same kind of error.
    for truths in ([1, 0, 3, 0], numpy.array([1, 0, 3, 0])):
        with pytest.raises(IndexError, match="3 .*class index"):
            CategoricalCrossentropy()(GUESSES, truths)
    with pytest.raises(IndexError, match="3 .*class index"):
        SequenceCategoricalCrossentropy()([GUESSES], [[1, 0, 3, 0]])


@pytest.mark.parametrize(
    "truths",
    [
        numpy.array([1.0, 0.0, 2.0, 0.0]),
        numpy.array(["b", "a", "c", "a"]),
        numpy.array([True, False, True, False]),
        numpy.zeros((4, 3, 1), dtype="f"),
    ],
    ids=["floats", "strings", "bools", "3d-floats"],
)
def test_cce_non_integer_labels_are_also_index_errors(truths):
    # thinc 8.3 indexed its one-hot table with them (IndexError, or a mask that
    # picked the wrong rows); ours says they must be integers.
    with pytest.raises(ValueError, match="integer class indices"):
        CategoricalCrossentropy(names=NAMES)(GUESSES, truths)
    with pytest.raises(IndexError):
        CategoricalCrossentropy()(GUESSES, truths)


def test_cce_empty_boolean_labels_are_no_labels():
    d_guesses, loss = CategoricalCrossentropy()(
        numpy.zeros((0, 3), dtype="f"), numpy.zeros((0,), dtype="bool")
    )
    assert d_guesses.shape == (0, 3) and loss == 0


def test_cce_names_must_match_the_columns():
    # thinc 8.3 failed to broadcast its mask of names against the guesses.
    for truths in (["a", "b", "a", "b"], [0, 1, 0, 1], numpy.eye(3, dtype="f")[[0, 1, 0, 1]]):
        with pytest.raises(ValueError, match="2 names but the guesses have 3 columns"):
            CategoricalCrossentropy(names=["a", "b"])(GUESSES, truths)
    with pytest.raises(ValueError, match="4 names"):
        CategoricalCrossentropy(names=["a", "b", "c", "d"])(GUESSES, ["a", "b", "a", "b"])
    # A single name broadcasts over the columns, as in 8.3; no names at all is
    # the same as none given.
    d_guesses, _ = CategoricalCrossentropy(names=["a"])(GUESSES, ["a"] * 4)
    numpy.testing.assert_allclose(d_guesses, (GUESSES - numpy.eye(3)[[0] * 4]) / 4, rtol=1e-6)
    d_guesses, _ = CategoricalCrossentropy(names=[])(GUESSES, [1, 0, 2, 0])
    numpy.testing.assert_allclose(d_guesses, EXPECTED_GRAD, rtol=1e-6)


def test_cce_one_guess_per_row_takes_labels_as_targets():
    # With 1d guesses, integer truths (list or array) are the targets
    # themselves, and an integer missing_value masks the entries equal to it.
    guesses = numpy.array([0.2, 0.8, 0.4], dtype="f")
    for truths in ([0, 1, 1], numpy.array([0, 1, 1], dtype="i")):
        d_guesses, loss = CategoricalCrossentropy()(guesses, truths)
        numpy.testing.assert_allclose(d_guesses, (guesses - [0, 1, 1]) / 3, rtol=1e-6)
        d_guesses, _ = CategoricalCrossentropy(missing_value=0)(guesses, truths)
        numpy.testing.assert_allclose(d_guesses, [0.0, -0.2 / 3, -0.6 / 3], rtol=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        CategoricalCrossentropy(label_smoothing=0.1)(guesses, [0, 1, 1])
    d_guesses, loss = CategoricalCrossentropy()(numpy.zeros((0,), dtype="f"), [])
    assert d_guesses.shape == (0,) and loss == 0


def test_base_loss():
    class Halve(Loss):
        def get_grad(self, guesses, truths):
            return (guesses - truths) / 2

        def get_loss(self, guesses, truths):
            return float(((guesses - truths) ** 2).sum() / 4)

    grad, loss = Halve()(numpy.ones(2), numpy.zeros(2))
    numpy.testing.assert_array_equal(grad, [0.5, 0.5])
    assert loss == 0.5
    with pytest.raises(NotImplementedError):
        Loss().get_grad(GUESSES, TRUTHS)


# --- Registry ----------------------------------------------------------------


def test_registered_versions():
    v1 = registry.losses.get("CategoricalCrossentropy.v1")(names=NAMES, missing_value="")
    v2 = registry.losses.get("CategoricalCrossentropy.v2")(neg_prefix="!")
    v3 = registry.losses.get("CategoricalCrossentropy.v3")(label_smoothing=0.1, normalize=False)
    assert isinstance(v1, CategoricalCrossentropy) and v1.names == NAMES and v1.missing_value == ""
    assert v2.neg_prefix == "!" and v3.label_smoothing == 0.1 and v3.normalize is False
    s1 = registry.losses.get("SequenceCategoricalCrossentropy.v1")(names=NAMES)
    s2 = registry.losses.get("SequenceCategoricalCrossentropy.v2")(neg_prefix="!")
    s3 = registry.losses.get("SequenceCategoricalCrossentropy.v3")(
        missing_value=0, label_smoothing=0.2
    )
    assert isinstance(s1, SequenceCategoricalCrossentropy) and s1.cc.names == NAMES
    assert s1.cc.normalize is False and s1.normalize is True
    assert s2.cc.neg_prefix == "!" and s3.cc.missing_value == 0 and s3.cc.label_smoothing == 0.2
    assert isinstance(registry.losses.get("L2Distance.v1")(normalize=False), L2Distance)
    cosine = registry.losses.get("CosineDistance.v1")(ignore_zeros=True)
    assert isinstance(cosine, CosineDistance) and cosine.ignore_zeros is True
    with pytest.raises(TypeError):
        registry.losses.get("CategoricalCrossentropy.v1")(neg_prefix="!")


def test_resolve_from_config():
    config = Config().from_str(
        """
        [loss]
        @losses = "SequenceCategoricalCrossentropy.v3"
        names = ["a", "b", "c"]
        normalize = false
        label_smoothing = 0.1
        """
    )
    loss_func = registry.resolve(config)["loss"]
    d_scores, _ = loss_func([GUESSES], [["b", "a", "c", "a"]])
    numpy.testing.assert_allclose(
        d_scores[0],
        numpy.array(
            [
                [0.012500000186264515, -0.04999999701976776, 0.03750000149011612],
                [-0.09999999403953552, 0.03750000149011612, 0.0625],
                [0.0625, 0.0625, -0.1249999925494194],
                [-0.024999991059303284, 0.012500000186264515, 0.012500000186264515],
            ]
        )
        * 4,
        rtol=1e-6,
    )


# --- Against the thinc 8.3.14 oracle -----------------------------------------

_ORACLE_SCRIPT = """
import json, sys
import numpy as np
from thinc.loss import CategoricalCrossentropy, SequenceCategoricalCrossentropy
from thinc.loss import L2Distance, CosineDistance
def encode(value):
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return np.asarray(value, dtype="float64").ravel().tolist()
out = []
for cls, kwargs, guesses, truths in json.loads(sys.argv[1]):
    if cls == "SequenceCategoricalCrossentropy":
        guesses = [np.asarray(g, dtype="f") for g in guesses]
    else:
        guesses = np.asarray(guesses, dtype="f")
        if truths and isinstance(truths[0], list):
            truths = np.asarray(truths, dtype="f")
    out.append(encode(globals()[cls](**kwargs)(guesses, truths)))
print(json.dumps(out))
"""


def _oracle_cases():
    rng = numpy.random.default_rng(7)
    guesses = softmax(rng.normal(size=(6, 4))).astype("f")
    other = softmax(rng.normal(size=(6, 4))).astype("f")
    values = rng.normal(size=(6, 4)).astype("f")
    truths = rng.normal(size=(6, 4)).astype("f")
    names = ["w", "x", "y", "z"]
    g, o = guesses.tolist(), other.tolist()
    return [
        ("CategoricalCrossentropy", {}, g, [0, 1, 2, 3, 0, 1]),
        ("CategoricalCrossentropy", {}, g, o),
        (
            "CategoricalCrossentropy",
            {"missing_value": 2, "normalize": False},
            g,
            [0, 2, 2, 3, 0, 1],
        ),
        (
            "CategoricalCrossentropy",
            {"names": names, "label_smoothing": 0.25},
            g,
            ["w", "x", "y", "z", "z", "y"],
        ),
        (
            "CategoricalCrossentropy",
            {"names": names, "neg_prefix": "-", "missing_value": ""},
            g,
            ["w", "-x", "", "z", "-z", "y"],
        ),
        (
            "SequenceCategoricalCrossentropy",
            {"label_smoothing": 0.1},
            [g[:2], g[2:]],
            [[0, 1], [2, 3, 0, 1]],
        ),
        (
            "SequenceCategoricalCrossentropy",
            {"names": names, "normalize": False},
            [g[:5], g[5:]],
            [["w", "x", "y", "z", "w"], [None]],
        ),
        ("L2Distance", {}, values.tolist(), truths.tolist()),
        ("CosineDistance", {}, values.tolist(), truths.tolist()),
        (
            "CosineDistance",
            {"ignore_zeros": True, "normalize": False},
            values.tolist(),
            (truths * (numpy.arange(6) % 2)[:, None]).tolist(),
        ),
    ]


def _encode(value):
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return numpy.asarray(value, dtype="float64").ravel().tolist()


@pytest.mark.ref
def test_values_match_thinc_oracle(tmp_path):
    ref_python = require_ref_thinc()
    cases = _oracle_cases()
    result = subprocess.run(
        [str(ref_python), "-c", _ORACLE_SCRIPT, json.dumps(cases)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(result.stdout)
    import thinc.loss

    for (cls, kwargs, guesses, truths), ref in zip(cases, expected):
        if cls == "SequenceCategoricalCrossentropy":
            guesses = [numpy.asarray(g, dtype="f") for g in guesses]
        else:
            guesses = numpy.asarray(guesses, dtype="f")
            if truths and isinstance(truths[0], list):
                truths = numpy.asarray(truths, dtype="f")
        ours = _encode(getattr(thinc.loss, cls)(**kwargs)(guesses, truths))
        _assert_nested_close(ours, ref, f"{cls} {kwargs}")


def _assert_nested_close(ours, ref, label):
    if ref and isinstance(ref[0], list):
        assert len(ours) == len(ref), label
        for a, b in zip(ours, ref):
            _assert_nested_close(a, b, label)
    else:
        numpy.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9, err_msg=label)
