"""Beam search and MaxViolation, driven through the toy transition system."""

import itertools
import math

import numpy
import pytest

from thinc.extra.search import Beam, MaxViolation
from thinc.extra.toy_search import ToyBeam, check_violation


def test_beam_rejects_empty_dimensions():
    with pytest.raises(ValueError, match="nr_class=0"):
        Beam(0, 4)
    with pytest.raises(ValueError, match="width=0"):
        Beam(3, 0)
    with pytest.raises(OverflowError):
        Beam(-1, 4)


def test_new_beam_holds_one_empty_state():
    beam = Beam(3, 4, min_density=0.25)
    assert len(beam) == 1
    assert beam.score == 0.0 and beam.loss == 0.0
    assert beam.is_done is False
    assert beam.min_density == pytest.approx(0.25)
    assert beam.probs == [1.0]


def _history_scores(nr_class, limit, seed):
    rng = numpy.random.default_rng(seed)
    table = {}

    def score(history, clas):
        key = (tuple(history), clas)
        if key not in table:
            table[key] = float(rng.normal())
        return table[key]

    return score


def _run(beam, score, nr_class, valid_row):
    while not beam.beam.is_done:
        rows = [[score(h, c) for c in range(nr_class)] for h in beam.contents()]
        beam.advance(numpy.asarray(rows), valid=numpy.tile(valid_row, (len(rows), 1)))


def test_wide_beam_finds_the_exhaustive_optimum():
    nr_class, limit = 3, 3
    score = _history_scores(nr_class, limit, seed=1)
    valid_row = numpy.asarray([0, 1, 1], dtype="int32")  # class 0 would stop early
    best = max(
        itertools.product([1, 2], repeat=limit),
        key=lambda seq: sum(score(seq[:i], c) for i, c in enumerate(seq)),
    )
    best_total = sum(score(best[:i], c) for i, c in enumerate(best))
    toy = ToyBeam(nr_class, width=2**limit, limit=limit)
    _run(toy, score, nr_class, valid_row)
    assert toy.contents()[0] == list(best)
    assert toy.beam.histories[0] == list(best)
    assert toy.beam.score == pytest.approx(best_total, rel=1e-5)
    assert len(toy.beam) == 2**limit
    assert toy.beam.scores == sorted(toy.beam.scores, reverse=True)
    assert sum(toy.beam.probs) == pytest.approx(1.0)


def test_width_one_is_greedy():
    nr_class, limit = 4, 5
    score = _history_scores(nr_class, limit, seed=2)
    valid_row = numpy.asarray([0, 1, 1, 1], dtype="int32")
    toy = ToyBeam(nr_class, width=1, limit=limit)
    _run(toy, score, nr_class, valid_row)
    history = []
    for _ in range(limit):
        history.append(max(range(1, nr_class), key=lambda c: score(history, c)))
    assert toy.contents() == [history]


def test_finished_states_carry_over_with_mean_step_bonus():
    toy = ToyBeam(2, width=2, limit=3)
    toy.advance(numpy.asarray([[1.0, 0.5]]))  # class 0 stops: [0] is final
    assert toy.contents() == [[0], [1]]
    toy.advance(numpy.asarray([[9.0, 9.0], [0.1, 0.2]]))  # the final state's row is ignored
    # [0] scores 1.0 + 1.0 / 1 step; [1, 1] scores 0.5 + 0.2; [1, 0] (0.6) drops out.
    assert toy.contents() == [[0], [1, 1]]
    assert toy.beam.scores == pytest.approx([2.0, 0.7])


def test_costs_accumulate_into_loss():
    toy = ToyBeam(3, width=3, limit=2)
    toy.advance(
        numpy.asarray([[0.0, 2.0, 1.0]]),
        costs=numpy.asarray([[0.0, 1.0, 0.0]]),
        valid=numpy.asarray([[0, 1, 1]]),
    )
    assert toy.beam.loss == pytest.approx(1.0)
    toy.advance(
        numpy.zeros((2, 3)) + [0.0, 1.0, 0.0],
        costs=numpy.ones((2, 3)),
        valid=numpy.asarray([[0, 1, 1], [0, 1, 1]]),
    )
    assert toy.beam.loss == pytest.approx(2.0)
    assert toy.beam.is_done


