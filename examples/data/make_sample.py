"""Recreate this folder's UD English EWT sample from the full treebank files.

Keeps every n-th sentence with its sent_id and text comments, and only the ID,
FORM and UPOS columns (the rest become "_") so that the sample stays small."""

import argparse
from pathlib import Path
from typing import Iterator, List

# Column positions in a CoNLL-U token line.
ID, FORM, UPOS = 0, 1, 3
CONLLU_COLUMNS = 10
KEPT_COMMENTS = ("# sent_id", "# text")


def sentences(path: Path) -> Iterator[List[str]]:
    block: List[str] = []
    for line in path.read_text(encoding="utf8").splitlines():
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def trim(block: List[str]) -> List[str]:
    lines = []
    for line in block:
        if line.startswith("#"):
            if line.startswith(KEPT_COMMENTS):
                lines.append(line)
            continue
        columns = line.split("\t")
        kept = ["_"] * CONLLU_COLUMNS
        for position in (ID, FORM, UPOS):
            kept[position] = columns[position]
        lines.append("\t".join(kept))
    return lines


def write_sample(source: Path, target: Path, stride: int) -> int:
    kept = [trim(block) for index, block in enumerate(sentences(source)) if index % stride == 0]
    target.write_text("".join("\n".join(block) + "\n\n" for block in kept), encoding="utf8")
    return len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("treebank", type=Path, help="folder with en_ewt-ud-{train,dev}.conllu")
    args = parser.parse_args()
    here = Path(__file__).parent
    for split, stride in (("train", 5), ("dev", 2)):
        source = args.treebank / f"en_ewt-ud-{split}.conllu"
        count = write_sample(source, here / f"en_ewt-ud-{split}-sample.conllu", stride)
        print(f"{split}: kept {count} sentences (one in {stride})")


if __name__ == "__main__":
    main()
