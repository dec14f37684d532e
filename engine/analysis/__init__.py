"""Dataset analysis: read a user's file, find its columns and labels, clean, detect languages,
recommend models, count tokens, fingerprint and split. No UI imports; heavy libraries
(scikit-learn, transformers) are imported only by the functions that need them."""

from engine.analysis.analyze import DatasetAnalysis, analyze_dataset
from engine.analysis.catalog import (
    CATALOG,
    ModelInfo,
    Recommendation,
    is_available_offline,
    recommend_models,
)
from engine.analysis.fingerprint import fingerprint_changes, fingerprint_file
from engine.analysis.prepare import Examples, load_examples
from engine.analysis.readers import TableRead, read_table
from engine.analysis.splits import SplitIndices, split_examples

__all__ = [
    "CATALOG",
    "DatasetAnalysis",
    "Examples",
    "ModelInfo",
    "Recommendation",
    "SplitIndices",
    "TableRead",
    "analyze_dataset",
    "fingerprint_changes",
    "fingerprint_file",
    "is_available_offline",
    "load_examples",
    "read_table",
    "recommend_models",
    "split_examples",
]
