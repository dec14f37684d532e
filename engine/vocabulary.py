"""The fixed vocabularies of the metadata format: statuses, training modes, label strategies.

engine.schema builds its models on them. They live apart so that the modules the app imports
before its first paint (search filters, the history) can name them without importing pydantic.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["pending", "running", "completed", "failed", "interrupted"]
#: Statuses that are shown but never recorded: ``starting`` (a worker launched, importing its
#: libraries), ``stale`` (a run on another host that stopped sending heartbeats).
LIVE_ONLY_STATUSES = ("starting", "stale")
#: Shown statuses whose worker is, or may be, alive: never archived, never resumed, asked about
#: before quitting.
ACTIVE_STATUSES = frozenset({"starting", "running", "stale"})
TrainingMode = Literal["quick", "benchmark", "custom", "distributed"]
Strategy = Literal["single-label", "multi-label"]
