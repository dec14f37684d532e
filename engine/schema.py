"""Pydantic models of the training-session metadata document: the one definition of its format.

Every section of ``shared/reference/example-training-metadata.json`` is modelled here, plus what
the product adds (ids, liveness, progress, environment, fingerprint, notes and tags). Every model
allows extra keys: the original tool and collaborators write more keys than we know, and a
load-modify-save round trip must keep them unchanged. The JSON Schema printed by
``llmtool-tui schema`` is generated from these models and their field docstrings.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Re-exported (``as``): the rest of the engine names them from here.
from engine.vocabulary import Status as Status
from engine.vocabulary import Strategy as Strategy
from engine.vocabulary import TrainingMode as TrainingMode

#: The numeric precision a session asks for: ``auto`` lets the worker choose for its hardware.
PrecisionSetting = Literal["auto", "fp32", "bf16", "fp16"]
#: The precision a run trained in: fp32, or bf16/fp16 mixed precision (fp32 master weights).
Precision = Literal["fp32", "bf16", "fp16"]

SCHEMA_VERSION = 1
TOOL_VERSION = "llmtool-tui 0.1.0"
# ``int | float`` (not ``float``) so that an integer written by another tool stays an integer
# on a round trip instead of turning into ``350.0``.
Number = int | float

#: Which status may follow which. ``completed`` is final; ``failed`` and ``interrupted`` may go
#: back to ``running`` because resume continues the same session.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"pending", "running", "failed", "interrupted", "completed"}),
    "running": frozenset({"running", "completed", "failed", "interrupted"}),
    "interrupted": frozenset({"interrupted", "running", "failed"}),
    "failed": frozenset({"failed", "running"}),
    "completed": frozenset({"completed"}),
}


class InvalidTransitionError(ValueError):
    """Raised when a status change is not allowed (for example ``completed`` to ``running``)."""

    def __init__(self, old: str, new: str) -> None:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS.get(old, frozenset()))) or "none"
        super().__init__(
            f"cannot change status from {old!r} to {new!r} (allowed from {old!r}: {allowed})"
        )
        self.old = old
        self.new = new


class Section(BaseModel):
    """Base of every section: unknown keys are kept and written back unchanged."""

    model_config = ConfigDict(
        extra="allow",
        use_attribute_docstrings=True,
        validate_assignment=True,
        populate_by_name=True,
        # NaN and infinities are not JSON: a file holding one (1e400 overflows to inf) is
        # refused with the field's name rather than written back as invalid JSON.
        allow_inf_nan=False,
        # Validators are built on first use, not at import: the app imports this module before
        # its first paint, and only its background listing validates documents.
        defer_build=True,
    )


class TrainingSession(Section):
    """Identification of the session (``training_session``)."""

    timestamp: str
    """Creation time as ``YYYYMMDD_HHMMSS`` (local time of the machine that created it)."""
    tool_version: str = TOOL_VERSION
    """Name and version of the tool that wrote the session."""
    workflow: str = "Training Studio"
    """Human description of the workflow, e.g. ``Training Studio - Quick``."""
    session_id: str = ""
    """Unique id, ``train_YYYYMMDD_HHMMSS`` (a suffix is added when that second is taken)."""
    session_uuid: str | None = None
    """Globally unique id; lets an imported copy of a session be recognised."""
    parent_session_id: str | None = None
    """For a relaunch: the session whose parameters were reused."""

    @model_validator(mode="after")
    def _derive_session_id(self) -> TrainingSession:
        # Files of the original tool may lack session_id; it was always derived from the timestamp.
        if not self.session_id:
            self.session_id = f"train_{self.timestamp}"
        return self


class Fingerprint(Section):
    """Identity of the dataset file, to tell when the data changed since the session was made."""

    sha256: str
    """SHA-256 of the file's bytes."""
    size_bytes: int
    """Size of the file in bytes."""
    rows: int | None = None
    """Number of rows read from the file (before cleaning)."""


