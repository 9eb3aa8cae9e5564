import numpy
import pytest

from thinc.config import Config, registry
from thinc.layers.strings2arrays import strings2arrays

# murmurhash values as thinc 8.3.14 returns them (negative hashes wrap to uint64).
WORDS = ["a", "bc", "hello", "x", "y", "z", "the", "dog"]
EXPECTED = [
    1009084850, 1328615756, 613153351, 1050319643, 1199411734,
    18446744072668748311, 18446744072576802658, 18446744072396802523,
]  # fmt: skip


def test_strings2arrays_hashes_like_reference():
    Ys, backprop = strings2arrays().begin_update([WORDS[:2], WORDS[2:]])
    assert [Y.shape for Y in Ys] == [(2, 1), (6, 1)]
    assert all(Y.dtype == numpy.uint64 for Y in Ys)
    assert Ys[0].ravel().tolist() + Ys[1].ravel().tolist() == EXPECTED
    assert backprop(Ys) == []


def test_strings2arrays_empty_sequence():
    Ys = strings2arrays().predict([[], ["a"]])
    assert Ys[0].shape == (0, 1)
    assert Ys[1].tolist() == [[1009084850]]


def test_strings2arrays_serialization_and_config():
    model = registry.resolve(Config().from_str('[m]\n@layers = "strings2arrays.v1"\n'))["m"]
    assert model.name == "strings2arrays"
    assert strings2arrays().from_bytes(model.to_bytes()).name == "strings2arrays"


def test_strings_are_sequences_of_characters():
    # thinc 8.3.14 hashes each character of a bare string.
    by_characters = strings2arrays().predict([["h", "i"]])
    for value in (["hi"], "h"):
        got = strings2arrays().predict(value)
        assert len(got) == len(value)
    numpy.testing.assert_array_equal(strings2arrays().predict(["hi"])[0], by_characters[0])


def test_strings2arrays_bad_input():
    with pytest.raises(TypeError, match="strings2arrays"):
        strings2arrays().predict(3)
    with pytest.raises(TypeError, match="strings2arrays"):
        strings2arrays().predict([3])
    with pytest.raises(TypeError, match="strings2arrays"):
        strings2arrays().predict([["ok", 3]])
