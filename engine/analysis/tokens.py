"""Token length statistics: with the model's own tokenizer when it is on disk, else approximated.

The exact path loads the tokenizer from local files only. A ``tokenizer.json`` (every fast
tokenizer has one) is run with the ``tokenizers`` library directly: it is the same Rust pipeline
transformers' fast tokenizers run, special tokens included, without transformers' multi-second
import. Other tokenizers (sentencepiece or vocabulary files only) go through transformers'
AutoTokenizer, imported only then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.catalog import tokenizer_directory
from engine.files import read_regular
from engine.schema import TokenStats

#: The approximation used when the tokenizer is not available: subword vocabularies of base
#: models split roughly one word in three into pieces, so 1.3 tokens per unit, where units are
#: words (split on spaces), punctuation marks and symbols, and CJK characters (written without
#: spaces); plus the two special tokens ([CLS] and [SEP]).
TOKENS_PER_UNIT = 1.3
SPECIAL_TOKENS = 2
APPROXIMATION = (
    f"approximation ({TOKENS_PER_UNIT} tokens per word, punctuation mark or CJK character,"
    f" + {SPECIAL_TOKENS})"
)
#: Counted with pyarrow (RE2, one character class: fast) rather than a Python regex per text,
#: which took over a second on 100,000 texts.
_MARKS = r"[\p{P}\p{S}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
#: Texts need a long-document model when more than this share exceeds the model's maximum
#: length, that is when the 95th percentile of token counts is above it: truncating one text in
#: twenty loses too much.
LONG_DOCUMENT_SHARE = 0.05
ENCODE_BATCH = 1000
#: The largest tokenizer.json read (the biggest vocabularies' files are tens of megabytes).
MAX_TOKENIZER_BYTES = 512 * 1024 * 1024


@dataclass
class TokenCounts:
    """Tokens per text, and how they were counted."""

    counts: list[int]
    tokenizer: str
    """The model whose tokenizer counted, or the approximation's description."""
    exact: bool


def count_tokens(texts: list[str], model: str | None) -> TokenCounts:
    """Tokens per text (special tokens included) with ``model``'s tokenizer when it is available
    offline, otherwise the documented approximation (``exact`` False)."""
    directory = tokenizer_directory(model) if model else None
    if model is None or directory is None:
        return TokenCounts(approximate_counts(texts), APPROXIMATION, False)
    if (directory / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            # Read here rather than by from_file: a FIFO or device in its place must fail, not
            # block or read forever.
            raw = read_regular(directory / "tokenizer.json", MAX_TOKENIZER_BYTES)
            tokenizer = Tokenizer.from_str(raw.decode("utf-8"))
        except Exception:
            # Not a regular file, too large, not UTF-8, or a JSON the tokenizers library
            # rejects (it raises a plain Exception): the tokenizer is not usable, so the counts
            # are the approximation, which the analysis reports as such.
            return TokenCounts(approximate_counts(texts), APPROXIMATION, False)
        # The file may carry the truncation/padding of its last use: lengths must be real ones.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        counts = [
            len(encoding.ids)
            for start in range(0, len(texts), ENCODE_BATCH)
            for encoding in tokenizer.encode_batch(texts[start : start + ENCODE_BATCH])
        ]
        return TokenCounts(counts, model, True)
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    counts = [
        len(ids)
        for ids in auto(texts, add_special_tokens=True, truncation=False, verbose=False)[
            "input_ids"
        ]
    ]
    return TokenCounts(counts, model, True)


def approximate_counts(texts: list[str]) -> list[int]:
    """The approximation's token count of each text (see TOKENS_PER_UNIT)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    marks = pc.count_substring_regex(pa.array(texts, type=pa.large_string()), _MARKS)
    return [
        round((len(text.split()) + mark) * TOKENS_PER_UNIT) + SPECIAL_TOKENS
        for text, mark in zip(texts, marks.to_pylist(), strict=True)
    ]


def token_stats(counts: list[int]) -> TokenStats:
    """Mean, median, 95th percentile and maximum of the counts."""
    if not counts:
        return TokenStats()
    values = np.asarray(counts)
    return TokenStats(
        token_mean=round(float(values.mean()), 1),
        token_median=round(float(np.median(values)), 1),
        token_p95=round(float(np.percentile(values, 95)), 1),
        token_max=int(values.max()),
    )


def long_document_share(counts: list[int], max_tokens: int) -> float:
    """Share of texts longer than ``max_tokens``."""
    if not counts:
        return 0.0
    return sum(1 for count in counts if count > max_tokens) / len(counts)


def requires_long_document_model(share: float) -> bool:
    """The rule: more than LONG_DOCUMENT_SHARE of the texts exceed the model's maximum length."""
    return share > LONG_DOCUMENT_SHARE
