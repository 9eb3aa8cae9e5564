"""Tests for thinc.types: array annotations under pydantic, and the containers
Ragged, Padded, Pairs, ArgsKwargs and SizedGenerator."""

import dataclasses
from typing import Optional, Tuple

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, ValidationError, create_model

from thinc import types
from thinc.api import NumpyOps, data_validation
from thinc.types import (
    ArgsKwargs,
    Array2d,
    ArrayXd,
    Floats1d,
    Floats2d,
    Floats3d,
    FloatsXd,
    Generator,
    Ints1d,
    Ints2d,
    List2d,
    Padded,
    Pairs,
    Ragged,
    SizedGenerator,
    Unserializable,
)

# Public names of thinc 8.3.14's thinc.types that code may import.
PUBLIC_NAMES = """ArgsKwargs Array1d Array1dT Array2d Array3d Array4d ArrayT ArrayXd Batchable
DTypes DTypesFloat DTypesInt Decorator DeviceTypes Fal Floats1d Floats2d Floats3d Floats4d
FloatsXd FloatsXdT FourAx Generator Ints1d Ints2d Ints3d Ints4d IntsXd List1d List2d List3d
List4d ListXd OneAx Padded Pairs Ragged SelfT Shape SizedGenerator Slicish ThreeAx Tru TwoAx
Unserializable XY_XY_OutT XY_YZ_OutT Xp validate_array""".split()


def test_public_names_exist():
    missing = [name for name in PUBLIC_NAMES if not hasattr(types, name)]
    assert missing == []


def validates(annotation, value) -> bool:
    model = create_model(
        "M", x=(annotation, ...), __config__=ConfigDict(arbitrary_types_allowed=True)
    )
    try:
        result = model(x=value)
    except ValidationError:
        return False
    # Arrays must pass through untouched (no copy, no conversion).
    if isinstance(value, numpy.ndarray):
        assert result.x is value
    return True


@pytest.mark.parametrize(
    "annotation,value,ok",
    [
        (Floats2d, numpy.zeros((2, 3), "f"), True),
        (Floats2d, numpy.zeros((0, 3), "f"), True),
        (Floats2d, numpy.zeros((2, 3), "d"), False),
        (Floats2d, numpy.zeros((2, 3), "float16"), False),
        (Floats2d, numpy.zeros((2, 3), "i"), False),
        (Floats2d, numpy.zeros((3,), "f"), False),
        (Floats2d, [[1.0]], False),
        (Floats1d, numpy.zeros((2,), "d"), False),
        (Ints1d, numpy.zeros(3, "i"), True),
        (Ints1d, numpy.zeros(3, "int64"), True),
        (Ints1d, numpy.zeros(3, "uint64"), True),
        (Ints1d, numpy.zeros(3, "uint8"), False),
        (Ints1d, numpy.zeros(3, "bool"), False),
        (Ints1d, numpy.zeros(3, "f"), False),
        (Ints2d, numpy.zeros((2, 2), "int8"), False),
        (Array2d, numpy.zeros((2, 2), "i"), True),
        (Array2d, numpy.zeros((2, 2), "d"), False),
        (Array2d, numpy.zeros((2,), "f"), False),
        (List2d, [numpy.zeros((2, 2), "f")], True),
        (List2d, [numpy.zeros((2,), "f")], False),
        (Optional[Floats2d], None, True),
        (Tuple[Floats2d, Ints1d], (numpy.zeros((1, 1), "f"), numpy.zeros(1, "i")), True),
        (FloatsXd, [1.0], False),
        (ArrayXd, "abc", False),
        # thinc 8.3 checks 3d/4d annotations only for being an array.
        (Floats3d, numpy.zeros((2,), "i"), True),
        (Floats3d, 1, False),
    ],
)
def test_array_annotations_under_pydantic(annotation, value, ok):
    assert validates(annotation, value) is ok


def test_validation_error_names_the_problem():
    model = create_model(
        "M", x=(Floats2d, ...), __config__=ConfigDict(arbitrary_types_allowed=True)
    )
    with pytest.raises(
        ValidationError, match=r"wrong array data type \(expected float32, got float64\)"
    ):
        model(x=numpy.zeros((2, 2), "d"))
    with pytest.raises(ValidationError, match=r"wrong array dimensions \(expected 2, got 1\)"):
        model(x=numpy.zeros((2,), "f"))
    with pytest.raises(ValidationError, match="not a valid numpy or cupy array"):
        model(x="nope")


def test_container_annotations_under_pydantic():
    ragged = Ragged(numpy.zeros((3, 2), "f"), numpy.array([1, 2], "i"))
    assert validates(Ragged, ragged)
    assert not validates(Ragged, numpy.zeros(2))
    assert not validates(Padded, 1)
    assert validates(Generator, iter([1, 2]))
    assert not validates(Generator, [1, 2])
    assert validates(ArgsKwargs, ArgsKwargs((1,), {}))


