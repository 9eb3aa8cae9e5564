# cython: infer_types=True, boundscheck=False, wraparound=False, cdivision=True
"""Beam search over C states whose transitions the caller supplies as callbacks,
and the max-violation bookkeeping that trains a model through it."""
from cymem.cymem cimport Pool
from libc.math cimport exp
from libc.string cimport memcpy, memset
from libcpp.unordered_set cimport unordered_set

import math


cdef class Beam:
    """Keeps the `width` best-scoring states; each step extends every state by
    every valid class and keeps the best `width` of the results."""

    def __init__(self, class_t nr_class, class_t width, weight_t min_density=0.0):
        if nr_class == 0:
            raise ValueError("Beam needs at least one class (nr_class=0)")
        if width == 0:
            raise ValueError("Beam needs a width of at least 1 (width=0)")
        if nr_class * width > 2 ** 31:
            raise ValueError(f"Beam table too large: width {width} x nr_class {nr_class}")
        self.nr_class = nr_class
        self.width = width
        self.size = 1
        self.t = 0
        self.min_density = min_density
        self.is_done = False
        self.del_func = NULL
        self.mem = Pool()
        self._parents = <_State*>self.mem.alloc(width, sizeof(_State))
        self._states = <_State*>self.mem.alloc(width, sizeof(_State))
        self.scores = <weight_t**>self.mem.alloc(width, sizeof(weight_t*))
        self.is_valid = <int**>self.mem.alloc(width, sizeof(int*))
        self.costs = <weight_t**>self.mem.alloc(width, sizeof(weight_t*))
        cdef class_t i
        for i in range(width):
            self.scores[i] = <weight_t*>self.mem.alloc(nr_class, sizeof(weight_t))
            self.is_valid[i] = <int*>self.mem.alloc(nr_class, sizeof(int))
            self.costs[i] = <weight_t*>self.mem.alloc(nr_class, sizeof(weight_t))
        self.histories = [[] for _ in range(width)]
        self._parent_histories = [[] for _ in range(width)]

    def __dealloc__(self):
        if self.del_func == NULL or self._states == NULL or self._parents == NULL:
            return
        cdef class_t i
        for i in range(self.width):
            if self._states[i].content != NULL:
                self.del_func(self.mem, self._states[i].content, NULL)
            if self._parents[i].content != NULL:
                self.del_func(self.mem, self._parents[i].content, NULL)

    def __len__(self):
        return self.size

    property score:
        def __get__(self):
            return self._states[0].score

    property min_score:
        def __get__(self):
            return self._states[self.size - 1].score

    property loss:
        def __get__(self):
            return self._states[0].loss

    property probs:
        def __get__(self):
            return _softmax([self._states[i].score for i in range(self.size)])

    property scores:
        def __get__(self):
            return [self._states[i].score for i in range(self.size)]

    property histories:
        def __get__(self):
            return self.histories

    cdef int set_row(self, int i, const weight_t* scores, const int* is_valid,
                     const weight_t* costs) except -1:
        if i < 0 or <class_t>i >= self.width:
            raise IndexError(f"Beam row {i} out of range for width {self.width}")
        cdef class_t j
        memcpy(self.scores[i], scores, self.nr_class * sizeof(weight_t))
        if is_valid != NULL:
            memcpy(self.is_valid[i], is_valid, self.nr_class * sizeof(int))
        else:
            for j in range(self.nr_class):
                self.is_valid[i][j] = 1
        if costs != NULL:
            memcpy(self.costs[i], costs, self.nr_class * sizeof(weight_t))
        else:
            memset(self.costs[i], 0, self.nr_class * sizeof(weight_t))
        return 0

    cdef int set_table(self, weight_t** scores, int** is_valid, weight_t** costs) except -1:
        cdef class_t i
        for i in range(self.size):
            self.set_row(i, scores[i], is_valid[i] if is_valid != NULL else NULL,
                         costs[i] if costs != NULL else NULL)
        return 0

    cdef int initialize(self, init_func_t init_func, del_func_t del_func, int n,
                        void* extra_args) except -1:
        self.del_func = del_func
        cdef class_t i
        for i in range(self.width):
            self._states[i].content = init_func(self.mem, n, extra_args)
            self._parents[i].content = init_func(self.mem, n, extra_args)
        return 0

    cdef int _fill(self, Queue* q, weight_t** scores, int** is_valid) except -1:
        """Queue every candidate extension of the current states."""
        cdef vector[Entry] candidates
        cdef Entry entry
        cdef _State* state
        cdef class_t i, j
        for i in range(self.size):
            state = &self._states[i]
            if state.is_done:
                # A final state competes once, credited with its mean step score
                # so that shorter finished paths are not favoured for free.
                entry.first = state.score
                if self.t > 0 and len(self.histories[i]) > 0:
                    entry.first += state.score / self.t
                entry.second = i * self.nr_class
                candidates.push_back(entry)
            else:
                for j in range(self.nr_class):
                    if is_valid[i][j]:
                        entry.first = state.score + scores[i][j]
                        entry.second = i * self.nr_class + j
                        candidates.push_back(entry)
        if candidates.empty():
            return 0
        cdef weight_t best = candidates[0].first
        cdef size_t k
        for k in range(candidates.size()):
            if candidates[k].first > best:
                best = candidates[k].first
        for k in range(candidates.size()):
            # min_density prunes candidates whose probability relative to the
            # best one falls below it; 0.0 keeps everything.
            if self.min_density <= 0.0 or exp(candidates[k].first - best) >= self.min_density:
                q.push(candidates[k])
        return 0

    cdef int advance(self, trans_func_t transition_func, hash_func_t hash_func,
                     void* extra_args) except -1:
        cdef Queue q
        self._fill(&q, self.scores, self.is_valid)
        # Last step's states become this step's parents and their slots are
        # recycled, so a beam of width k only ever owns 2k states.
        self._parents, self._states = self._states, self._parents
        self._parent_histories, self.histories = self.histories, self._parent_histories
        cdef unordered_set[hash_t] seen
        cdef class_t n_new = 0
        cdef size_t parent_index
        cdef class_t clas
        cdef hash_t key
        cdef _State* parent
        cdef _State* state
        cdef _State swapped
        cdef Entry entry
        while n_new < self.width and not q.empty():
            entry = q.top()
            q.pop()
            parent_index = entry.second // self.nr_class
            clas = entry.second % self.nr_class
            parent = &self._parents[parent_index]
            state = &self._states[n_new]
            if parent.is_done:
                # Final states are not transitioned: move the whole record over,
                # leaving the slot's old record (and its content) to the parent.
                swapped = state[0]
                state[0] = parent[0]
                parent[0] = swapped
                state.score = entry.first
                self.histories[n_new] = list(self._parent_histories[parent_index])
                n_new += 1
                continue
            transition_func(state.content, parent.content, clas, extra_args)
            key = hash_func(state.content, extra_args) if hash_func != NULL else 0
            if key > 1:
                if seen.count(key):
                    continue
                seen.insert(key)
            state.score = entry.first
            state.loss = parent.loss + self.costs[parent_index][clas]
            state.t = parent.t + 1
            state.is_done = False
            self.histories[n_new] = self._parent_histories[parent_index] + [clas]
            n_new += 1
        if n_new == 0:
            raise ValueError("Beam.advance: no valid class for any state in the beam")
        self.size = n_new
        cdef class_t i
        for i in range(self.width):
            memset(self.scores[i], 0, self.nr_class * sizeof(weight_t))
            memset(self.costs[i], 0, self.nr_class * sizeof(weight_t))
            memset(self.is_valid[i], 0, self.nr_class * sizeof(int))
        self.t += 1
        return 0

    cdef int check_done(self, finish_func_t finish_func, void* extra_args) except -1:
        cdef class_t i
        cdef bint all_done = True
        for i in range(self.size):
            if not self._states[i].is_done:
                self._states[i].is_done = finish_func(self._states[i].content, extra_args)
            all_done = all_done and self._states[i].is_done
        self.is_done = all_done
        return 0


