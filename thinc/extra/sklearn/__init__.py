"""scikit-learn estimators around thinc models, and spaCy pipelines as sklearn transformers.

It lives in `thinc.extra`, beside the beam search, because it is an adapter outside the
Model -> layer -> Ops -> kernel path: nothing in `thinc.api` imports it, so scikit-learn stays
an optional extra (`pip install "thinc[sklearn]"`), needed only when this module is imported.

- `ThincClassifier` and `ThincRegressor` train a model built by any factory (a function, or a
  name in `registry.layers`) with `fit`/`partial_fit` and answer `predict`, `predict_proba`,
  `score`. Arguments for the factory and the optimizer are estimator parameters with the
  prefixes `model__` and `optimizer__`, so `GridSearchCV` can search them.
- `SpacyVectorizer` turns texts into one row of features per text: spaCy's doc vectors or
  the pooled output of the pipeline's tok2vec.

A fitted estimator saves itself in thinc's own format (`to_bytes`, `to_disk`): a msgpack
message holding the hyperparameters, the label set and `Model.to_bytes()`. Pickling (which
`joblib` and sklearn's tooling use) goes through the same bytes, so it round-trips exactly.
The optimizer's running averages are not saved: training resumed after loading starts them
afresh.
"""

# _base imports scikit-learn first, with a clear error where it is missing.
from ._base import (  # noqa: F401  (the module's names before it became a package)
    FACTORY_PREFIXES,
    FORMAT,
    INPUT_TYPES,
    PREDICT_BATCH_SIZE,
    NotFittedError,
    _mlp,
    _ThincEstimator,
    mlp_classifier,
    mlp_regressor,
)
from ._estimators import ThincClassifier, ThincRegressor
from ._spacy import FEATURES, POOLINGS, SpacyVectorizer  # noqa: F401

__all__ = [
    "ThincClassifier",
    "ThincRegressor",
    "SpacyVectorizer",
    "mlp_classifier",
    "mlp_regressor",
    "NotFittedError",
]

# Pickles and the docs name the classes by their public path, as before the split.
for _public in (ThincClassifier, ThincRegressor, SpacyVectorizer, _ThincEstimator):
    _public.__module__ = __name__
mlp_classifier.__module__ = mlp_regressor.__module__ = __name__
del _public