def test_ragged_construction():
    data = numpy.arange(24, dtype="f").reshape((6, 2, 2))
    ragged = Ragged(data, numpy.array([1, 2, 3], "i"))
    assert ragged.data.shape == (6, 4)
    assert ragged.dataXd.shape == (6, 2, 2)
    assert ragged.data_shape == (-1, 2, 2)
    assert len(ragged) == 3
    assert ragged.starts_ends is None
    # data is a view of the input, not a copy.
    ragged.data[0, 0] = 100
    assert data[0, 0, 0] == 100
    numpy.testing.assert_array_equal(ragged._get_starts_ends(), [0, 1, 3, 6])
    numpy.testing.assert_array_equal(ragged._get_starts(), [0, 1, 3])
    numpy.testing.assert_array_equal(ragged._get_ends(), [1, 3, 6])
    assert ragged._get_starts_ends().dtype == numpy.int32
    # Computed once and cached in the starts_ends field, like thinc 8.3.
    assert ragged.starts_ends is ragged._get_starts_ends()
    assert [f.name for f in dataclasses.fields(Ragged)] == [
        "data",
        "lengths",
        "data_shape",
        "starts_ends",
    ]


def test_ragged_one_dimensional_and_empty_data():
    ragged = Ragged(numpy.arange(5, dtype="f"), numpy.array([2, 3], "i"))
    assert ragged.data.shape == (5, 1)
    assert ragged.dataXd.shape == (5,)
    assert ragged.data_shape == (-1,)
    assert ragged[1].dataXd.shape == (3,)
    empty = Ragged(numpy.zeros((0, 2, 3), "f"), numpy.zeros((0,), "i"))
    assert empty.dataXd.shape == (0, 2, 3)
    assert len(empty) == 0
    numpy.testing.assert_array_equal(empty._get_starts_ends(), [0])


def test_ragged_tolerates_rows_beyond_the_lengths():
    # spaCy's extract_spans makes Ragged(zeros like X, zero lengths) when a batch has no spans.
    ragged = Ragged(numpy.zeros((4, 3), "f"), numpy.zeros((2,), "i"))
    assert len(ragged) == 2
    assert ragged[1].dataXd.shape == (0, 3)
    numpy.testing.assert_array_equal(ragged._get_starts_ends(), [0, 0, 0])


def test_ragged_accepts_list_lengths_and_keeps_dtype():
    data = numpy.zeros((6, 2), "f")
    assert Ragged(data, [3, 3]).lengths.tolist() == [3, 3]
    assert Ragged(data, numpy.array([6, 0], "int64")).lengths.dtype == numpy.int64
    assert Ragged(data, numpy.array([6], "uint64")).lengths.dtype == numpy.uint64


@pytest.mark.parametrize(
    "lengths,error,message",
    [
        (numpy.array([4, 3], "i"), ValueError, "sum to 7 but the data has only 6 rows"),
        (numpy.array([7, -1], "i"), ValueError, "negative"),
        (numpy.array([2.5, 3.5], "f"), ValueError, "integer dtype"),
        ([2.5, 3.5], ValueError, "integers"),
        (numpy.array([[3, 3]], "i"), ValueError, "one-dimensional"),
        ("abc", TypeError, "integer array"),
    ],
)
def test_ragged_rejects_bad_lengths(lengths, error, message):
    with data_validation(True), pytest.raises(error, match=message):
        Ragged(numpy.zeros((6, 2), "f"), lengths)


@pytest.mark.parametrize(
    "lengths",
    [numpy.array([4, 3], "i"), numpy.array([7, -1], "i"), numpy.array([2.0, 4.0], "f"), [2.0, 4.0]],
)
def test_ragged_accepts_what_thinc_8_3_accepts(lengths):
    # Built as placeholders by 8.3 code; the ops that read lengths check them.
    ragged = Ragged(numpy.zeros((6, 2), "f"), lengths)
    assert ragged.lengths.tolist() == list(lengths)
    assert ragged.dataXd.shape == (6, 2)


def test_ops_check_float_lengths_where_they_are_used():
    ragged = Ragged(numpy.zeros((6, 2), "f"), numpy.array([2.0, 4.0], "f"))
    with pytest.raises(ValueError, match="integers"):
        NumpyOps().reduce_sum(ragged.data, ragged.lengths)


def test_ragged_rejects_bad_data():
    with pytest.raises(TypeError, match="numpy or cupy array"):
        Ragged([[1.0]], numpy.array([1], "i"))
    with pytest.raises(ValueError, match="0-d"):
        Ragged(numpy.array(1.0), numpy.array([1], "i"))