def test_hash_keeps_one_state_per_identity():
    toy = ToyBeam(3, width=6, limit=3, dedupe_last_class=True)
    valid = numpy.asarray([[0, 1, 1]])
    toy.advance(numpy.asarray([[0.0, 1.0, 0.5]]), valid=valid)
    toy.advance(numpy.asarray([[0.0, 1.0, 0.5], [0.0, 0.3, 0.9]]), valid=numpy.tile(valid, (2, 1)))
    last = [h[-1] for h in toy.contents()]
    assert sorted(last) == [1, 2]  # four candidates, two identities
    assert toy.contents()[0] == [1, 1]


def test_min_density_prunes_unlikely_candidates():
    scores = numpy.asarray([[0.0, 0.0, -5.0]])
    valid = numpy.asarray([[0, 1, 1]])
    loose = ToyBeam(3, width=4, limit=2)
    loose.advance(scores, valid=valid)
    strict = ToyBeam(3, width=4, limit=2, min_density=0.5)
    strict.advance(scores, valid=valid)
    assert len(loose.beam) == 2
    assert len(strict.beam) == 1


def test_advance_rejects_mismatched_table():
    toy = ToyBeam(3, width=2, limit=2)
    with pytest.raises(ValueError, match="scores shape"):
        toy.advance(numpy.zeros((2, 3)))


def test_advance_without_valid_classes_raises():
    toy = ToyBeam(3, width=2, limit=2)
    with pytest.raises(ValueError, match="no valid class"):
        toy.advance(numpy.zeros((1, 3)), valid=numpy.zeros((1, 3)))


def _pred_and_gold():
    # Predicted beam prefers class 2 (cost 1); gold beam is restricted to class 1.
    pred = ToyBeam(3, width=2, limit=1)
    pred.advance(
        numpy.asarray([[0.0, 1.0, 2.0]]),
        costs=numpy.asarray([[0.0, 0.0, 1.0]]),
        valid=numpy.asarray([[0, 1, 1]]),
    )
    gold = ToyBeam(3, width=2, limit=1)
    gold.advance(numpy.asarray([[0.0, 1.0, 2.0]]), valid=numpy.asarray([[0, 1, 0]]))
    return pred, gold


def test_max_violation_check_records_the_violation():
    pred, gold = _pred_and_gold()
    violation = check_violation(pred, gold)
    assert violation.p_hist == [2] and violation.g_hist == [1]
    assert violation.p_score == pytest.approx(2.0)
    assert violation.g_score == pytest.approx(1.0)
    assert violation.Z == pytest.approx(math.exp(2.0) + math.exp(1.0), rel=1e-5)
    assert violation.gZ == pytest.approx(math.exp(1.0), rel=1e-5)


def test_max_violation_check_crf_gradients():
    pred, gold = _pred_and_gold()
    violation = check_violation(pred, gold, crf=True)
    assert violation.p_hist == [[2]]
    assert violation.g_hist == [[1]]  # found in the predicted beam, kept once
    p_wrong = math.exp(2.0) / (math.exp(2.0) + math.exp(1.0))
    assert violation.p_probs == pytest.approx([p_wrong])
    assert violation.g_probs == pytest.approx([(1 - p_wrong) - 1.0])
    assert sum(violation.p_probs) + sum(violation.g_probs) == pytest.approx(0.0, abs=1e-7)


def test_max_violation_ignores_correct_predictions():
    gold_a = ToyBeam(3, width=2, limit=1)
    gold_a.advance(numpy.asarray([[0.0, 1.0, 2.0]]), valid=numpy.asarray([[0, 1, 0]]))
    gold_b = ToyBeam(3, width=2, limit=1)
    gold_b.advance(numpy.asarray([[0.0, 1.0, 2.0]]), valid=numpy.asarray([[0, 1, 0]]))
    violation = check_violation(gold_a, gold_b, crf=True)
    assert violation.p_hist == [] and violation.g_hist == []
    fresh = MaxViolation()
    assert fresh.p_probs == [] and fresh.Z == 0.0


def test_toy_beam_refuses_cost_and_validity_tables_of_another_shape():
    beam = ToyBeam(3, 2, 5)
    scores = numpy.zeros((1, 3), dtype="float32")
    with pytest.raises(ValueError, match="must match scores"):
        beam.advance(scores, costs=numpy.zeros((0, 0), dtype="float32"))
    with pytest.raises(ValueError, match="must match scores"):
        beam.advance(scores, valid=numpy.ones((1, 1), dtype="int32"))