class SplitConfig(Section):
    """How the cleaned data is divided, so that the same split can be rebuilt exactly."""

    seed: int = 42
    """Seed of the split's random generator."""
    validation_ratio: float = 0.2
    """Share of the rows used for validation."""
    test_ratio: float = 0.0
    """Share of the rows held out as a test set (0 for none)."""
    stratified: bool = True
    """Whether the split keeps the label proportions."""
    train_size: int | None = None
    """Rows in the training part."""
    validation_size: int | None = None
    """Rows in the validation part."""
    test_size: int | None = None
    """Rows in the test part."""
    indices_sha256: str | None = None
    """sha256 of the split's row indices, compared on resume: the same rows in the same parts."""


class DatasetConfig(Section):
    """The dataset and how its labels are read (``dataset_config``)."""

    primary_file: str | None = None
    """Path of the dataset file."""
    format: str | None = None
    """Format of the file (csv, tsv, json, jsonl, xlsx, parquet, fasttext, labelled-lines, or
    the original tool's names)."""
    header: bool | None = None
    """Whether the first row of a CSV/TSV file names the columns (False: the columns are
    ``column_1``...). None for other formats, and in sessions recorded before it was detected,
    which are read with a header."""
    delimiter: str | None = None
    """Field delimiter of a CSV/TSV file."""
    strategy: Strategy = "single-label"
    """``single-label`` (one class per text) or ``multi-label`` (zero or more labels per text)."""
    text_column: str | None = None
    """Column holding the texts."""
    label_column: str | None = None
    """Column holding the labels (single column layouts)."""
    label_columns: list[str] = Field(default_factory=list)
    """Indicator columns (0/1), one per label, for the indicator multi-label layout."""
    label_layout: str | None = None
    """``single-column``, ``list-column`` or ``indicator-columns``."""
    label_delimiter: str | None = None
    """Delimiter of labels inside one cell (list-column layout), e.g. ``;``."""
    language_column: str | None = None
    """Column holding each text's language, when the data has one."""
    sheet: str | None = None
    """Excel sheet read, when the file is a workbook."""
    encoding: str | None = None
    """Text encoding the file was read with."""
    labels: list[str] = Field(default_factory=list)
    """The label set, in the order used for the model's label ids."""
    total_samples: int = 0
    """Rows kept after cleaning."""
    num_categories: int = 0
    """Number of distinct labels."""
    category_distribution: dict[str, int] = Field(default_factory=dict)
    """Number of texts per label."""
    training_files: dict[str, str] = Field(default_factory=dict)
    """Derived training files of the original tool (kept for compatibility)."""
    rows_read: int | None = None
    """Rows read from the file before cleaning."""
    rows_dropped: dict[str, int] = Field(default_factory=dict)
    """Rows removed by cleaning, by reason (e.g. ``empty text``)."""
    duplicates: int | None = None
    """Number of duplicated texts found (kept, only counted)."""
    dropped_rare_classes: list[str] = Field(default_factory=list)
    """Classes removed because they had fewer than two examples (only when asked)."""
    warnings: list[str] = Field(default_factory=list)
    """Warnings of the analysis (encoding fallback, sheet chosen, sampling...)."""
    fingerprint: Fingerprint | None = None
    """sha256 and size of the file, compared on resume and relaunch."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """How the data is split into train/validation(/test)."""


class LanguageConfig(Section):
    """Languages of the texts (``language_config``)."""

    confirmed_languages: list[str] = Field(default_factory=list)
    """Languages present, as upper-case ISO 639-1 codes (``FR``, ``EN``)."""
    language_distribution: dict[str, int] = Field(default_factory=dict)
    """Number of texts per language."""
    model_strategy: str = "multilingual"
    """``multilingual`` (one model for all languages) or ``language-specific``."""
    language_model_mapping: dict[str, str] = Field(default_factory=dict)
    """Recommended model per language, when language-specific."""
    detection_method: str | None = None
    """How languages were found: a detection library's name, or ``column:<name>``."""
    detection_sample_size: int | None = None
    """Number of texts language detection ran on (a bounded sample for large files)."""


class TokenStats(Section):
    """Token length statistics of the texts."""

    token_mean: Number = 0
    """Mean number of tokens per text."""
    token_median: Number = 0
    """Median number of tokens per text."""
    token_max: Number = 0
    """Largest number of tokens of a text."""
    token_p95: Number = 0
    """95th percentile of tokens per text."""


class TextAnalysis(Section):
    """Text length analysis (``text_analysis``)."""

    text_length_stats: TokenStats = Field(default_factory=TokenStats)
    """Token length statistics."""
    requires_long_document_model: bool = False
    """True when a meaningful share of texts exceeds the model's maximum length."""
    avg_token_length: Number = 0
    """Mean tokens per text (kept for compatibility with the original tool)."""
    max_token_length: Number = 0
    """Largest tokens per text (kept for compatibility with the original tool)."""
    tokenizer: str | None = None
    """Tokenizer used for the counts, or the name of the approximation."""
    exact: bool | None = None
    """False when the counts are an approximation (the model's tokenizer was not available)."""
    long_document_share: float | None = None
    """Share of texts longer than the model's maximum length."""


class ModelConfig(Section):
    """Model choice and hyperparameters (``model_config``)."""

    training_mode: TrainingMode = "quick"
    """``quick``, ``benchmark``, ``custom`` or ``distributed``."""
    selected_model: str | None = None
    """Model trained (hub id or local directory); the first one in benchmark mode."""
    selected_models: list[str] = Field(default_factory=list)
    """All models to train, in order (benchmark mode trains each of them)."""
    recommended_model: str | None = None
    """Model the analysis recommended."""
    epochs: int = 3
    """Number of training epochs."""
    batch_size: int = 16
    """Training batch size per device."""
    learning_rate: float = 2e-5
    """Peak learning rate."""
    max_length: int = 128
    """Maximum tokens per text; longer texts are truncated."""
    warmup_ratio: float = 0.0
    """Share of the training steps spent warming the learning rate up."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    early_stopping: bool = True
    """Whether training stops when macro F1 stops improving."""
    early_stopping_patience: int = 2
    """Evaluations without improvement before stopping."""
    seed: int = 42
    """Seed of model initialisation, data order and dropout."""
    torch_threads: int | None = None
    """CPU threads torch uses; fixed per session because it changes the results."""
    eval_steps: int | None = None
    """Evaluate (and checkpoint) every N steps; None evaluates at the end of each epoch."""
    labels_to_train: list[str] = Field(default_factory=list)
    """Distributed mode: labels that get a one-vs-all model (all when empty)."""
    nproc_per_node: int = Field(default=1, ge=1)
    """Training processes per machine (one per GPU); above 1 the worker runs under torchrun."""
    nnodes: int = Field(default=1, ge=1)
    """Machines taking part; above 1, ``rdzv_endpoint`` must be set."""
    rdzv_endpoint: str | None = None
    """Multi-node: ``host:port`` of the rendezvous (the machine of node rank 0)."""
    node_rank: int | None = None
    """Multi-node: 0 on the machine that hosts the rendezvous, another number elsewhere; None:
    the machine whose name matches ``rdzv_endpoint`` hosts it. (The rendezvous numbers the
    training ranks itself.)"""
    precision: PrecisionSetting = "auto"
    """``auto`` (bf16 mixed precision on a GPU that supports it, else fp16 with loss scaling on
    a GPU, fp32 on CPU), or ``fp32``, ``bf16``, ``fp16`` to choose; the one used is recorded in
    ``environment.precision``."""

    # model_config is both this section's name in the document and pydantic's configuration
    # attribute; the document's name wins through the alias on TrainingMetadata.

    def models(self) -> list[str]:
        """Models this session trains, in order."""
        if self.selected_models:
            return list(self.selected_models)
        return [self.selected_model] if self.selected_model else []


#: Largest process id of any POSIX system (``pid_t`` is a 32-bit signed integer). A file may say
#: anything; an id outside this range is refused when the file is read, never handed to the OS.
MAX_PID = 2**31 - 1


class LaunchRecord(Section):
    """A worker launched for the session that has not yet recorded itself as running.

    The launcher writes it under the metadata file's lock before it returns, so that the session
    shows as starting at once and a second launch is refused; the worker removes it when it
    records ``running`` (or when it refuses to train). A record whose process is gone means the
    worker died while starting: the session is then marked ``failed``.
    """

    pid: int = Field(ge=1, le=MAX_PID)
    """Process id of the launched worker (under torchrun, of the launcher agent)."""
    host: str
    """Host name of the machine it was launched on."""
    process_started_at: float
    """The process's kernel start time (seconds since the epoch), to tell a recycled pid."""
    launched_at: datetime
    """When it was launched."""
    resume: bool = False
    """Whether it was launched to resume the session."""


