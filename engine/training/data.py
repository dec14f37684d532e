"""The session's examples, split and tokenized into torch datasets for Trainer.

The examples and the split come from the dataset analysis (``load_examples``/``split_examples``),
which rebuild them deterministically from the file and the recorded choices. Texts are tokenized
once per tokenizer without padding; ``DataCollatorWithPadding`` pads each batch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import torch

from engine.errors import BadInputError


@dataclass
class SessionData:
    """Texts, targets and split of a session."""

    texts: list[str]
    label_names: list[str]
    targets: list[list[int]]
    multi_label: bool
    train: list[int]
    validation: list[int]
    test: list[int]

    def digest(self) -> str:
        """sha256 of the split indices: the same data order and split give the same digest."""
        payload = json.dumps([self.train, self.validation, self.test]).encode()
        return hashlib.sha256(payload).hexdigest()


def load_session_data(dataset_config: Any) -> SessionData:
    """Load and split a session's examples.

    Raises:
        BadInputError: the data cannot be read, or the split leaves no training or validation
            examples.
    """
    from engine.analysis.prepare import load_examples
    from engine.analysis.splits import split_examples

    examples = load_examples(dataset_config)
    indices = split_examples(examples, dataset_config.split)
    if not indices.train or not indices.validation:
        raise BadInputError(
            f"the split leaves {len(indices.train)} training and {len(indices.validation)}"
            " validation texts; both need at least one (use more data or another"
            " validation_ratio)"
        )
    return SessionData(
        texts=list(examples.texts),
        label_names=list(examples.label_names),
        targets=[list(target) for target in examples.targets],
        multi_label=bool(examples.multi_label),
        train=list(indices.train),
        validation=list(indices.validation),
        test=list(indices.test or []),
    )


class EncodedDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Tokenized texts with their labels, as Trainer's collator expects them."""

    def __init__(self, features: list[dict[str, list[int]]], labels: list[Any]) -> None:
        self.features = features
        self.labels = labels

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = dict(self.features[index])
        item["labels"] = self.labels[index]
        return item


def encode_texts(tokenizer: Any, texts: list[str], max_length: int) -> list[dict[str, list[int]]]:
    """Each text tokenized and truncated to ``max_length`` tokens, unpadded."""
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded]
    return [{key: encoded[key][row] for key in keys} for row in range(len(texts))]


def unit_labels(data: SessionData, label: str | None) -> tuple[list[str], list[Any]]:
    """Label names and per-text labels of a unit.

    One-vs-all for ``label`` (distributed mode): two classes, ``not <label>`` and ``<label>``.
    Otherwise a class id per text, or a 0/1 float row per text for multi-label.
    """
    if label is not None:
        position = data.label_names.index(label)
        return [f"not {label}", label], [int(position in target) for target in data.targets]
    if data.multi_label:
        width = len(data.label_names)
        rows = [[1.0 if i in target else 0.0 for i in range(width)] for target in data.targets]
        return list(data.label_names), rows
    return list(data.label_names), [target[0] for target in data.targets]


def subset(
    features: list[dict[str, list[int]]], labels: list[Any], indices: list[int]
) -> EncodedDataset:
    """The dataset of the rows at ``indices``, in that order."""
    return EncodedDataset([features[i] for i in indices], [labels[i] for i in indices])
