"""Token statistics with a tiny tokenizer built here, the approximation, the long-document rule."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.analysis import analyze_dataset
from engine.analysis.tokens import (
    APPROXIMATION,
    approximate_counts,
    count_tokens,
    long_document_share,
    requires_long_document_model,
    token_stats,
)

SENTENCES = [
    "the cat sat on the mat",
    "the dog chased the cat around the garden",
    "a long document about cats and dogs and their owners",
    "le chat est sur le tapis",
    "the film was good and the music was great",
]


def build_tokenizer(directory: Path, *, max_length: int = 16) -> Path:
    """A WordPiece tokenizer trained on SENTENCES, saved as transformers saves a BERT tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        SENTENCES * 3, trainers.WordPieceTrainer(vocab_size=120, special_tokens=special)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(name, tokenizer.token_to_id(name)) for name in ("[CLS]", "[SEP]")],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
    fast.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tokenizer(tmp_path_factory.mktemp("tokenizer"))


def test_exact_counts_match_the_transformers_tokenizer(tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    texts = [*SENTENCES, "unknown words zebra quokka", ""]
    counts = count_tokens(texts, str(tokenizer_dir))
    reference = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    assert counts.counts == [len(reference(text)["input_ids"]) for text in texts]
    assert counts.exact is True
    assert counts.tokenizer == str(tokenizer_dir)
    assert counts.counts[-1] == 2  # [CLS] [SEP]


def test_counts_are_not_truncated_by_the_saved_tokenizer(tokenizer_dir: Path) -> None:
    long_text = " ".join(SENTENCES * 4)
    assert count_tokens([long_text], str(tokenizer_dir)).counts[0] > 16


def test_tokenizer_without_tokenizer_json_goes_through_transformers(
    tmp_path: Path, tokenizer_dir: Path
) -> None:
    vocabulary = json.loads((tokenizer_dir / "tokenizer.json").read_text())["model"]["vocab"]
    ordered = sorted(vocabulary, key=vocabulary.__getitem__)
    (tmp_path / "vocab.txt").write_text("\n".join(ordered) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True})
    )
    slow = count_tokens(SENTENCES, str(tmp_path))
    assert slow.exact
    assert slow.counts == count_tokens(SENTENCES, str(tokenizer_dir)).counts


def test_approximation_when_the_tokenizer_is_not_available() -> None:
    counts = count_tokens(["Hello, world!", "今日は"], "org/not-cached-anywhere")
    assert counts.exact is False
    assert counts.tokenizer == APPROXIMATION
    # 2 words + 2 marks = 4 units * 1.3 = 5.2 -> 5, + 2; 1 word + 3 CJK characters: 4 units too
    assert counts.counts == [7, 7]
    assert approximate_counts([""]) == [2]


def test_stats_and_long_document_rule() -> None:
    counts = list(range(1, 101))  # 1..100
    stats = token_stats(counts)
    assert (stats.token_mean, stats.token_median, stats.token_max) == (50.5, 50.5, 100)
    assert stats.token_p95 == 95.0  # numpy: 95.05, recorded with one decimal
    assert long_document_share(counts, 95) == 0.05
    assert not requires_long_document_model(0.05)  # p95 within the limit
    assert requires_long_document_model(long_document_share(counts, 94))  # 6% exceed


def test_analysis_with_a_local_tokenizer_and_long_texts(
    tmp_path: Path, tokenizer_dir: Path
) -> None:
    from transformers import AutoTokenizer

    long_text = " ".join(SENTENCES * 30)  # far over 512 tokens
    texts = [*SENTENCES, long_text, long_text] * 2
    path = tmp_path / "data.csv"
    pd.DataFrame({"text": texts, "label": ["a", "b"] * 7}).to_csv(path, index=False)
    analysis = analyze_dataset(path, model=str(tokenizer_dir))
    result = analysis.text_analysis
    reference = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    lengths = [len(reference(text)["input_ids"]) for text in texts]
    assert result.exact is True
    assert result.tokenizer == str(tokenizer_dir)
    assert result.text_length_stats.token_max == max(lengths)
    assert result.max_token_length == max(lengths)
    # A tokenizer directory without config.json: the catalogue's default of 512 tokens applies.
    assert result.long_document_share == pytest.approx(4 / 14, abs=1e-4)
    assert result.requires_long_document_model is True
    assert analysis.recommendations[0].model.max_tokens > 512
    assert any("long-document model" in w for w in analysis.dataset_config.warnings)
