"""A prediction request checked and decided, before anything is written or torch is loaded.

Everything a bad request can be refused for is checked here, cheapest first, so that it fails
in one line with nothing written: a session without a best model, an output that is the input or
of a format we do not write, a missing folder, a file the analysis' readers cannot read, a text
column it does not have. The plan then names the job's folder,
``logs/training_runs/<session_id>/predictions/<key>/``, where ``key`` is a digest of everything
that decides the predictions (model files, input bytes, columns, batch size, output): running
the same request again finds the chunks already predicted and continues from them, and a changed
request never reuses another's chunks.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import BadInputError, Remedy
from engine.files import expand_user, read_regular
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.analysis.columns import LabelSpec
    from engine.analysis.readers import TableRead
    from engine.schema import TrainingMetadata

#: Output extension -> format written.
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 4096
DEFAULT_THRESHOLD = 0.5
#: Batches per chunk: a chunk is the unit that is saved, and not recomputed when a killed run is
#: started again. 64 batches cost one small file write per few seconds of a real model.
CHUNK_BATCHES = 64
LABEL_MAP_FILE = "label_map.json"
#: The largest label map read (it lists labels; anything bigger is not ours).
MAX_LABEL_MAP_BYTES = 4 * 1024 * 1024
PREDICTIONS_DIR = "predictions"
#: Columns the predictions add. Multi-label: one probability column per label, named
#: ``probability_<label>``.
PREDICTED_LABEL = "predicted_label"
PREDICTED_PROBABILITY = "predicted_probability"
PREDICTED_LABELS = "predicted_labels"
PROBABILITY_PREFIX = "probability_"


@dataclass(frozen=True)
class PredictionRequest:
    """What the user asked for: the arguments of ``predict``, as the job's folder records them."""

    session_path: Path
    file: Path
    output: Path | None = None
    text_column: str | None = None
    batch_size: int | None = None
    threshold: float | None = None

    def to_document(self) -> dict[str, Any]:
        return {
            "session_path": str(self.session_path),
            "file": str(self.file),
            "output": str(self.output) if self.output is not None else None,
            "text_column": self.text_column,
            "batch_size": self.batch_size,
            "threshold": self.threshold,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> PredictionRequest:
        """The request a job's folder records. Raises KeyError or TypeError when malformed."""
        output = document.get("output")
        return cls(
            session_path=Path(document["session_path"]),
            file=Path(document["file"]),
            output=Path(output) if output is not None else None,
            text_column=document.get("text_column"),
            batch_size=document.get("batch_size"),
            threshold=document.get("threshold"),
        )


@dataclass(frozen=True)
class BestModel:
    """The session's best model as its folder describes it (``label_map.json``)."""

    path: Path
    labels: tuple[str, ...]
    multi_label: bool
    """Several labels per text: a sigmoid per label (one-vs-all models included)."""
    one_vs_all: tuple[Path, ...] = ()
    """Distributed mode: one binary model per label, in ``labels`` order (empty otherwise)."""

    def weight_files(self) -> list[Path]:
        folders = list(self.one_vs_all) or [self.path]
        return sorted(file for folder in folders for file in folder.glob("*.safetensors"))


@dataclass
class PredictionPlan:
    """A checked request: what will be read, run and written, and where the job keeps its state."""

    request: PredictionRequest
    session_id: str
    session_path: Path
    model: BestModel
    max_length: int
    file: Path
    output: Path
    output_format: str
    text_column: str
    batch_size: int
    threshold: float
    table: TableRead
    """The file as read (the runner predicts on it, the output keeps its columns)."""
    label_spec: LabelSpec | None
    """The session's label columns, when the file has them: the predictions are scored."""
    job_dir: Path

    @property
    def rows(self) -> int:
        return len(self.table.frame)

    @property
    def chunk_rows(self) -> int:
        return self.batch_size * CHUNK_BATCHES

    @property
    def chunks(self) -> int:
        return max(1, math.ceil(self.rows / self.chunk_rows))


def _no_best_model(metadata: TrainingMetadata, why: str) -> BadInputError:
    return BadInputError(
        f"{metadata.session_id} has no best model to predict with ({why})",
        Remedy(
            shell=f"train it to the end first (`llmtool-tui resume {metadata.session_id}`), or"
            " choose a completed session",
            app="predict with a completed session",
        ),
    )


def best_model(metadata: TrainingMetadata) -> BestModel:
    """The session's best model, from its ``label_map.json``.

    Raises:
        BadInputError: the session did not complete, or its model folder is gone or unreadable.
    """
    status = metadata.execution_status
    if status.status != "completed" or not status.best_model_path:
        raise _no_best_model(metadata, f"it is {status.status}")
    path = expand_user(status.best_model_path)
    try:
        label_map = json.loads(read_regular(path / LABEL_MAP_FILE, MAX_LABEL_MAP_BYTES))
    except (OSError, ValueError) as exc:
        why = f"{path / LABEL_MAP_FILE} cannot be read: {getattr(exc, 'strerror', None) or exc}"
        raise _no_best_model(metadata, why) from None
    try:
        if label_map.get("strategy") == "one-vs-all":
            folders = {str(label): str(name) for label, name in label_map["labels"].items()}
            return BestModel(
                path,
                tuple(folders),
                True,
                tuple(path / Path(name).name for name in folders.values()),
            )
        return BestModel(
            path, tuple(str(label) for label in label_map["labels"]), bool(label_map["multi_label"])
        )
    except (AttributeError, KeyError, TypeError):
        raise _no_best_model(metadata, f"{path / LABEL_MAP_FILE} is not a label map") from None


def default_output(file: Path) -> Path:
    """``<folder>/<name>.predictions.<ext>``: the input's format when we write it, else CSV."""
    extension = file.suffix.lower() if file.suffix.lower() in OUTPUT_FORMATS else ".csv"
    return file.with_name(f"{file.stem}.predictions{extension}")


def _check_output(file: Path, output: Path) -> str:
    """The output's format. Raises BadInputError for an output that cannot or must not be
    written."""
    output_format = OUTPUT_FORMATS.get(output.suffix.lower())
    if output_format is None:
        raise BadInputError(
            f"cannot write {output.name}: the output's extension says its format; use"
            f" {', '.join(OUTPUT_FORMATS)}"
        )
    if output == file or (output.exists() and file.exists() and output.samefile(file)):
        raise BadInputError(
            f"the output {output} is the input file (the input is never overwritten)",
            Remedy(shell="give another path with -o", app="give another output file"),
        )
    if output.is_dir():
        raise BadInputError(f"the output {output} is a folder; give a file name")
    if not output.parent.is_dir():
        raise BadInputError(f"folder {output.parent} does not exist; create it first")
    return output_format


def _check_numbers(batch_size: int, threshold: float) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise BadInputError(
            f"--batch-size must be between 1 and {MAX_BATCH_SIZE}, not {batch_size}"
        )
    if not (math.isfinite(threshold) and 0 < threshold < 1):
        raise BadInputError(f"--threshold must be a probability between 0 and 1, not {threshold}")


def _file_identity(path: Path) -> list[Any]:
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def prediction_columns(model: BestModel) -> list[str]:
    """The columns the predictions add to the input's."""
    if model.multi_label:
        return [PREDICTED_LABELS, *(PROBABILITY_PREFIX + label for label in model.labels)]
    return [PREDICTED_LABEL, PREDICTED_PROBABILITY]


def _file_label_spec(metadata: TrainingMetadata, table: TableRead) -> LabelSpec | None:
    """The session's label layout when the file has all its columns (the file can be scored)."""
    from engine.analysis.prepare import label_spec_of

    spec = label_spec_of(metadata.dataset_config)
    if spec is None or not all(column in table.frame.columns for column in spec.columns):
        return None
    return spec


def plan_prediction(
    workspace: Workspace, metadata: TrainingMetadata, request: PredictionRequest
) -> PredictionPlan:
    """Check ``request`` against the session and the file, and decide everything.

    Nothing is written. Raises BadInputError naming the problem and the fix.
    """
    from engine.analysis.fingerprint import fingerprint_file
    from engine.analysis.readers import read_table

    model = best_model(metadata)
    file = expand_user(str(request.file)).absolute()
    output = (
        expand_user(str(request.output)).absolute()
        if request.output is not None
        else default_output(file)
    )
    output_format = _check_output(file, output)
    batch_size = request.batch_size or DEFAULT_BATCH_SIZE
    threshold = DEFAULT_THRESHOLD if request.threshold is None else request.threshold
    _check_numbers(batch_size, threshold)
    table = read_table(file)
    text_column = request.text_column or metadata.dataset_config.text_column
    columns = [str(column) for column in table.frame.columns]
    if not text_column or text_column not in columns:
        named = f"text column {text_column!r}" if text_column else "the session's text column"
        raise BadInputError(
            f"{file.name} has no {named} (its columns: {', '.join(columns)[:300]})",
            Remedy(
                shell="name the texts' column with --text-column",
                app="name the texts' column in Text column",
            ),
        )
    taken = [column for column in prediction_columns(model) if column in columns]
    if taken:
        raise BadInputError(
            f"{file.name} already has a column {taken[0]!r} (the output of an earlier"
            " prediction?); predict on the original file"
        )
    fingerprint = fingerprint_file(file)
    identity = {
        "model": [_file_identity(path) for path in model.weight_files()],
        "input": [str(file), fingerprint.sha256],
        "output": str(output),
        "text_column": text_column,
        "batch_size": batch_size,
        "chunk_batches": CHUNK_BATCHES,
        "max_length": metadata.training_model_config.max_length,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    job_dir = workspace.run_dir(metadata.session_id) / PREDICTIONS_DIR / key
    return PredictionPlan(
        request=request,
        session_id=metadata.session_id,
        session_path=request.session_path,
        model=model,
        max_length=metadata.training_model_config.max_length,
        file=file,
        output=output,
        output_format=output_format,
        text_column=text_column,
        batch_size=batch_size,
        threshold=threshold,
        table=table,
        label_spec=_file_label_spec(metadata, table),
        job_dir=job_dir,
    )
