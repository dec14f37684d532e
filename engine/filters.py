"""Search and filter the history: ``status:failed model:camembert after:2026-01-01 debates``.

A filter is free words and ``field:value`` terms, all of which must match. Free words match
case-insensitively anywhere in the session id, dataset, models, notes, tags and workflow. Field
terms are listed in ``FIELDS``; a value with spaces is quoted (``dataset:"my data"``). The same
filter serves the TUI's search box and ``llmtool-tui sessions --filter``. Tag normalisation lives
here too, because tags are written in the form the ``tag:`` term compares against.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, get_args

from engine.errors import BadInputError
from engine.vocabulary import LIVE_ONLY_STATUSES, Status, TrainingMode

if TYPE_CHECKING:
    from engine.schema import TrainingMetadata

#: Field names and what they match, in the order an error message lists them.
FIELDS: dict[str, str] = {
    "status": "live status (pending, starting, running, completed, failed, interrupted, stale)",
    "model": "substring of any model of the session",
    "dataset": "substring of the dataset's file name or path",
    "mode": "training mode (quick, benchmark, custom, distributed)",
    "tag": "a tag, exactly (case-insensitive)",
    "after": "created on or after a date (YYYY-MM-DD)",
    "before": "created on or before a date (YYYY-MM-DD)",
    "f1": "best macro F1 compared with a number (f1>0.8, f1<=0.5)",
    "host": "substring of the host the session ran on",
}
STATUSES: tuple[str, ...] = (*get_args(Status), *LIVE_ONLY_STATUSES)
MODES: tuple[str, ...] = get_args(TrainingMode)
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}

# shlex would do the splitting, but it drops the quotes: a quoted phrase holding a colon
# ("note: draft") must stay a free phrase instead of being read as an unknown field ``note``.
# Only double quotes quote, so that French words with apostrophes (l'économie) stay words.
_TOKEN = re.compile(r'(?:"[^"]*"|[^\s"])+')
_FIELD_TERM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:|>=|<=|>|<)(.*)", re.DOTALL)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_WITH_COMPARISON = re.compile(r"(>=|<=|>|<)(.*)", re.DOTALL)


def _valid_fields() -> str:
    return ", ".join(FIELDS)


@dataclass(frozen=True)
class SessionFacts:
    """What the terms of a filter look at, lower-cased once per session."""

    status: str
    session_id: str
    dataset: str
    models: tuple[str, ...]
    mode: str
    tags: frozenset[str]
    hosts: tuple[str, ...]
    created: date | None
    best_f1: float | None
    text: str
    """Everything free words search, one field per line."""

    @classmethod
    def of(cls, metadata: TrainingMetadata, status: str) -> SessionFacts:
        """The facts of one session, ``status`` being its live status."""
        config = metadata.training_model_config
        execution = metadata.execution_status
        # Language-specific sessions train the mapping's models besides (or instead of) these.
        models = [*config.models(), *metadata.language_config.language_model_mapping.values()]
        if execution.best_model:
            models.append(execution.best_model)
        dataset = (metadata.dataset_config.primary_file or "").replace("\\", "/")
        hosts = [
            execution.host,
            metadata.environment.host if metadata.environment else None,
            (metadata.training_session.model_extra or {}).get("hostname"),
        ]
        lowered_models = tuple(dict.fromkeys(m.lower() for m in models if m))
        tags = [tag.lower() for tag in metadata.tags]
        text = "\n".join(
            [
                metadata.session_id,
                dataset,
                *lowered_models,
                metadata.notes,
                *tags,
                metadata.training_session.workflow,
            ]
        ).lower()
        return cls(
            status=status.lower(),
            session_id=metadata.session_id.lower(),
            dataset=dataset.lower(),
            models=lowered_models,
            mode=config.training_mode,
            tags=frozenset(tags),
            hosts=tuple(h.lower() for h in hosts if isinstance(h, str) and h),
            created=session_created_date(metadata),
            best_f1=execution.best_f1,
            text=text,
        )


@dataclass(frozen=True)
class FilterTerm:
    """One condition of a filter: a free word (``name`` empty) or a field term."""

    name: str
    operator: str
    value: str
    """The value as typed, quotes removed."""
    test: Callable[[SessionFacts], bool] = field(compare=False, repr=False)

    def describe(self) -> str:
        """The term as it would be typed, quoted where needed."""
        value = (
            f'"{self.value}"'
            if not self.value or re.search(r'[\s:"]', self.value)
            else (self.value)
        )
        return f"{self.name}{self.operator}{value}" if self.name else value


@dataclass(frozen=True)
class SessionFilter:
    """A parsed filter; the empty filter matches every session."""

    terms: tuple[FilterTerm, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, metadata: TrainingMetadata, status: str) -> bool:
        """Whether a session matches every term; ``status`` is its live status."""
        if not self.terms:
            return True
        facts = SessionFacts.of(metadata, status)
        return all(term.test(facts) for term in self.terms)

    def describe(self) -> str:
        """The filter in canonical form, for a title (``""`` for the empty filter)."""
        return " ".join(term.describe() for term in self.terms)


def session_created_date(metadata: TrainingMetadata) -> date | None:
    """The session's creation date from its timestamp (``YYYYMMDD_HHMMSS`` or ISO), if readable."""
    stamp = metadata.training_session.timestamp.strip()
    for text, fmt in ((stamp[:8], "%Y%m%d"), (stamp[:10], "%Y-%m-%d")):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _choice_term(
    name: str, value: str, choices: tuple[str, ...], pick: Callable[[SessionFacts], str]
) -> FilterTerm:
    wanted = {part.strip().lower() for part in value.split(",") if part.strip()}
    unknown = sorted(wanted - set(choices))
    if unknown:
        raise BadInputError(
            f"unknown {name} {', '.join(unknown)} in filter term '{name}:{value}';"
            f" valid values: {', '.join(choices)} (several: {name}:{choices[0]},{choices[1]})"
        )
    return FilterTerm(name, ":", value, lambda facts: pick(facts) in wanted)