@pytest.fixture
def ragged():
    return Ragged(numpy.arange(12, dtype="f").reshape((6, 2)), numpy.array([1, 2, 3], "i"))


@pytest.mark.parametrize(
    "index,rows,lengths",
    [
        (0, [0], [1]),
        (1, [1, 2], [2]),
        (-1, [3, 4, 5], [3]),
        (numpy.int64(1), [1, 2], [2]),
        (slice(0, 2), [0, 1, 2], [1, 2]),
        (slice(-2, None), [1, 2, 3, 4, 5], [2, 3]),
        (slice(1, 1), [], []),
        (slice(5, 10), [], []),
        (slice(None, None, 2), [0, 3, 4, 5], [1, 3]),
        (slice(None, None, -1), [3, 4, 5, 1, 2, 0], [3, 2, 1]),
        (numpy.array([2, 0]), [3, 4, 5, 0], [3, 1]),
        ([0, 2], [0, 3, 4, 5], [1, 3]),
        (numpy.array([True, False, True]), [0, 3, 4, 5], [1, 3]),
        (numpy.array([1, 1]), [1, 2, 1, 2], [2, 2]),
        (numpy.array([], "i"), [], []),
    ],
)
def test_ragged_getitem(ragged, index, rows, lengths):
    result = ragged[index]
    assert isinstance(result, Ragged)
    numpy.testing.assert_array_equal(result.dataXd, ragged.dataXd[rows].reshape((-1, 2)))
    assert result.lengths.tolist() == lengths
    assert result.lengths.dtype == ragged.lengths.dtype


def test_ragged_getitem_int_on_3d_data():
    data = numpy.arange(24, dtype="f").reshape((6, 2, 2))
    item = Ragged(data, numpy.array([1, 2, 3], "i"))[1]
    assert item.dataXd.shape == (2, 2, 2)
    numpy.testing.assert_array_equal(item.dataXd, data[1:3])


def test_ragged_slices_are_views(ragged):
    assert numpy.shares_memory(ragged[1:3].data, ragged.data)
    assert numpy.shares_memory(ragged[1].data, ragged.data)
    assert not numpy.shares_memory(ragged[[0, 2]].data, ragged.data)


@pytest.mark.parametrize(
    "index,error",
    [
        (3, IndexError),
        (-4, IndexError),
        ((0,), IndexError),
        (1.0, TypeError),
        (numpy.array([[0, 1]]), IndexError),
        ([5], IndexError),
        (numpy.array([True]), IndexError),
        # thinc 8.3.14 raises TypeError for a lone bool (not a position).
        (True, TypeError),
        (numpy.bool_(False), TypeError),
    ],
)
def test_ragged_getitem_errors(ragged, index, error):
    with pytest.raises(error):
        ragged[index]


@settings(max_examples=50, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 4), min_size=0, max_size=6),
    picks=st.lists(st.integers(0, 5), max_size=6),
)
def test_ragged_getitem_matches_list_of_sequences(lengths, picks):
    data = numpy.arange(sum(lengths) * 2, dtype="f").reshape((-1, 2))
    ragged = Ragged(data, numpy.array(lengths, "i"))
    sequences = numpy.split(data, numpy.cumsum(lengths)[:-1]) if lengths else []
    picks = [p for p in picks if p < len(lengths)]
    result = ragged[numpy.array(picks, dtype="i")]
    expected = [sequences[p] for p in picks]
    assert result.lengths.tolist() == [len(s) for s in expected]
    expected_data = numpy.concatenate(expected) if expected else numpy.zeros((0, 2), "f")
    numpy.testing.assert_array_equal(result.dataXd, expected_data)
    for position in range(len(lengths)):
        numpy.testing.assert_array_equal(ragged[position].dataXd, sequences[position])


@pytest.fixture
def padded():
    # Time-major (T=3, batch=4, width=2); lengths sorted as list2padded makes them.
    data = numpy.arange(24, dtype="f").reshape((3, 4, 2))
    return Padded(
        data,
        numpy.array([4, 3, 1], "i"),
        numpy.array([3, 2, 2, 1], "i"),
        numpy.array([2, 0, 3, 1], "i"),
    )


def test_padded_basics(padded):
    assert len(padded) == 4
    copy = padded.copy()
    assert not numpy.shares_memory(copy.data, padded.data)
    numpy.testing.assert_array_equal(copy.data, padded.data)
    numpy.testing.assert_array_equal(copy.size_at_t, padded.size_at_t)
    assert [f.name for f in dataclasses.fields(Padded)] == [
        "data",
        "size_at_t",
        "lengths",
        "indices",
    ]