class TrainingEnding(Section):
    """How the training of one model ended: why, where, and where its best model came from."""

    model: str
    """The model as ``models_trained`` lists it (distributed mode: ``model [label]``)."""
    label: str | None = None
    """Distributed mode: the label the model was trained for."""
    reason: Literal["finished", "early_stopping", "stopped", "failed"]
    """``finished`` (every planned step), ``early_stopping``, ``stopped`` (by the user) or
    ``failed``."""
    message: str
    """The reason in words: ``early stopping: no better macro F1 for 3 evaluations``."""
    step: int | None = None
    """The optimizer step training stopped at."""
    max_steps: int | None = None
    """The steps that were planned."""
    epoch: float | None = None
    """The epoch training stopped at (fractional)."""
    best_step: int | None = None
    """The step of the evaluation with the best macro F1 (where the saved model comes from)."""
    best_epoch: float | None = None
    """The epoch of that evaluation."""
    best_f1: float | None = None
    """Its macro F1."""


class ExecutionStatus(Section):
    """Where the training stands (``execution_status``); kept true by the worker at every moment."""

    status: Status = "pending"
    """``pending``, ``running``, ``completed``, ``failed`` or ``interrupted``."""
    started_at: datetime | None = None
    """When training first started (a resume keeps it: see ``resumed_at``)."""
    resumed_at: list[datetime] = Field(default_factory=list)
    """When the training was resumed, oldest first."""
    completed_at: datetime | None = None
    """When training ended successfully."""
    ended_at: datetime | None = None
    """When the worker last stopped, whatever the outcome."""
    models_trained: list[str] = Field(default_factory=list)
    """Models whose training finished."""
    best_model: str | None = None
    """Model with the best macro F1."""
    best_f1: float | None = None
    """Best macro F1 on the validation set."""
    best_model_choice: str | None = None
    """Benchmark: how the best model was chosen (the highest macro F1, or how a tie was broken)."""
    best_model_path: str | None = None
    """Directory holding the best model's ``model.safetensors``, tokenizer and label map."""
    pid: int | None = Field(default=None, ge=1, le=MAX_PID)
    """Process id of the worker."""
    host: str | None = None
    """Host name of the machine running the worker."""
    process_started_at: float | None = None
    """Worker process start time (seconds since the epoch), to tell a recycled pid."""
    last_heartbeat_at: datetime | None = None
    """Last time the worker said it was alive (at most 30 s old while it runs)."""
    error_message: str | None = None
    """What went wrong (failed) or why it stopped (interrupted)."""
    error_type: str | None = None
    """Exception class name of a failure."""
    traceback_path: str | None = None
    """File holding the full traceback of a failure."""
    current_model: str | None = None
    """Model being trained."""
    current_model_index: int | None = None
    """1-based position of the current model among the session's models."""
    models_total: int | None = None
    """Number of models the session trains."""
    step: int | None = None
    """Optimizer steps done for the current model."""
    max_steps: int | None = None
    """Optimizer steps planned for the current model."""
    epoch: float | None = None
    """Epochs done for the current model (fractional)."""
    last_checkpoint: str | None = None
    """Newest complete checkpoint directory."""
    resume_count: int = 0
    """How many times the session was resumed."""
    world_size: int | None = None
    """Training processes of the last run (``nproc_per_node`` x ``nnodes``); resume keeps it."""
    launch: LaunchRecord | None = None
    """A worker launched and still starting (importing its libraries); None otherwise."""
    endings: list[TrainingEnding] = Field(default_factory=list)
    """How each model's training ended, in training order (a resumed model's entry replaced)."""

    def check_transition(self, new: str) -> None:
        """Raise InvalidTransitionError when ``new`` may not follow the current status."""
        if new not in ALLOWED_TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransitionError(self.status, new)


class OutputPaths(Section):
    """Where the session's outputs are (``output_paths``)."""

    models_dir: str | None = None
    """Directory of the trained models."""
    logs_dir: str | None = None
    """Directory of the logs."""
    results_csv: str | None = None
    """CSV with one row per model per evaluation."""
    run_dir: str | None = None
    """``logs/training_runs/<session_id>``: progress, log, checkpoints, results."""


