"""Deterministic train/validation(/test) splits, stratified by label.

scikit-learn's ``train_test_split`` does the splitting. Single-label data is stratified by class.
Multi-label data is stratified by each text's rarest label: scikit-learn has no multi-label
stratification, and this keeps every label, rare ones first, spread over the parts as well as a
single stratification key can (iterative stratification would need another dependency for a
small gain at these sizes).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from engine.analysis.prepare import Examples
from engine.errors import BadInputError, Remedy
from engine.schema import SplitConfig

#: Stratum of multi-label texts without any label.
NO_LABEL = -1


@dataclass
class SplitIndices:
    """Positions (into Examples.texts) of each part, in increasing order."""

    train: list[int]
    validation: list[int]
    test: list[int]


def split_examples(examples: Examples, split: SplitConfig) -> SplitIndices:
    """Split the examples; the same examples and seed always give the same split.

    Raises:
        BadInputError: the ratios are out of range, or a class has too few examples (or a part
            too few rows) for a stratified split.
    """
    _check_ratios(split)
    total = len(examples.texts)
    stages = [
        (part, ratio)
        for part, ratio in (("test", split.test_ratio), ("validation", split.validation_ratio))
        if ratio > 0
    ]
    strata: list[int] | None = None
    if split.stratified and stages:
        _check_class_sizes(examples, parts=len(stages) + 1, split=split)
        strata = _strata(
            examples, parts=len(stages) + 1, smallest_part=_smallest_part(total, split)
        )
    remaining = list(range(total))
    taken: dict[str, list[int]] = {"test": [], "validation": []}
    left = 1.0
    for part, ratio in stages:
        remaining, taken[part] = _split(remaining, ratio / left, strata, split.seed, part)
        left -= ratio
    return SplitIndices(sorted(remaining), sorted(taken["validation"]), sorted(taken["test"]))


def _check_ratios(split: SplitConfig) -> None:
    for name, ratio in (
        ("validation_ratio", split.validation_ratio),
        ("test_ratio", split.test_ratio),
    ):
        if not 0 <= ratio < 1:
            raise BadInputError(f"{name} must be between 0 and 1 (got {ratio})")
    if split.validation_ratio + split.test_ratio >= 1:
        raise BadInputError(
            f"validation_ratio + test_ratio must leave rows to train on (got "
            f"{split.validation_ratio} + {split.test_ratio})"
        )


def _smallest_part(total: int, split: SplitConfig) -> int:
    """Rows of the smallest part, computed as scikit-learn does (held-out sizes rounded up)."""
    sizes = []
    remaining = total
    left = 1.0
    for ratio in (split.test_ratio, split.validation_ratio):
        if ratio > 0:
            held_out = math.ceil(ratio / left * remaining)
            sizes.append(held_out)
            remaining -= held_out
            left -= ratio
    return min([*sizes, remaining])


def _check_class_sizes(examples: Examples, *, parts: int, split: SplitConfig) -> None:
    """Each label needs an example in every part; each part a row of every class."""
    counts = Counter(label for targets in examples.targets for label in targets)
    small = {
        examples.label_names[label]: count
        for label, count in sorted(counts.items())
        if count < parts
    }
    names = "/".join(["train", "validation"] + (["test"] if split.test_ratio > 0 else []))
    if small:
        listed = ", ".join(f"{name!r} ({count})" for name, count in small.items())
        raise BadInputError(
            f"classes too small for a stratified {names} split (each needs {parts} examples): "
            f"{listed}",
            Remedy(
                shell="add examples, or drop these classes (--drop-rare-classes drops those under"
                " 2)",
                app="add examples, or drop these classes (“Drop classes with fewer than 2"
                " examples” drops those under 2)",
            ),
        )
    smallest = _smallest_part(len(examples.texts), split)
    if not examples.multi_label and smallest < len(counts):
        raise BadInputError(
            f"the smallest part of the {names} split would have {smallest} rows, too few to hold "
            f"one example of each of the {len(counts)} classes; add data or change the ratios"
        )


def _strata(examples: Examples, *, parts: int, smallest_part: int) -> list[int]:
    if not examples.multi_label:
        return [targets[0] for targets in examples.targets]
    frequency = Counter(label for targets in examples.targets for label in targets)
    strata = [
        min(targets, key=lambda label: (frequency[label], label)) if targets else NO_LABEL
        for targets in examples.targets
    ]
    # A stratum too small to be spread over the parts, or more strata than the smallest part has
    # rows, makes scikit-learn refuse: merge the smallest strata into the largest until it fits.
    counts = Counter(strata)
    while len(counts) > 1 and (min(counts.values()) < parts or len(counts) > smallest_part):
        smallest = min(counts, key=lambda stratum: (counts[stratum], stratum))
        largest = max(counts, key=lambda stratum: (counts[stratum], -stratum))
        strata = [largest if stratum == smallest else stratum for stratum in strata]
        counts[largest] += counts.pop(smallest)
    return strata


def _split(
    positions: list[int], share: float, strata: list[int] | None, seed: int, part: str
) -> tuple[list[int], list[int]]:
    # Imported here: scikit-learn takes about 2 s to import, and only splitting needs it.
    from sklearn.model_selection import train_test_split

    labels = [strata[position] for position in positions] if strata is not None else None
    try:
        kept, taken = train_test_split(
            positions, test_size=share, random_state=seed, shuffle=True, stratify=labels
        )
    except ValueError as exc:
        raise BadInputError(f"cannot split off the {part} part: {exc}") from exc
    return list(kept), list(taken)
