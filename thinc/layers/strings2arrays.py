"""``strings2arrays``: hash every string of every sequence into a uint64 column,
the integer keys that embedding layers look up."""

from typing import Callable, List, Sequence, Tuple

from murmurhash import hash_unicode  # type: ignore[import-untyped]

from ..config import registry
from ..model import Model
from ..types import Ints2d


@registry.layers("strings2arrays.v1")
def strings2arrays() -> Model[Sequence[Sequence[str]], List[Ints2d]]:
    """Map each sequence of strings to an (n, 1) uint64 array of their
    32-bit murmurhash values."""
    return Model("strings2arrays", forward)


def forward(
    model: Model[Sequence[Sequence[str]], List[Ints2d]], Xs: Sequence[Sequence[str]], is_train: bool
) -> Tuple[List[Ints2d], Callable]:
    # A string is a sequence of strings (its characters), as thinc 8.3 treats it.
    if not hasattr(Xs, "__iter__"):
        raise TypeError(
            f"strings2arrays expects a sequence of string sequences, got {type(Xs).__name__}"
        )
    arrays = []
    for position, strings in enumerate(Xs):
        if not hasattr(strings, "__iter__"):
            raise TypeError(
                f"strings2arrays expects sequences of strings, got a {type(strings).__name__} at position {position}"
            )
        hashes = []
        for string in strings:
            if not isinstance(string, str):
                raise TypeError(
                    f"strings2arrays expects strings, got {type(string).__name__} in sequence {position}"
                )
            hashes.append(hash_unicode(string))
        # The hashes are signed 32-bit; as uint64 they wrap like a C cast would.
        signed = model.ops.asarray1i(hashes, dtype="int64")
        arrays.append(model.ops.reshape2i(signed.astype("uint64"), -1, 1))

    def backprop(dY: List[Ints2d]) -> List:
        return []

    return arrays, backprop
