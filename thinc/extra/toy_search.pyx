# cython: infer_types=True, boundscheck=False, wraparound=False
"""A toy transition system that drives Beam from Python: the harness of the beam
tests, and an example of the callbacks a real parser supplies."""
from cymem.cymem cimport Pool
from libc.string cimport memcpy

from .search cimport Beam, MaxViolation, class_t, hash_func_t, hash_t, weight_t

import numpy


# A state is the sequence of classes chosen so far; class 0 ends it early, and
# it also ends once it holds `limit` classes.
cdef struct ToyState:
    int length
    int limit
    int stopped
    class_t* classes


cdef void* init_state(Pool mem, int n, void* extra_args) except NULL:
    state = <ToyState*>mem.alloc(1, sizeof(ToyState))
    state.limit = n
    state.classes = <class_t*>mem.alloc(n + 1, sizeof(class_t))
    return state


cdef int delete_state(Pool mem, void* state, void* extra_args) except -1:
    return 0


cdef int transition(void* dest, void* src, class_t clas, void* extra_args) except -1:
    out = <ToyState*>dest
    parent = <ToyState*>src
    memcpy(out.classes, parent.classes, parent.length * sizeof(class_t))
    out.length = parent.length
    out.limit = parent.limit
    out.classes[out.length] = clas
    out.length += 1
    out.stopped = clas == 0
    return 0


cdef int is_final(void* state, void* extra_args) except -1:
    toy = <ToyState*>state
    return toy.stopped or toy.length >= toy.limit


cdef hash_t hash_last_class(void* state, void* extra_args) except 0:
    # Offset by 2: the beam reserves keys 0 and 1 for "no identity".
    toy = <ToyState*>state
    return 2 + (toy.classes[toy.length - 1] if toy.length else 0)


cdef class ToyBeam:
    """A Beam over toy states, fed score tables from Python."""
    cdef readonly Beam beam
    cdef readonly int nr_class
    cdef public bint dedupe_last_class

    def __init__(self, int nr_class, int width, int limit, float min_density=0.0,
                 bint dedupe_last_class=False):
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.nr_class = nr_class
        self.beam = Beam(nr_class, width, min_density=min_density)
        self.beam.initialize(init_state, delete_state, limit, NULL)
        self.dedupe_last_class = dedupe_last_class
        self.beam.check_done(is_final, NULL)

    def advance(self, scores, costs=None, valid=None):
        """One step: ``scores`` (and optional ``costs``, ``valid``) have a row per
        state in the beam and a column per class."""
        scores = numpy.require(scores, dtype="float32", requirements="CA")
        size = self.beam.size
        if scores.shape != (size, self.nr_class):
            raise ValueError(f"scores shape {scores.shape} != (beam size {size}, {self.nr_class})")
        costs = numpy.zeros_like(scores) if costs is None else numpy.require(costs, dtype="float32", requirements="CA")
        valid = numpy.ones(scores.shape, dtype="int32") if valid is None else numpy.require(valid, dtype="int32", requirements="CA")
        # The loop below reads all three tables unchecked (boundscheck is off).
        if costs.shape != scores.shape or valid.shape != scores.shape:
            raise ValueError(f"costs {costs.shape} and valid {valid.shape} must match scores {scores.shape}")
        cdef float[:, ::1] score_view = scores
        cdef float[:, ::1] cost_view = costs
        cdef int[:, ::1] valid_view = valid
        cdef int i, j
        for i in range(size):
            for j in range(self.nr_class):
                self.beam.set_cell(i, j, score_view[i, j], valid_view[i, j], cost_view[i, j])
        cdef hash_func_t hash_func = NULL
        if self.dedupe_last_class:
            hash_func = hash_last_class
        self.beam.advance(transition, hash_func, NULL)
        self.beam.check_done(is_final, NULL)

    def contents(self):
        """The class sequence held by each state in the beam, best first."""
        out = []
        cdef ToyState* state
        for i in range(self.beam.size):
            state = <ToyState*>self.beam.at(i)
            out.append([state.classes[k] for k in range(state.length)])
        return out


def check_violation(ToyBeam pred, ToyBeam gold, bint crf=False):
    """Run MaxViolation.check (or check_crf) on two toy beams."""
    violation = MaxViolation()
    if crf:
        violation.check_crf(pred.beam, gold.beam)
    else:
        violation.check(pred.beam, gold.beam)
    return violation
