"""SpacyVectorizer: a spaCy pipeline as a scikit-learn transformer, texts in and
one row of features per text out."""

from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy
from sklearn.base import BaseEstimator, TransformerMixin

POOLINGS = ("mean", "max", "mean_max")
FEATURES = ("vector", "tensor")


class SpacyVectorizer(TransformerMixin, BaseEstimator):
    """Texts in, one row of float32 features per text out, from a spaCy pipeline.

    `nlp` is a pipeline name or path for `spacy.load`, a `Language` object, or a function that
    returns one. `features="vector"` takes `Doc.vector` (the mean of the static word vectors,
    for pipelines that have them); `features="tensor"` pools `Doc.tensor`, the output of the
    pipeline's tok2vec, over the tokens by `pooling` ("mean", "max", or both side by side).
    The pipeline is loaded on the first `fit` or `transform`; nothing is learned. A pickled
    vectorizer loads it again from the name or function, which must give the same weights."""

    def __init__(
        self,
        nlp: Any = "en_core_web_sm",
        *,
        features: str = "tensor",
        pooling: str = "mean",
        batch_size: int = 64,
    ):
        self.nlp = nlp
        self.features = features
        self.pooling = pooling
        self.batch_size = batch_size

    def _pipeline(self) -> Any:
        if getattr(self, "nlp_", None) is None:
            try:
                import spacy
            except ImportError as error:
                raise ImportError(
                    "SpacyVectorizer needs spaCy: pip install 'spacy>=3.8,<3.9'"
                ) from error
            nlp = self.nlp
            if isinstance(nlp, (str, Path)):
                nlp = spacy.load(nlp)
            elif not isinstance(nlp, spacy.language.Language) and callable(nlp):
                nlp = nlp()
            if not isinstance(nlp, spacy.language.Language):
                raise ValueError(f"nlp must name or be a spaCy Language, not {type(nlp).__name__}")
            self.nlp_ = nlp
        return self.nlp_

    def _check_settings(self) -> None:
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, not {self.features!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")

    def fit(self, X: Any, y: Any = None) -> "SpacyVectorizer":
        """Load the pipeline and check the settings; nothing is learned from X."""
        self._check_settings()
        self._pipeline()
        return self

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(super().__getstate__())
        # A pipeline loaded by name or built by a function is loaded again on first use,
        # rather than pickled; a Language passed in is pickled as spaCy pickles it.
        if state.get("nlp_") is not None and state["nlp_"] is not self.nlp:
            del state["nlp_"]
        return state

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def _texts(self, X: Any) -> List[str]:
        if isinstance(X, str):
            raise ValueError("SpacyVectorizer takes a sequence of texts, not one string")
        if isinstance(X, numpy.ndarray) and X.ndim != 1:
            if X.ndim == 2 and X.shape[1] == 1:
                X = X[:, 0]
            else:
                raise ValueError(
                    f"SpacyVectorizer takes a 1D sequence of texts, not an array of shape {X.shape}"
                )
        texts = list(X)
        bad = [type(text).__name__ for text in texts if not isinstance(text, str)]
        if bad:
            raise ValueError(f"SpacyVectorizer takes texts (str), got {sorted(set(bad))}")
        return texts

    def _docs(self, nlp: Any, texts: List[str]) -> Iterator[Any]:
        if self.features == "vector" and nlp.vocab.vectors_length:
            # Static vectors need only the tokenizer.
            return (nlp.make_doc(text) for text in texts)
        keep = [name for name in ("tok2vec", "transformer") if name in nlp.pipe_names]
        # The tagger, parser and the rest add nothing to the features; skip them if the
        # pipeline has a shared tok2vec to run alone.
        disable = [name for name in nlp.pipe_names if name not in keep] if keep else []
        return nlp.pipe(texts, batch_size=self.batch_size, disable=disable)

    def _row(self, doc: Any) -> numpy.ndarray:
        if self.features == "vector":
            if not doc.vocab.vectors_length and not getattr(doc.tensor, "size", 0):
                raise ValueError(
                    "features='vector' needs a pipeline with static vectors or a tok2vec; "
                    "this one has neither"
                )
            return numpy.asarray(doc.vector, dtype=numpy.float32)
        tensor = doc.tensor
        if (
            not hasattr(tensor, "shape")
            or tensor.ndim != 2
            or (len(doc) and tensor.shape[0] != len(doc))
        ):
            raise ValueError(
                "features='tensor' needs a pipeline whose tok2vec sets Doc.tensor; "
                "this one sets none"
            )
        # A pipeline on the GPU leaves a cupy array here.
        tensor = numpy.asarray(tensor.get() if hasattr(tensor, "get") else tensor, dtype="f")
        width = tensor.shape[1]
        if tensor.shape[0] == 0:
            return numpy.zeros(
                width * (2 if self.pooling == "mean_max" else 1), dtype=numpy.float32
            )
        parts = []
        if self.pooling in ("mean", "mean_max"):
            parts.append(tensor.mean(axis=0))
        if self.pooling in ("max", "mean_max"):
            parts.append(tensor.max(axis=0))
        return numpy.concatenate(parts)

    def transform(self, X: Any) -> numpy.ndarray:
        """One row per text."""
        self._check_settings()
        texts = self._texts(X)
        nlp = self._pipeline()
        rows = [self._row(doc) for doc in self._docs(nlp, texts)]
        if not rows:
            return numpy.zeros((0, 0), dtype=numpy.float32)
        return numpy.vstack(rows)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags
