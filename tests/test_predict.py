"""``predict`` and the details' ``p``: the best model of a trained session over new texts,
scored, resumable, refused cleanly on bad input.

Two tiny sessions (single-label, multi-label) are trained once for the module by the real
worker; the predictions run in this process through the CLI (``llmtool_tui.cli.main``) or the
facade, and once through the detached worker, which is killed mid-way and continued.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score
from textual.widgets import Input, Static

from engine.facade import Engine
from engine.prediction.plan import CHUNK_BATCHES, PREDICTIONS_DIR
from engine.prediction.status import PredictionStatus
from engine.store import read_metadata
from engine.training.faults import KILL_ENV
from engine.workspace import Workspace
from llmtool_tui.app import make_app
from llmtool_tui.cli import main
from llmtool_tui.dialogs.predict import PredictDialog
from llmtool_tui.screens import DetailScreen
from llmtool_tui.screenshots import wait_until
from tests.pilots import open_detail, plain, wait_for_screen
from tests.test_training_support import (
    Scenario,
    Step,
    build_tiny_model,
    dataset_config,
    make_session,
    new_workspace,
    run_scenarios,
    tiny_model_config,
    write_tiny_dataset,
)

NEW_ROWS = 300


@dataclass
class Trained:
    workspace: Workspace
    single: Path
    multi: Path
    pending: Path
    new_texts: Path
    """Rows the sessions never saw, with the columns they were trained on (labels included)."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("predict")
    model = build_tiny_model(root / "tiny-model")
    dataset = write_tiny_dataset(root / "data.csv")
    workspace = new_workspace(root / "ws")
    single = make_session(workspace, dataset_config(dataset), tiny_model_config([model]))
    multi = make_session(
        workspace, dataset_config(dataset, multi_label=True), tiny_model_config([model])
    )
    scenarios = [Scenario(single, [Step()]), Scenario(multi, [Step()])]
    run_scenarios(scenarios)
    assert [s.returncodes for s in scenarios] == [[0], [0]], [s.outputs for s in scenarios]
    pending = make_session(workspace, dataset_config(dataset), tiny_model_config([model]))
    new_texts = write_tiny_dataset(root / "new.csv", rows=NEW_ROWS, seed=11)
    return Trained(workspace, single, multi, pending, new_texts)


def predict(trained: Trained, *args: str) -> int:
    return main(["--workspace", str(trained.workspace.root), "predict", *map(str, args)])


def predicted_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def jobs(trained: Trained, session: Path) -> list[Path]:
    folder = trained.workspace.run_dir(read_metadata(session).session_id) / PREDICTIONS_DIR
    return sorted(folder.glob("*")) if folder.is_dir() else []