@pytest.mark.parametrize(
    "index,columns,size_at_t",
    [
        (0, [0], [1, 1, 1]),
        (-1, [3], [1, 0, 0]),
        (slice(0, 2), [0, 1], [2, 2, 1]),
        (slice(2, 4), [2, 3], [2, 1, 0]),
        (numpy.array([0, 3]), [0, 3], [2, 1, 1]),
        ([1, 2], [1, 2], [2, 2, 0]),
        (numpy.array([True, False, False, True]), [0, 3], [2, 1, 1]),
    ],
)
def test_padded_getitem_selects_sequences(padded, index, columns, size_at_t):
    result = padded[index]
    numpy.testing.assert_array_equal(result.data, padded.data[:, columns])
    numpy.testing.assert_array_equal(result.lengths, padded.lengths[columns])
    numpy.testing.assert_array_equal(result.indices, padded.indices[columns])
    assert result.size_at_t.tolist() == size_at_t


def test_padded_getitem_errors_and_shape_checks(padded):
    with pytest.raises(IndexError):
        padded[4]
    # Parts that disagree are refused under data_validation (and accepted
    # without it, as thinc 8.3 does).
    Padded(numpy.zeros((2, 2, 1), "f"), numpy.array([2, 2]), numpy.array([2, 2]), numpy.array([0]))
    with data_validation(True), pytest.raises(ValueError, match="lengths and indices"):
        Padded(
            numpy.zeros((2, 2, 1), "f"), numpy.array([2, 2]), numpy.array([2, 2]), numpy.array([0])
        )
    with data_validation(True), pytest.raises(ValueError, match="columns"):
        Padded(
            numpy.zeros((2, 3, 1), "f"),
            numpy.array([2, 2]),
            numpy.array([2, 2]),
            numpy.array([0, 1]),
        )


def test_pairs():
    pairs = Pairs([1, 2, 3], [4, 5, 6])
    assert len(pairs) == 3
    assert pairs[1] == Pairs(2, 5)
    assert pairs[0:2] == Pairs([1, 2], [4, 5])
    assert pairs[numpy.array([0, 2])] == Pairs([1, 3], [4, 6])
    arrays = Pairs(numpy.arange(3), numpy.arange(3) * 2)
    numpy.testing.assert_array_equal(arrays[[2, 0]].two, [4, 0])


def test_args_kwargs():
    items = [(0, "a"), (1, "b"), ("k", "v"), ("z", 3)]
    args_kwargs = ArgsKwargs.from_items(items)
    assert args_kwargs == ArgsKwargs(args=("a", "b"), kwargs={"k": "v", "z": 3})
    assert list(args_kwargs.keys()) == [0, 1, "k", "z"]
    assert list(args_kwargs.values()) == ["a", "b", "v", 3]
    assert list(args_kwargs.items()) == items
    # Int keys become positional arguments in the order given, like thinc 8.3.
    assert ArgsKwargs.from_items([(1, "b"), (0, "a")]).args == ("b", "a")


def test_sized_generator_reiterates():
    calls = []

    def get_items():
        calls.append(1)
        yield from range(3)

    stream = SizedGenerator(get_items, 3)
    assert len(stream) == 3
    assert list(stream) == [0, 1, 2]
    assert list(stream) == [0, 1, 2]
    assert len(calls) == 2


def test_unserializable_holds_object():
    assert Unserializable(5).obj == 5


def test_validate_array_directly():
    array = numpy.zeros((2, 2), "f")
    assert types.validate_array(array, 2, ("float32",)) is array
    with pytest.raises(ValueError, match="expected 1, got 2"):
        types.validate_array(array, 1)


ORACLE_RAGGED_SCRIPT = """
import json, numpy
from thinc.types import Ragged
data = numpy.arange(30, dtype="f").reshape((10, 3))
ragged = Ragged(data, numpy.array([3, 0, 2, 5], "i"))
cases = {
    "first": 0, "third": 2, "slice": slice(1, 3), "open": slice(2, None),
    "array": numpy.array([3, 0]), "list": [2, 3],
}
result = {}
for name, index in cases.items():
    item = ragged[index]
    result[name] = [item.dataXd.tolist(), item.lengths.tolist(), list(item.data_shape)]
result["starts_ends"] = ragged._get_starts_ends().tolist()
print(json.dumps(result))
"""


def test_ragged_indexing_matches_thinc_83(tmp_path):
    import json
    import subprocess

    from tests.util import require_ref_thinc

    ref_python = require_ref_thinc()
    # Run outside the checkout so the reference thinc, not ours, is imported.
    completed = subprocess.run(
        [str(ref_python), "-c", ORACLE_RAGGED_SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    expected = json.loads(completed.stdout)
    namespace: dict = {}
    exec(ORACLE_RAGGED_SCRIPT.replace("print(json.dumps(result))", ""), namespace)
    ours = json.loads(json.dumps(namespace["result"]))
    assert ours == expected
