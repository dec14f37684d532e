"""The curated catalogue of models to recommend, and whether a model is usable offline here.

Availability is decided from the disk only: a local directory, or the local Hugging Face cache
read through huggingface_hub's ``try_to_load_from_cache`` (which never touches the network). The
machines this tool runs on often have no access to the hub, and an analysis must not hang on it.

A local model directory is the user's, or named in a session file from another machine: its
``config.json`` is read only when it is a regular file of reasonable size (a FIFO there would
block, ``/dev/zero`` linked there would read forever).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.files import expand_user, read_regular

#: ``languages`` value of a model that covers any language.
ANY_LANGUAGE = "*"
#: Maximum length assumed for a model that says nothing about it (BERT-like models use 512).
DEFAULT_MAX_TOKENS = 512
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
#: A tokenizer is usable with its ``tokenizer.json`` (fast tokenizers), or with its configuration
#: and one of these vocabulary files (a configuration alone loads an empty vocabulary).
VOCABULARY_FILES = (
    "vocab.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "tokenizer.model",
    "source.spm",
)
#: Model types whose position embeddings reserve two slots for padding (514 positions = 512 tokens).
PADDING_OFFSET_TYPES = frozenset({"roberta", "xlm-roberta", "camembert", "longformer"})
#: A model's config.json is a few kilobytes; anything over this is not one.
MAX_CONFIG_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    """One catalogue entry."""

    model_id: str
    """Hugging Face hub id (the short legacy id where there is one: the hub still redirects it)."""
    languages: tuple[str, ...]
    """Upper-case ISO 639-1 codes the model was pre-trained on; ``("*",)`` for multilingual."""
    max_tokens: int
    """Longest input in tokens."""
    size: str
    """Parameter count, for the user to weigh speed against quality."""
    description: str
    """One line on what it is good for."""

    @property
    def multilingual(self) -> bool:
        return ANY_LANGUAGE in self.languages

    def covers(self, language: str) -> bool:
        return self.multilingual or language.upper() in self.languages


@dataclass(frozen=True)
class Recommendation:
    """A recommended model and whether it can be used here without a download."""

    model: ModelInfo
    offline: bool


CATALOG: tuple[ModelInfo, ...] = (
    ModelInfo("roberta-base", ("EN",), 512, "125M", "strong English baseline"),
    ModelInfo("bert-base-uncased", ("EN",), 512, "110M", "classic English BERT, lower-cased"),
    ModelInfo("distilbert-base-uncased", ("EN",), 512, "66M", "fast, small English model"),
    ModelInfo("camembert-base", ("FR",), 512, "110M", "French RoBERTa (CamemBERT)"),
    ModelInfo("flaubert/flaubert_base_cased", ("FR",), 512, "138M", "French BERT (FlauBERT)"),
    ModelInfo("deepset/gbert-base", ("DE",), 512, "110M", "German BERT (deepset)"),
    ModelInfo("dccuchile/bert-base-spanish-wwm-cased", ("ES",), 512, "110M", "Spanish BERT (BETO)"),
    ModelInfo("dbmdz/bert-base-italian-xxl-cased", ("IT",), 512, "110M", "Italian BERT"),
    ModelInfo(
        "neuralmind/bert-base-portuguese-cased", ("PT",), 512, "110M", "Portuguese BERT (BERTimbau)"
    ),
    ModelInfo("GroNLP/bert-base-dutch-cased", ("NL",), 512, "110M", "Dutch BERT (BERTje)"),
    ModelInfo(
        "xlm-roberta-base",
        (ANY_LANGUAGE,),
        512,
        "278M",
        "multilingual RoBERTa, 100 languages: mixed-language data",
    ),
    ModelInfo(
        "bert-base-multilingual-cased",
        (ANY_LANGUAGE,),
        512,
        "178M",
        "multilingual BERT, 104 languages",
    ),
    ModelInfo(
        "distilbert-base-multilingual-cased",
        (ANY_LANGUAGE,),
        512,
        "134M",
        "fast multilingual model",
    ),
    ModelInfo(
        "allenai/longformer-base-4096",
        ("EN",),
        4096,
        "149M",
        "English long documents (up to 4,096 tokens)",
    ),
    ModelInfo(
        "markussagen/xlm-roberta-longformer-base-4096",
        (ANY_LANGUAGE,),
        4096,
        "281M",
        "multilingual long documents (up to 4,096 tokens)",
    ),
)


def catalog_entry(model: str) -> ModelInfo | None:
    """The catalogue entry of a model id, if it has one."""
    return next((info for info in CATALOG if info.model_id == model), None)


def recommend_models(languages: list[str], long_documents: bool = False) -> list[ModelInfo]:
    """Catalogue models for texts in ``languages``, best first.

    One language with dedicated models: those first, then multilingual ones. Several languages
    (or none known): multilingual models. ``long_documents`` puts the long-document models that
    cover the languages first.
    """
    codes = [language.upper() for language in languages]
    standard = [info for info in CATALOG if info.max_tokens <= DEFAULT_MAX_TOKENS]
    long = [info for info in CATALOG if info.max_tokens > DEFAULT_MAX_TOKENS]

    def fitting(models: list[ModelInfo]) -> list[ModelInfo]:
        if len(codes) == 1:
            specific = [info for info in models if not info.multilingual and info.covers(codes[0])]
        else:
            specific = []
        return specific + [info for info in models if info.multilingual]

    ordered = fitting(standard)
    return fitting(long) + ordered if long_documents else ordered


def is_available_offline(model: str) -> bool:
    """Whether ``model`` can be loaded without a network: configuration and weights on disk.

    ``model`` is a local directory (with ``config.json``) or a hub id found in the local Hugging
    Face cache. Never touches the network.
    """
    local = expand_user(model)
    if local.is_dir():
        return (local / "config.json").is_file() and any(
            (local / name).is_file() for name in WEIGHT_FILES
        )
    return _cached_file(model, "config.json") is not None and any(
        _cached_file(model, name) is not None for name in WEIGHT_FILES
    )


def tokenizer_directory(model: str) -> Path | None:
    """The local directory holding ``model``'s tokenizer files, or None when there is none.

    A local directory needs only the tokenizer (a model directory has it too); a hub id is looked
    up in the local cache.
    """
    local = expand_user(model)
    if local.is_dir():
        if (local / "tokenizer.json").is_file() or (
            (local / "tokenizer_config.json").is_file()
            and any((local / name).is_file() for name in VOCABULARY_FILES)
        ):
            return local
        return None
    cached = _cached_file(model, "tokenizer.json")
    if cached is not None:
        return cached.parent
    config = _cached_file(model, "tokenizer_config.json")
    if config is not None and any(_cached_file(model, name) for name in VOCABULARY_FILES):
        return config.parent
    return None


def model_max_tokens(model: str) -> int:
    """Longest input of ``model``: the catalogue's figure, else its configuration's, else 512."""
    entry = catalog_entry(model)
    if entry is not None:
        return entry.max_tokens
    local = expand_user(model)
    config_path = local / "config.json" if local.is_dir() else _cached_file(model, "config.json")
    if config_path is not None:
        try:
            config = json.loads(read_regular(config_path, MAX_CONFIG_BYTES).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            # Missing, not a regular file, too large, not UTF-8 JSON: the default length is
            # right for most models, and the model's own loader reports a broken directory.
            config = {}
        positions = config.get("max_position_embeddings") if isinstance(config, dict) else None
        if isinstance(positions, int) and positions > 0:
            offset = 2 if config.get("model_type") in PADDING_OFFSET_TYPES else 0
            return positions - offset
    return DEFAULT_MAX_TOKENS


def with_availability(models: list[ModelInfo]) -> list[Recommendation]:
    """The models with their offline availability."""
    return [Recommendation(info, is_available_offline(info.model_id)) for info in models]


def _cached_file(model: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(repo_id=model, filename=filename)
    except ValueError:
        # An id the hub would reject (spaces, a path that does not exist): not in the cache.
        return None
    return Path(cached) if isinstance(cached, str) else None