class PredictionRecord(Section):
    """One run of the session's best model over a file (``llmtool-tui predict``, ``p``)."""

    file: str
    """The file predicted on."""
    output: str
    """The file the predictions were written to (the input's columns, then the predictions)."""
    rows: int
    """Rows of the file (each got a prediction, except those without text)."""
    text_column: str
    """Column the texts were read from."""
    model_path: str
    """The model that predicted (the session's best model)."""
    finished_at: datetime
    """When the output was written."""
    duration_s: float
    """Seconds the prediction took (all its runs, when it was resumed)."""
    threshold: float | None = None
    """Multi-label: the probability over which a label is given."""
    evaluated_rows: int | None = None
    """Rows compared with the file's own labels (None: the file has no label column)."""
    macro_f1: float | None = None
    """Macro F1 of the predictions against the file's labels."""
    accuracy: float | None = None
    """Accuracy against the file's labels (multi-label: the whole label set right)."""
    per_class_f1: dict[str, float] = Field(default_factory=dict)
    """F1 of each class against the file's labels."""


class Environment(Section):
    """Software and hardware the session ran on (for reproducibility)."""

    python: str | None = None
    """Python version."""
    torch: str | None = None
    """torch version."""
    transformers: str | None = None
    """transformers version."""
    platform: str | None = None
    """Operating system and architecture."""
    device: str | None = None
    """``cpu``, ``cuda:0 (<name>)``, ``mps``."""
    torch_threads: int | None = None
    """CPU threads torch used."""
    precision: Precision | None = None
    """Precision the run trained in (``fp32``, ``bf16`` or ``fp16`` mixed); resume keeps it.
    Sessions recorded before this field trained in fp32."""
    host: str | None = None
    """Host name."""
    packages: dict[str, str] = Field(default_factory=dict)
    """Versions of the other libraries that shape the results (accelerate, tokenizers, ...)."""


class TrainingMetadata(Section):
    """The whole metadata document of one training session."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document format."""
    training_session: TrainingSession
    """Identification."""
    dataset_config: DatasetConfig
    """Dataset and labels."""
    language_config: LanguageConfig = Field(default_factory=LanguageConfig)
    """Languages."""
    text_analysis: TextAnalysis = Field(default_factory=TextAnalysis)
    """Token statistics."""
    training_model_config: ModelConfig = Field(alias="model_config")
    """Model and hyperparameters (``model_config`` in the document)."""
    execution_status: ExecutionStatus = Field(default_factory=ExecutionStatus)
    """Status and results."""
    output_paths: OutputPaths = Field(default_factory=OutputPaths)
    """Output locations."""
    environment: Environment | None = None
    """Software and hardware of the last run."""
    notes: str = ""
    """Free notes of the user."""
    tags: list[str] = Field(default_factory=list)
    """Tags of the user."""
    predictions: list[PredictionRecord] = Field(default_factory=list)
    """Runs of the best model over other files, oldest first."""

    model_config = ConfigDict(
        extra="allow",
        use_attribute_docstrings=True,
        validate_assignment=True,
        populate_by_name=True,
        # NaN and infinities are not JSON: a file holding one (1e400 overflows to inf) is
        # refused with the field's name rather than written back as invalid JSON.
        allow_inf_nan=False,
        # Validators are built on first use, not at import: the app imports this module before
        # its first paint, and only its background listing validates documents.
        defer_build=True,
        serialize_by_alias=True,
    )

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.training_session.session_id

    @property
    def status(self) -> str:
        """The recorded status."""
        return self.execution_status.status

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready document, with the document's key names and unknown keys kept."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_document(cls, data: Any) -> TrainingMetadata:
        """Validate a parsed JSON document. Raises pydantic.ValidationError."""
        return cls.model_validate(data)


def new_session_uuid() -> str:
    """A fresh session uuid."""
    return str(uuid.uuid4())


def metadata_json_schema() -> dict[str, Any]:
    """The JSON Schema of the document, generated from the models."""
    return TrainingMetadata.model_json_schema(by_alias=True)