def test_single_label_predictions_are_written_beside_the_input_and_scored(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.csv"
    before = trained.single.stat().st_mtime_ns
    assert predict(trained, trained.single, trained.new_texts, "-o", output, "--json") == 0
    result = predicted_json(capsys)

    source = pd.read_csv(trained.new_texts, dtype=str, keep_default_na=False)
    written = pd.read_csv(output, dtype={"label": str, "predicted_label": str})
    assert list(written.columns) == [*source.columns, "predicted_label", "predicted_probability"]
    assert written["text"].tolist() == source["text"].tolist()
    labels = read_metadata(trained.single).dataset_config.labels
    assert set(written["predicted_label"]) <= set(labels)
    assert written["predicted_probability"].between(1 / len(labels), 1).all()

    evaluation = result["evaluation"]
    assert isinstance(evaluation, dict)
    assert evaluation["rows"] == NEW_ROWS
    truth, guess = written["label"], written["predicted_label"]
    assert evaluation["accuracy"] == pytest.approx(accuracy_score(truth, guess))
    assert evaluation["macro_f1"] == pytest.approx(
        f1_score(truth, guess, average="macro", labels=labels, zero_division=0)
    )
    assert set(evaluation["per_class_f1"]) == set(labels)

    metadata = read_metadata(trained.single)
    record = metadata.predictions[-1]
    assert (record.file, record.output, record.rows) == (
        str(trained.new_texts),
        str(output),
        NEW_ROWS,
    )
    assert record.macro_f1 == pytest.approx(evaluation["macro_f1"])
    assert record.per_class_f1 == evaluation["per_class_f1"]
    # A prediction is no training activity: the session keeps its place in the history.
    assert trained.single.stat().st_mtime_ns == before
    rows = dict(Engine(trained.workspace).inspect(trained.single).detail_rows())
    assert f"new.csv ({NEW_ROWS:,} rows) -> {output}, macro F1" in rows["Predictions"]
    # Once the output is written, the chunks it was made of are removed.
    assert jobs(trained, trained.single)
    assert not any((job / "chunks").exists() for job in jobs(trained, trained.single))


def test_the_output_says_its_results_in_words_with_the_scores_per_class(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "words.csv"
    assert predict(trained, trained.single, trained.new_texts, "-o", output) == 0
    out = capsys.readouterr().out
    assert f"predicted {NEW_ROWS:,} rows of new.csv" in out
    assert "against the file's labels, 300 rows: macro F1" in out
    for label in read_metadata(trained.single).dataset_config.labels:
        assert label in out


def test_multi_label_gives_every_label_over_the_threshold_with_each_probability(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = read_metadata(trained.multi).dataset_config.labels
    written = {}
    for threshold in ("0.5", "0.2"):
        output = tmp_path / f"out-{threshold}.jsonl"
        code = predict(
            trained, trained.multi, trained.new_texts, "-o", output, "--threshold", threshold
        )
        assert code == 0
        written[threshold] = pd.read_json(output, lines=True, dtype=False)
    capsys.readouterr()
    for threshold, frame in written.items():
        probabilities = frame[[f"probability_{label}" for label in labels]].to_numpy()
        expected = [
            [label for label, p in zip(labels, row, strict=True) if p > float(threshold)]
            for row in probabilities
        ]
        assert frame["predicted_labels"].tolist() == expected
    assert sum(map(len, written["0.2"]["predicted_labels"])) >= sum(
        map(len, written["0.5"]["predicted_labels"])
    )
    assert read_metadata(trained.multi).predictions[-1].threshold == 0.2


def test_every_format_the_analysis_reads_can_be_predicted_into_parquet(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = pd.read_csv(trained.new_texts, dtype=str, keep_default_na=False).head(40)
    inputs = {"data.jsonl": tmp_path / "data.jsonl", "data.parquet": tmp_path / "data.parquet"}
    source.to_json(inputs["data.jsonl"], orient="records", lines=True, force_ascii=False)
    source.to_parquet(inputs["data.parquet"], index=False)
    tsv = tmp_path / "data.tsv"
    source.to_csv(tsv, sep="\t", index=False)
    inputs["data.tsv"] = tsv
    results = {}
    for name, path in inputs.items():
        output = tmp_path / f"{name}.predictions.parquet"
        assert predict(trained, trained.single, path, "-o", output, "--json") == 0
        capsys.readouterr()
        results[name] = pd.read_parquet(output)
    for frame in results.values():
        pd.testing.assert_frame_equal(frame[source.columns], source)
    first, *others = results.values()
    for frame in others:
        assert frame["predicted_label"].tolist() == first["predicted_label"].tolist()


def test_the_default_output_is_beside_the_input(
    trained: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "batch.csv"
    source.write_bytes(trained.new_texts.read_bytes())
    assert predict(trained, trained.single, source, "--json") == 0
    assert predicted_json(capsys)["output"] == str(tmp_path / "batch.predictions.csv")
    assert (tmp_path / "batch.predictions.csv").is_file()


@pytest.fixture(scope="module")
def reference(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The output of an uninterrupted prediction of the new texts in batches of 1 (64-row
    chunks: five for 300 rows)."""
    engine = Engine(trained.workspace)
    output = tmp_path_factory.mktemp("reference") / "reference.csv"
    done = engine.predict(
        engine.plan_prediction(trained.single, trained.new_texts, output, batch_size=1)
    )
    assert (done.status.chunks_total, done.chunks_computed) == (5, 5)
    return output.read_bytes()


def test_a_stopped_prediction_continues_without_recomputing_its_finished_chunks(
    trained: Trained, reference: bytes, tmp_path: Path
) -> None:
    engine = Engine(trained.workspace)
    output = tmp_path / "resumed.csv"
    plan = engine.plan_prediction(trained.single, trained.new_texts, output, batch_size=1)

    def stop_in_the_third_chunk(status: PredictionStatus) -> None:
        if status.rows_done > 2 * CHUNK_BATCHES + 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.predict(plan, progress=stop_in_the_third_chunk)
    status = engine.prediction_status(plan.job_dir)
    assert status is not None and status.state == "interrupted"
    assert not output.exists()

    again = engine.plan_prediction(trained.single, trained.new_texts, output, batch_size=1)
    assert again.job_dir == plan.job_dir
    resumed = engine.predict(again)
    assert (resumed.status.chunks_reused, resumed.chunks_computed) == (2, 3)
    assert output.read_bytes() == reference


def test_the_detached_worker_killed_midway_is_continued_by_the_same_request(
    trained: Trained, reference: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(trained.workspace)
    output = tmp_path / "killed.csv"
    plan = engine.plan_prediction(trained.single, trained.new_texts, output, batch_size=1)
    # The worker SIGKILLs itself once its second chunk is saved, as in a power cut.
    monkeypatch.setenv(KILL_ENV, "after_prediction_chunk:2")
    started = engine.start_prediction(plan)
    monkeypatch.delenv(KILL_ENV)
    assert started.state == "running" and started.pid is not None
    running = engine.running_predictions(plan.session_id)
    assert [status.job_dir for status in running] == [str(plan.job_dir)]
    deadline = time.monotonic() + 180
    while (status := engine.prediction_status(plan.job_dir)) and status.state == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status is not None and status.state == "interrupted", status
    assert "run it again to continue" in (status.message or "")
    assert not output.exists()

    resumed = engine.predict(
        engine.plan_prediction(trained.single, trained.new_texts, output, batch_size=1)
    )
    assert (resumed.status.chunks_reused, resumed.chunks_computed) == (2, 3)
    assert output.read_bytes() == reference


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no best model", "has no best model to predict with (it is pending)"),
        ("output is input", "is the input file"),
        ("text column missing", "has no text column 'review'"),
        ("unreadable file", "new.bin"),
        ("missing file", "missing.csv"),
        ("unknown output format", "use .csv, .jsonl, .parquet"),
        ("output folder missing", "does not exist; create it first"),
        ("bad threshold", "--threshold must be a probability between 0 and 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    trained: Trained,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    message: str,
) -> None:
    binary = tmp_path / "new.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    output = tmp_path / "out.csv"
    arguments = {
        "no best model": [trained.pending, trained.new_texts, "-o", output],
        "output is input": [trained.single, trained.new_texts, "-o", trained.new_texts],
        "text column missing": [
            trained.single, trained.new_texts, "-o", output, "--text-column", "review",
        ],
        "unreadable file": [trained.single, binary, "-o", output],
        "missing file": [trained.single, tmp_path / "missing.csv", "-o", output],
        "unknown output format": [trained.single, trained.new_texts, "-o", tmp_path / "o.xlsx"],
        "output folder missing": [trained.single, trained.new_texts, "-o", tmp_path / "no/o.csv"],
        "bad threshold": [trained.single, trained.new_texts, "-o", output, "--threshold", "1.5"],
    }[case]  # fmt: skip
    before = {path: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    jobs_before = jobs(trained, trained.single) + jobs(trained, trained.pending)
    assert predict(trained, *arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert {path: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before
    assert jobs(trained, trained.single) + jobs(trained, trained.pending) == jobs_before


def history_number(trained: Trained, session: Path) -> str:
    rows = Engine(trained.workspace).history(limit=None).rows
    return next(str(row.index) for row in rows if row.path == session)


async def test_p_in_the_details_predicts_in_the_background_and_the_details_show_it(
    trained: Trained, tmp_path: Path
) -> None:
    output = tmp_path / "from-the-app.csv"
    app = make_app(Engine(trained.workspace), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_detail(pilot, history_number(trained, trained.single))
        assert "Run the best model over a file of new texts" in plain(
            detail.query_one("#detail-actions", Static).content
        )
        await pilot.press("p")
        dialog = await wait_for_screen(pilot, PredictDialog)
        dialog.query_one("#predict-file", Input).value = str(trained.new_texts)
        await pilot.pause()
        assert dialog.query_one("#predict-output", Input).placeholder == (
            "beside the file: new.predictions.csv"
        )
        dialog.query_one("#predict-output", Input).value = str(output)
        dialog.query_one("#predict-column", Input).value = "review"
        dialog.query_one("#predict-file", Input).focus()
        await pilot.press("enter")
        error = dialog.query_one("#predict-error", Static)
        await wait_until(pilot, lambda: "review" in plain(error.content))
        assert "name the texts' column in Text column" in plain(error.content)

        dialog.query_one("#predict-column", Input).value = "text"
        await pilot.press("enter")
        await wait_for_screen(pilot, DetailScreen)
        line = detail.query_one("#detail-prediction", Static)
        assert line.display
        await wait_until(pilot, lambda: "✓" in plain(line.content), timeout=240)
        await wait_until(
            pilot,
            lambda: (
                detail.view is not None
                and any(done.output == str(output) for done in detail.view.metadata.predictions)
            ),
        )
        assert f"{NEW_ROWS:,} rows predicted into {output}" in plain(line.content)
        assert str(output) in plain(detail.query_one("#detail-table", Static).content)
    assert len(pd.read_csv(output)) == NEW_ROWS


async def test_p_is_not_offered_without_a_best_model(trained: Trained) -> None:
    app = make_app(Engine(trained.workspace), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_detail(pilot, history_number(trained, trained.pending))
        assert "predict" not in plain(detail.query_one("#detail-actions", Static).content)
        await pilot.press("p")
        await pilot.pause(0.2)
        assert isinstance(pilot.app.screen, DetailScreen)


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        "[]",
        '{"session_id": "s", "file": "f", "output": "o", "state": "running",'
        ' "rows_done": "many", "rows_total": 3}',
        '{"session_id": "s", "file": "f", "output": "o", "state": "exploded",'
        ' "rows_done": 1, "rows_total": 3}',
        '{"session_id": "s", "file": "f", "output": "o", "state": "running",'
        ' "rows_done": 1, "rows_total": 3, "pid": 1e400}',
    ],
)
def test_a_status_file_that_is_not_one_reads_as_no_status(tmp_path: Path, document: str) -> None:
    (tmp_path / "status.json").write_text(document, encoding="utf-8")
    assert Engine(Workspace(tmp_path)).prediction_status(tmp_path) is None


def test_a_status_naming_a_huge_pid_is_not_taken_for_a_running_process(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text(
        '{"session_id": "s", "file": "f", "output": "o", "state": "running", "rows_done": 1,'
        f' "rows_total": 3, "pid": {2**70}, "process_started_at": 1.0}}',
        encoding="utf-8",
    )
    status = Engine(Workspace(tmp_path)).prediction_status(tmp_path)
    assert status is not None and status.state == "interrupted"