def _softmax(nums):
    """Probabilities from a list of scores (numerically stable)."""
    if not nums:
        return []
    top = max(nums)
    exps = [math.exp(x - top) for x in nums]
    total = sum(exps)
    return [x / total for x in exps]


cdef class MaxViolation:
    """Remembers the step where the predicted beam's best wrong analysis most
    outscored the gold beam's, which is where an update teaches the most."""

    def __init__(self):
        self.mem = Pool()
        self.cost = 0
        self.delta = -1
        self.p_score = 0.0
        self.g_score = 0.0
        self.Z = 0.0
        self.gZ = 0.0
        self.n = 0
        self.p_hist = []
        self.g_hist = []
        self.p_probs = []
        self.g_probs = []

    cpdef int check(self, Beam pred, Beam gold) except -1:
        cdef _State* p = &pred._states[0]
        cdef _State* g = &gold._states[0]
        cdef weight_t delta = p.score - g.score
        cdef class_t i
        if p.loss >= 1 and (self.cost == 0 or delta > self.delta):
            self.cost = p.loss
            self.delta = delta
            self.p_hist = list(pred.histories[0])
            self.g_hist = list(gold.histories[0])
            self.p_score = p.score
            self.g_score = g.score
            self.Z = 1e-10
            self.gZ = 1e-10
            for i in range(pred.size):
                if pred._states[i].loss > 0:
                    self.Z += exp(pred._states[i].score)
            for i in range(gold.size):
                if gold._states[i].loss == 0:
                    self.Z += exp(gold._states[i].score)
                    self.gZ += exp(gold._states[i].score)
        return 0

    cpdef int check_crf(self, Beam pred, Beam gold) except -1:
        """Like check, but keeps every analysis of both beams, with the gradient
        of the CRF loss for each: P(analysis) over all kept analyses, minus,
        for gold analyses, P(analysis) over the gold ones."""
        cdef weight_t delta = pred._states[0].score - gold._states[0].score
        if not (pred._states[0].loss >= 1 and (self.cost == 0 or delta > self.delta)):
            return 0
        wrong_scores, wrong_hists = [], []
        gold_scores, gold_hists = [], []
        seen_gold = set()
        cdef class_t i
        for i in range(pred.size):
            history = list(pred.histories[i])
            if pred._states[i].loss > 0:
                wrong_scores.append(pred._states[i].score)
                wrong_hists.append(history)
            elif tuple(history) not in seen_gold:
                # Non-monotonic moves can reach a gold analysis from the
                # predicted beam; it counts as gold.
                seen_gold.add(tuple(history))
                gold_scores.append(pred._states[i].score)
                gold_hists.append(history)
        for i in range(gold.size):
            history = list(gold.histories[i])
            if gold._states[i].loss == 0 and tuple(history) not in seen_gold:
                seen_gold.add(tuple(history))
                gold_scores.append(gold._states[i].score)
                gold_hists.append(history)
        joint = _softmax(wrong_scores + gold_scores)
        within_gold = _softmax(gold_scores)
        self.cost = pred._states[0].loss
        self.delta = delta
        self.p_score = pred._states[0].score
        self.g_score = gold._states[0].score
        self.p_hist = wrong_hists
        self.g_hist = gold_hists
        self.p_probs = joint[: len(wrong_scores)]
        self.g_probs = [
            p_joint - p_gold for p_joint, p_gold in zip(joint[len(wrong_scores):], within_gold)
        ]
        return 0
