from __future__ import annotations

from pathlib import Path

import pytest

from news_feeds.sentiment import DeferredScorer, FinbertScorer, LexiconScorer, ModelLoadError, load_scorer

TEXTS = [
    "bitcoin rally",
    "the crash",
    "record profit",
    "bitcoin loss the crash",
    "an unknown headline",
]


# ---------------------------------------------------------------------- lexicon
def test_lexicon_scores_good_news_above_zero(lexicon: LexiconScorer) -> None:
    [score] = lexicon.score(
        ["The company reported strong profit growth and record revenue, beating expectations."]
    )
    assert 0 < score <= 1


def test_lexicon_scores_litigation_and_default_below_zero(lexicon: LexiconScorer) -> None:
    [score] = lexicon.score(["The lender faces litigation after a default and a large impairment loss."])
    assert -1 <= score < 0


def test_lexicon_scores_a_neutral_sentence_zero(lexicon: LexiconScorer) -> None:
    assert lexicon.score(["The meeting is scheduled for Tuesday in Chicago.", ""]) == [0.0, 0.0]


def test_lexicon_describes_itself(lexicon: LexiconScorer) -> None:
    assert lexicon.name == "lexicon"
    assert lexicon.describe().startswith("Loughran-McDonald lexicon")


# ---------------------------------------------------------------------- FinBERT on a tiny BERT
@pytest.fixture(scope="module")
def tiny_finbert(tiny_bert_dir: Path) -> FinbertScorer:
    return FinbertScorer(tiny_bert_dir, batch_size=2)


def test_finbert_gives_one_score_in_range_per_text(tiny_finbert: FinbertScorer) -> None:
    scores = tiny_finbert.score(TEXTS)

    assert len(scores) == len(TEXTS)
    assert all(-1 <= score <= 1 for score in scores)
    assert tiny_finbert.score([]) == []


def test_finbert_batches_give_the_same_scores_as_one_by_one(tiny_finbert: FinbertScorer) -> None:
    batched = tiny_finbert.score(TEXTS)
    one_by_one = [tiny_finbert.score([text])[0] for text in TEXTS]

    assert batched == pytest.approx(one_by_one, abs=1e-5)


def test_finbert_truncates_text_longer_than_the_model_accepts(tiny_finbert: FinbertScorer) -> None:
    [score] = tiny_finbert.score(["bitcoin rally " * 200])  # 400 tokens, 64 positions
    assert -1 <= score <= 1


def test_finbert_reads_the_negative_label_from_the_models_own_mapping(bearish_bert_dir: Path) -> None:
    scorer = FinbertScorer(bearish_bert_dir)

    scores = scorer.score(TEXTS)

    assert scores == pytest.approx([-1.0] * len(TEXTS), abs=0.01)
    assert scorer.describe() == f"FinBERT (transformers) from {bearish_bert_dir}"


def test_finbert_matches_labels_case_insensitively(tmp_path: Path) -> None:
    from tests.news_feeds.conftest import build_tiny_bert

    directory = build_tiny_bert(tmp_path / "upper", negative_bias=8.0)
    config = directory / "config.json"
    config.write_text(
        config.read_text()
        .replace('"positive"', '"POSITIVE"')
        .replace('"negative"', '"Negative"')
        .replace('"neutral"', '"NEUTRAL"')
    )

    assert FinbertScorer(directory).score(["bitcoin"]) == pytest.approx([-1.0], abs=0.01)


def test_a_model_without_positive_and_negative_labels_is_refused_at_load(tmp_path: Path) -> None:
    from tests.news_feeds.conftest import build_tiny_bert

    directory = build_tiny_bert(tmp_path / "topics")
    config = directory / "config.json"
    config.write_text(
        config.read_text().replace('"positive"', '"sports"').replace('"negative"', '"politics"')
    )

    with pytest.raises(ModelLoadError, match="lack negative and positive"):
        FinbertScorer(directory)


# ---------------------------------------------------------------------- choosing
def test_load_scorer_uses_finbert_when_the_directory_holds_a_model(tiny_bert_dir: Path) -> None:
    scorer = load_scorer(tiny_bert_dir)

    assert scorer.name == "finbert"
    assert str(tiny_bert_dir) in scorer.describe()


def test_load_scorer_falls_back_to_the_lexicon_for_a_missing_directory(
    tmp_path: Path, lexicon: LexiconScorer
) -> None:
    missing = tmp_path / "finbert"

    scorer = load_scorer(missing, lexicon=lexicon)

    assert scorer.name == "lexicon"
    assert scorer.describe() == (
        f"Loughran-McDonald lexicon (no FinBERT model at {missing}: no such directory)"
    )


def test_load_scorer_falls_back_to_the_lexicon_for_a_directory_of_junk(
    tmp_path: Path, lexicon: LexiconScorer
) -> None:
    junk = tmp_path / "finbert"
    junk.mkdir()
    (junk / "config.json").write_text("{not json")
    (junk / "model.safetensors").write_bytes(b"\x00" * 64)

    scorer = load_scorer(junk, lexicon=lexicon)

    assert scorer.name == "lexicon"
    assert scorer.describe().startswith(f"Loughran-McDonald lexicon (no FinBERT model at {junk}: ")
    assert scorer.score(["record profit"])[0] > 0


def test_load_scorer_without_a_configured_model_says_so(lexicon: LexiconScorer) -> None:
    assert (
        load_scorer(None, lexicon=lexicon).describe()
        == "Loughran-McDonald lexicon (no FinBERT model configured)"
    )


def test_the_deferred_scorer_loads_finbert_with_the_first_stories(bearish_bert_dir: Path) -> None:
    scorer = DeferredScorer(bearish_bert_dir)
    assert scorer.name == "not loaded"
    assert (
        scorer.describe()
        == f"not loaded yet: FinBERT from {bearish_bert_dir} is loaded with the first stories"
    )

    scores = scorer.score(["bitcoin rally", "the record"])

    assert scorer.name == "finbert" and str(bearish_bert_dir) in scorer.describe()
    assert all(s < -0.99 for s in scores)  # the biased model reads everything as bad news
