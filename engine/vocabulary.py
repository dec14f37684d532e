"""The fixed vocabularies of the metadata format: statuses, training modes, label strategies.

engine.schema builds its models on them. They live apart so that the modules the app imports
before its first paint (search filters, the history) can name them without importing pydantic.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["pending", "running", "completed", "failed", "interrupted"]
TrainingMode = Literal["quick", "benchmark", "custom", "distributed"]
Strategy = Literal["single-label", "multi-label"]
