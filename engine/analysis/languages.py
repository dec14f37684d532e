"""Languages of the texts: detected with py3langid, or read from a language column.

py3langid was chosen with ``bench/bench_language_detection.py`` over lingua-language-detector
and langdetect: as accurate on short French, English, German and Spanish texts as lingua's best
setting, five times faster, and loaded in 1 s instead of 4-12 s (see the bench's docstring for
the figures). Languages are upper-case ISO 639-1 codes (``FR``); a text whose language cannot be
told (no letters, or too little evidence) is ``UNKNOWN``.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

UNKNOWN = "UNKNOWN"
#: Language detection runs on at most this many texts (a seeded random sample beyond it): the
#: distribution of a large file is known well from a sample (a 5% share is estimated within
#: +-1%), and detection is the slowest step (about 0.3 s per 1,000 texts).
DETECTION_SAMPLE_SIZE = 2000
SAMPLE_SEED = 0
#: Characters of a text looked at: detection cost grows with length, accuracy stops growing.
DETECTION_CHARS = 1000
#: Below this calibrated probability py3langid abstains. A text without any feature (``123``,
#: ``:)``) scores 1/140 (0.007); with 0.1 the wrong guesses on two-word texts of the bench are
#: dropped while the right ones are kept.
MIN_CONFIDENCE = 0.1
#: py3langid labels that are no language.
NO_LANGUAGE = frozenset({"und", "zxx"})
#: A language is confirmed when it holds at least this share of the texts whose language was
#: told, and at least CONFIRM_MIN_TEXTS of them: short or informal texts are misdetected as
#: assorted languages (2.7% of the SMS spam corpus as Nigerian Pidgin), and a language with
#: fewer texts than this does not call for a multilingual model.
CONFIRM_SHARE = 0.05
CONFIRM_MIN_TEXTS = 2
#: Names users write in a language column, mapped to codes. No maintained library installed here
#: maps names to ISO codes (py3langid only knows codes), so the languages of the model catalogue
#: are listed by their English, French, German and native names; other values are kept as
#: written (upper-cased) rather than guessed.
LANGUAGE_NAMES = {
    "english": "EN",
    "anglais": "EN",
    "englisch": "EN",
    "french": "FR",
    "francais": "FR",
    "français": "FR",
    "französisch": "FR",
    "german": "DE",
    "deutsch": "DE",
    "allemand": "DE",
    "spanish": "ES",
    "español": "ES",
    "espanol": "ES",
    "espagnol": "ES",
    "spanisch": "ES",
    "italian": "IT",
    "italiano": "IT",
    "italien": "IT",
    "italienisch": "IT",
    "portuguese": "PT",
    "português": "PT",
    "portugues": "PT",
    "portugais": "PT",
    "dutch": "NL",
    "nederlands": "NL",
    "néerlandais": "NL",
    "niederländisch": "NL",
}


@dataclass
class LanguageReport:
    """Languages of a set of texts."""

    per_text: list[str]
    """Language of each text looked at (of the sample when sampled)."""
    distribution: dict[str, int]
    """Texts per language, most frequent first, ``UNKNOWN`` excluded."""
    confirmed: list[str]
    """Languages with a meaningful share (see CONFIRM_SHARE), most frequent first."""
    unknown: int
    """Texts whose language could not be told."""
    method: str
    """``py3langid <version>`` or ``column:<name>``."""
    sample_size: int
    """Texts looked at."""
    sampled: bool
    """Whether ``per_text`` covers a sample rather than every text."""


@functools.cache
def _identifier() -> Any:
    # py3langid has no type information.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=MIN_CONFIDENCE
    )


def detection_method() -> str:
    """The detection library and its version, as recorded in the metadata."""
    return f"py3langid {version('py3langid')}"


def detect_languages(texts: list[str]) -> list[str]:
    """The language of each text, ``UNKNOWN`` when it cannot be told."""
    identifier = _identifier()
    languages = []
    for text in texts:
        code, _confidence = identifier.classify(text[:DETECTION_CHARS])
        languages.append(UNKNOWN if code in NO_LANGUAGE else code.upper())
    return languages


def normalize_language(value: str | None) -> str:
    """A language cell as an upper-case code: ``fr``, ``fr-CA``, ``French``, ``français`` -> FR.

    A value it cannot map is kept, upper-cased, rather than guessed; an empty one is UNKNOWN.
    """
    if value is None or not str(value).strip():
        return UNKNOWN
    text = str(value).strip()
    base = text.replace("_", "-").split("-")[0].lower()
    if base in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[base]
    if len(base) == 2 and base.isalpha():
        return base.upper()
    return text.upper()


def sample_positions(total: int, size: int) -> list[int]:
    """Sorted positions of a seeded random sample of ``size`` out of ``total`` (all when fewer)."""
    if total <= size:
        return list(range(total))
    return sorted(random.Random(SAMPLE_SEED).sample(range(total), size))


def summarize(per_text: list[str], *, method: str, sampled: bool) -> LanguageReport:
    """Distribution and confirmed languages of per-text languages."""
    counts = Counter(language for language in per_text if language != UNKNOWN)
    known = sum(counts.values())
    distribution = dict(counts.most_common())
    confirmed = [
        language
        for language, count in distribution.items()
        if count >= CONFIRM_MIN_TEXTS and count >= CONFIRM_SHARE * known
    ]
    return LanguageReport(
        per_text, distribution, confirmed, len(per_text) - known, method, len(per_text), sampled
    )


def analyze_languages(
    texts: list[str], column_values: list[str | None] | None, column: str | None
) -> LanguageReport:
    """Languages from the language column when there is one, else detected on a bounded sample."""
    if column_values is not None and column is not None:
        per_text = [normalize_language(value) for value in column_values]
        return summarize(per_text, method=f"column:{column}", sampled=False)
    positions = sample_positions(len(texts), DETECTION_SAMPLE_SIZE)
    detected = detect_languages([texts[position] for position in positions])
    return summarize(detected, method=detection_method(), sampled=len(positions) < len(texts))