def _date_term(name: str, value: str) -> FilterTerm:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        bound = date.fromisoformat(value)
    except ValueError:
        raise BadInputError(
            f"bad date in filter term '{name}:{value}': write YYYY-MM-DD, e.g. {name}:2026-01-31"
        ) from None
    compare = operator.ge if name == "after" else operator.le
    return FilterTerm(
        name,
        ":",
        value,
        lambda facts: facts.created is not None and compare(facts.created, bound),
    )


def _f1_term(operator_text: str, value: str) -> FilterTerm:
    typed = f"f1{operator_text}{value}"
    if operator_text == ":":
        # ``f1:>0.8`` is accepted as a spelling of ``f1>0.8``.
        found = _NUMBER_WITH_COMPARISON.fullmatch(value)
        if found is None:
            raise BadInputError(
                f"filter term '{typed}' needs a comparison: f1>0.8, f1>=0.8, f1<0.5 or f1<=0.5"
            )
        operator_text, value = found.groups()
    try:
        threshold = float(value)
    except ValueError:
        raise BadInputError(f"filter term '{typed}' needs a number, e.g. f1>0.8") from None
    compare = COMPARISONS[operator_text]
    return FilterTerm(
        "f1",
        operator_text,
        value,
        lambda facts: facts.best_f1 is not None and compare(facts.best_f1, threshold),
    )


def _field_term(name: str, operator_text: str, value: str) -> FilterTerm:
    key = name.lower()
    if key not in FIELDS:
        raise BadInputError(
            f"unknown filter field {name!r} in '{name}{operator_text}{value}';"
            f" valid fields: {_valid_fields()}"
        )
    if key == "f1":
        return _f1_term(operator_text, value)
    if operator_text != ":":
        raise BadInputError(
            f"filter field {key!r} takes '{key}:VALUE', not '{name}{operator_text}{value}'"
        )
    if not value:
        raise BadInputError(
            f"filter term '{name}:' has no value; write {key}:VALUE ({FIELDS[key]})"
        )
    lowered = value.lower()
    if key == "status":
        return _choice_term(key, value, STATUSES, lambda facts: facts.status)
    if key == "mode":
        return _choice_term(key, value, MODES, lambda facts: facts.mode)
    if key in ("after", "before"):
        return _date_term(key, value)
    tests: dict[str, Callable[[SessionFacts], bool]] = {
        "model": lambda facts: any(lowered in model for model in facts.models),
        "dataset": lambda facts: lowered in facts.dataset,
        "tag": lambda facts: lowered in facts.tags,
        "host": lambda facts: any(lowered in host for host in facts.hosts),
    }
    return FilterTerm(key, ":", value, tests[key])


def _word_term(word: str) -> FilterTerm:
    lowered = word.lower()
    return FilterTerm("", "", word, lambda facts: lowered in facts.text)


def _tokens(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    if _TOKEN.sub(" ", text).strip():
        raise BadInputError(
            f'unbalanced double quote in filter {text!r}; close it, e.g. dataset:"my data"'
        )
    return tokens


def parse_filter(text: str) -> SessionFilter:
    """Parse a filter such as ``status:failed model:camembert dataset:"my data" f1>0.8 words``.

    Returns:
        The filter; the empty filter (``""``) matches everything.

    Raises:
        BadInputError: an unknown field (the message lists the valid ones), a bad date or number,
            an unknown status or mode, or an unbalanced quote.
    """
    terms: list[FilterTerm] = []
    for token in _tokens(text):
        found = None if token.startswith('"') else _FIELD_TERM.fullmatch(token)
        if found is None:
            word = token.replace('"', "")
            if word:
                terms.append(_word_term(word))
            continue
        name, operator_text, value = found.groups()
        terms.append(_field_term(name, operator_text, value.replace('"', "")))
    return SessionFilter(tuple(terms))


def normalize_tags(tags: str | Iterable[str]) -> list[str]:
    """Tags from user input: split on commas, trimmed, empty ones and duplicates dropped.

    Duplicates are compared case-insensitively (the ``tag:`` filter ignores case) and the first
    spelling is kept: ``normalize_tags("a, b,,A") == ["a", "b"]``. Inner whitespace is collapsed.
    """
    parts = [tags] if isinstance(tags, str) else list(tags)
    seen: dict[str, str] = {}
    for part in parts:
        for raw in part.split(","):
            tag = " ".join(raw.split())
            if tag and tag.lower() not in seen:
                seen[tag.lower()] = tag
    return list(seen.values())
