"""`python -m thinc.extra.ray.spacy_train` on 2 Ray workers: a few steps of
bench/spacy_train.cfg (tagger + parser) on a slice of the bundled EWT sample, in
.venv-spacy (scripts/make_spacy_venvs.sh); skipped where that virtualenv, or Ray
inside it, is absent."""

import json
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
SPACY_PYTHON = CHECKOUT / ".venv-spacy" / "bin" / "python"
SAMPLE = CHECKOUT / "examples" / "data"


def spacy_venv_with_ray() -> Path:
    if not SPACY_PYTHON.exists():
        pytest.skip("no .venv-spacy: run scripts/make_spacy_venvs.sh")
    found = subprocess.run(
        [str(SPACY_PYTHON), "-c", "import ray, spacy"], capture_output=True, timeout=120
    )
    if found.returncode != 0:
        pytest.skip('.venv-spacy lacks Ray: .venv-spacy/bin/pip install "ray>=2.60,<3"')
    return SPACY_PYTHON


def test_spacy_pipeline_trains_on_two_workers(tmp_path):
    python = spacy_venv_with_ray()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for part in ("train", "dev"):
        source = tmp_path / f"{part}.conllu"
        # 200 sentences of each: enough for the parser's labels, quick to convert.
        blocks = (
            (SAMPLE / f"en_ewt-ud-{part}-sample.conllu").read_text(encoding="utf8").split("\n\n")
        )
        source.write_text("\n\n".join(blocks[:200]) + "\n\n", encoding="utf8")
        subprocess.run(
            [
                str(python),
                "-m",
                "spacy",
                "convert",
                str(source),
                str(corpus),
                "--converter",
                "conllu",
                "--n-sents",
                "10",
            ],
            check=True,
            capture_output=True,
            timeout=300,
            cwd=tmp_path,
        )
    output = tmp_path / "trained"
    command = [
        str(python),
        "-m",
        "thinc.extra.ray.spacy_train",
        str(CHECKOUT / "bench" / "spacy_train.cfg"),
        "--workers",
        "2",
        "--num-cpus",
        "2",
        "--output",
        str(output),
        "--code",
        str(CHECKOUT / "bench" / "spacy_train.py"),
        "--paths.train",
        str(corpus / "train.spacy"),
        "--paths.dev",
        str(corpus / "dev.spacy"),
        "--training.max_steps",
        "6",
        "--training.eval_frequency",
        "3",
        "--components.parser.min_action_freq",
        "1",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=CHECKOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["workers"] == 2 and summary["steps"] == 6 and summary["replacements"] == 0
    assert summary["bytes_per_step"] > 0 and summary["train_words_per_sec"] > 0
    assert set(summary["final"]) == {"tag_acc", "dep_uas", "dep_las"}
    assert 0 < summary["final"]["tag_acc"] <= 1
    evaluations = [json.loads(line) for line in (output / "scores.jsonl").read_text().splitlines()]
    assert [record["step"] for record in evaluations] == [0, 3, 5]
    for name in ("model-best", "model-last"):
        assert (output / name / "config.cfg").exists() and (
            output / name / "tagger" / "model"
        ).exists()
