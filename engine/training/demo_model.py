"""A tiny BERT-style model with a tokenizer trained on a corpus, for demos and tests without a hub.

The model is randomly initialised (there is nothing to pre-train it on offline); fine-tuning
teaches it the task from scratch, which works on the bundled sample because its signal is carried
by words. The tokenizer is a WordPiece trained with the ``tokenizers`` library on the corpus.

Accents are kept on purpose. ``BertNormalizer`` strips accents whenever it lowercases unless told
otherwise, and a ``BertTokenizer`` built from a tokenizer object rebuilds its normaliser from its
own ``strip_accents``/``do_lower_case`` arguments when loaded back: without ``strip_accents=False``
in its saved configuration, ``élection`` becomes ``election`` after a save/load round trip and
French text tokenizes differently from how the vocabulary was trained.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import BadInputError, OperationError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
#: Written next to the model so that ``train --demo`` can recognise a model it built.
DEMO_INFO_FILE = "llmtool_demo_model.json"
#: Sentence checked after the round trip: accents must survive save and load.
ACCENT_PROBE = "Élection à l'hôpital : la santé et l'économie."


@dataclass(frozen=True)
class DemoModelSpec:
    """Size of the demo model. The defaults train in seconds per epoch on two CPU cores."""

    vocab_size: int = 1000
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 128
    max_position_embeddings: int = 128
    seed: int = 0


#: The size the tests use: small enough for a full training in a few seconds.
TINY_SPEC = DemoModelSpec(
    vocab_size=500,
    hidden_size=32,
    num_layers=2,
    num_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
)


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A lower-casing, accent-keeping BERT WordPiece tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tokenizer


def read_corpus(path: Path, text_column: str) -> list[str]:
    """The non-empty texts of ``text_column`` in a dataset file (any format the readers know).

    Raises:
        BadInputError: unreadable file or unknown column.
    """
    from engine.analysis.readers import read_table

    frame = read_table(path).frame
    if text_column not in frame.columns:
        raise BadInputError(
            f"column {text_column!r} not found in {path.name}; its columns are"
            f" {', '.join(map(str, frame.columns))} (use --text-column)"
        )
    texts = [str(value) for value in frame[text_column].dropna() if str(value).strip()]
    if not texts:
        raise BadInputError(f"column {text_column!r} of {path.name} has no text")
    return texts


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars, and no load report (which lists the new classification head as
    "missing", as expected for a base model): only noise on the command line."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()


def build_demo_model(
    out_dir: Path, texts: list[str], spec: DemoModelSpec = DemoModelSpec()
) -> Path:
    """Build a tiny BERT model and a tokenizer trained on ``texts``, saved in ``out_dir``.

    The result is loaded back through ``AutoTokenizer``/``AutoModelForSequenceClassification``
    (the path every training takes) and checked to keep accents, before this returns.

    Returns:
        ``out_dir``.

    Raises:
        BadInputError: no texts, or ``out_dir`` is a non-empty directory that is not a demo model.
        OperationError: the saved model does not load back or loses accents.
    """
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        BertConfig,
        BertModel,
        BertTokenizer,
    )

    if not texts:
        raise BadInputError("the corpus has no text to train the tokenizer on")
    out_dir = Path(out_dir)
    # Anything there but a directory (a file, a FIFO, a broken link) is refused, not written over.
    if ((out_dir.exists() or out_dir.is_symlink()) and not out_dir.is_dir()) or (
        out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / DEMO_INFO_FILE).is_file()
    ):
        raise BadInputError(
            f"{out_dir} exists and is not an empty directory or a demo model; choose another path"
        )
    out_dir.mkdir(parents=True, exist_ok=True)

    with _quiet_transformers():
        backend = train_tokenizer(texts, spec.vocab_size)
        tokenizer = BertTokenizer(
            tokenizer_object=backend,
            do_lower_case=True,
            strip_accents=False,
            model_max_length=spec.max_position_embeddings,
        )
        config = BertConfig(
            vocab_size=backend.get_vocab_size(),
            hidden_size=spec.hidden_size,
            num_hidden_layers=spec.num_layers,
            num_attention_heads=spec.num_heads,
            intermediate_size=spec.intermediate_size,
            max_position_embeddings=spec.max_position_embeddings,
            pad_token_id=backend.token_to_id("[PAD]"),
        )
        torch.manual_seed(spec.seed)
        model = BertModel(config)
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        (out_dir / DEMO_INFO_FILE).write_text(
            json.dumps({"spec": asdict(spec), "corpus_texts": len(texts)}, indent=2) + "\n",
            encoding="utf-8",
        )

        reloaded = AutoTokenizer.from_pretrained(out_dir)
        if reloaded.tokenize(ACCENT_PROBE) != tokenizer.tokenize(ACCENT_PROBE):
            raise OperationError(
                f"the tokenizer saved in {out_dir} tokenizes differently after loading"
                " (accents lost?); this is a bug of the demo-model builder"
            )
        AutoModelForSequenceClassification.from_pretrained(out_dir, num_labels=2)
    return out_dir


def is_demo_model(path: Path) -> bool:
    """Whether ``path`` holds a model built by ``build_demo_model``."""
    return (Path(path) / DEMO_INFO_FILE).is_file() and (Path(path) / "config.json").is_file()
