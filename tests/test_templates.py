"""Templates: export without machine values, import as a new pending session, hostile files."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import llmtool_tui.cli as cli
from engine.errors import BadInputError
from engine.facade import Engine
from engine.schema import TrainingMetadata
from engine.store import SessionStore, read_metadata
from engine.templates import (
    MAX_IMPORT_BYTES,
    TEMPLATE_KEY,
    export_template,
    import_session,
)
from engine.workspace import Workspace

MakeMetadata = Callable[..., TrainingMetadata]
ORIGINAL_TOOL_FILE = Path(__file__).parent / "data" / "original-tool-metadata.json"
NOW = datetime(2026, 5, 4, 10, 30, 0)


@pytest.fixture
def finished(make_metadata: MakeMetadata) -> TrainingMetadata:
    """A completed session full of machine-specific values, notes, tags and a colleague's keys."""
    metadata = make_metadata(
        "20260110_090000", status="completed", dataset="/home/ana/data/debates.csv"
    )
    document = metadata.to_document()
    document["training_session"]["session_uuid"] = "6f1c2a10-0000-4000-8000-000000000001"
    document["training_session"]["parent_session_id"] = "train_20260101_000000"
    document["execution_status"] = {
        "status": "completed",
        "pid": 4242,
        "host": "gpu-box-3",
        "process_started_at": 1767000000.5,
        "last_heartbeat_at": "2026-01-10T09:30:00",
        "started_at": "2026-01-10T09:00:05",
        "completed_at": "2026-01-10T09:40:00",
        "best_f1": 0.91,
        "best_model": "camembert-base",
        "best_model_path": "/home/ana/ws/models/train_20260110_090000/camembert-base",
        "models_trained": ["camembert-base"],
        "step": 300,
        "epoch": 3.0,
        "last_checkpoint": "/home/ana/ws/logs/training_runs/x/checkpoints/checkpoint-300",
        "error_message": None,
    }
    document["environment"] = {"python": "3.11.9", "torch": "2.13.0", "host": "gpu-box-3"}
    document["output_paths"] = {"models_dir": "/home/ana/ws/models", "run_dir": "/home/ana/ws/r"}
    document["model_config"]["trust_remote_code"] = True
    document["training_params"] = {
        "fp16": False,
        "save_dir": "/home/ana/checkpoints/run1",
        "loaders": [{"name": "custom", "Trust-Remote-Code": True, "hostname": "gpu-box-3"}],
    }
    document["notes"] = "/ keep this: best run so far"
    document["tags"] = ["paper"]
    return TrainingMetadata.from_document(document)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value.keys(), *(s for child in value.values() for s in _strings(child))]
    if isinstance(value, list):
        return [s for child in value for s in _strings(child)]
    return [value] if isinstance(value, str) else []


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _session_files(store: SessionStore) -> list[Path]:
    return sorted(store.directory.glob("*.json"))


# -- export --------------------------------------------------------------------------------------


def test_export_keeps_configuration_and_drops_machine_values(finished: TrainingMetadata) -> None:
    exported = export_template(finished, now=NOW)
    document = exported.document
    assert document[TEMPLATE_KEY]["exported_from"] == "train_20260110_090000"
    assert document[TEMPLATE_KEY]["exported_at"] == "2026-05-04T10:30:00"
    for section in ("execution_status", "environment", "output_paths"):
        assert section not in document
    assert document["training_session"] == {
        "tool_version": finished.training_session.tool_version,
        "workflow": finished.training_session.workflow,
        "session_uuid": "6f1c2a10-0000-4000-8000-000000000001",
    }
    assert document["dataset_config"]["primary_file"] == "debates.csv"
    assert document["dataset_config"]["category_distribution"] == {
        "positive": 300,
        "negative": 250,
        "neutral": 450,
    }
    assert document["dataset_config"]["training_files"] == {"single_label": "training_file.jsonl"}
    assert document["language_config"]["confirmed_languages"] == ["FR", "EN"]
    assert document["text_analysis"]["text_length_stats"]["token_p95"] == 800
    assert document["model_config"]["epochs"] == 10
    assert "trust_remote_code" not in document["model_config"]
    assert document["training_params"] == {
        "fp16": False,
        "save_dir": "run1",
        "loaders": [{"name": "custom"}],
    }
    # User text is never taken for a path.
    assert document["notes"] == "/ keep this: best run so far"
    assert document["tags"] == ["paper"]
    everything = _strings(document)
    assert not [s for s in everything if s.startswith("/home/")]
    assert "gpu-box-3" not in everything
    assert sorted(exported.cleaned.removed_unsafe) == [
        "model_config.trust_remote_code",
        "training_params.loaders[0].Trust-Remote-Code",
    ]
    assert len(exported.cleaned.warnings()) == 2


def test_a_session_without_uuid_gets_the_same_one_at_every_export(
    make_metadata: MakeMetadata,
) -> None:
    metadata = make_metadata("20251005_234530")
    assert metadata.training_session.session_uuid is None
    first = export_template(metadata).session_uuid
    assert export_template(metadata).session_uuid == first
    assert export_template(make_metadata("20251005_234531")).session_uuid != first


# -- import --------------------------------------------------------------------------------------


def test_export_then_import_makes_a_new_pending_session(
    finished: TrainingMetadata, tmp_path: Path, workspace: Workspace
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    template = _write(shared / "template.json", export_template(finished).document)
    (shared / "debates.csv").write_text("text,label\nhello,positive\n")
    store = SessionStore(workspace)
    result = import_session(store, template, now=NOW)
    assert result.created
    assert result.session_id == "train_20260504_103000"
    assert result.dataset == str((shared / "debates.csv").resolve())
    assert result.dataset_found
    metadata = read_metadata(result.path)
    assert metadata.session_id == "train_20260504_103000"
    assert metadata.training_session.session_uuid == "6f1c2a10-0000-4000-8000-000000000001"
    assert metadata.training_session.parent_session_id is None
    assert metadata.status == "pending"
    assert metadata.execution_status.best_f1 is None
    assert metadata.execution_status.pid is None
    assert metadata.environment is None
    assert metadata.output_paths.models_dir is None
    assert metadata.training_model_config.epochs == 10
    assert metadata.dataset_config.primary_file == result.dataset
    assert metadata.notes == finished.notes
    assert metadata.tags == ["paper"]
    extra = metadata.model_extra or {}
    assert TEMPLATE_KEY not in extra
    assert extra["imported"]["source_session_id"] == "train_20260110_090000"
    assert extra["imported"]["from_template"] is True
    assert extra["training_params"]["fp16"] is False


def test_importing_the_same_file_twice_writes_once(
    finished: TrainingMetadata, tmp_path: Path, store: SessionStore
) -> None:
    template = _write(tmp_path / "template.json", export_template(finished).document)
    first = import_session(store, template, now=NOW)
    second = import_session(store, template, now=datetime(2026, 5, 5, 8, 0, 0))
    assert not second.created
    assert second.path == first.path
    assert second.session_id == first.session_id
    assert _session_files(store) == [first.path]


def test_a_template_of_an_imported_session_is_recognised_at_home(
    finished: TrainingMetadata, tmp_path: Path, store: SessionStore
) -> None:
    home = store.create(finished)
    template = _write(tmp_path / "t.json", export_template(read_metadata(home)).document)
    result = import_session(store, template, now=NOW)
    assert not result.created
    assert result.path == home


def test_importing_a_collaborators_original_tool_file(
    workspace: Workspace, store: SessionStore
) -> None:
    result = import_session(store, ORIGINAL_TOOL_FILE, now=NOW)
    assert result.created
    assert not result.dataset_found
    assert result.dataset == "debates_2024.jsonl"
    assert any("'debates_2024.jsonl' was not found" in w for w in result.warnings)
    metadata = read_metadata(result.path)
    document = metadata.to_document()
    assert metadata.status == "pending"
    assert metadata.execution_status.error_message is None
    assert metadata.training_model_config.training_mode == "benchmark"
    assert document["split_config"] == {
        "train_ratio": 0.8,
        "validation_ratio": 0.2,
        "stratified": True,
        "random_state": 42,
    }
    assert document["advanced_settings"]["nested"] == {"deep": [1, 2, {"x": None}]}
    assert document["checkpoints"]["directory"] == "run1"
    for machine_key in ("hostname", "user", "python_version", "platform"):
        assert machine_key not in document["training_session"]
    assert "created_at" not in document
    # The original file has no uuid: the derived one recognises a second import.
    again = import_session(store, ORIGINAL_TOOL_FILE, now=datetime(2026, 6, 1))
    assert not again.created
    assert again.path == result.path


def test_dataset_is_taken_from_the_option_or_the_workspace(
    finished: TrainingMetadata, tmp_path: Path, workspace: Workspace, store: SessionStore
) -> None:
    document = export_template(finished).document
    in_workspace = workspace.root / "debates.csv"
    in_workspace.write_text("text,label\n")
    found = import_session(store, _write(tmp_path / "a.json", document), now=NOW)
    assert found.dataset == str(in_workspace.resolve())

    document["training_session"]["session_uuid"] = "6f1c2a10-0000-4000-8000-000000000002"
    elsewhere = tmp_path / "renamed.csv"
    elsewhere.write_text("text,label\n")
    chosen = import_session(
        store, _write(tmp_path / "b.json", document), dataset=elsewhere, now=NOW
    )
    assert chosen.dataset == str(elsewhere.resolve())
    with pytest.raises(BadInputError, match="no such file"):
        import_session(
            store, _write(tmp_path / "c.json", document), dataset=tmp_path / "missing.csv"
        )


def test_a_dataset_that_differs_from_the_fingerprint_is_warned_about(
    finished: TrainingMetadata, tmp_path: Path, store: SessionStore
) -> None:
    document = export_template(finished).document
    document["dataset_config"]["fingerprint"] = {"sha256": "0" * 64, "size_bytes": 3}
    (tmp_path / "debates.csv").write_text("text,label\nother,data\n")
    result = import_session(store, _write(tmp_path / "t.json", document), now=NOW)
    assert result.created
    assert any("differs from the one the configuration was made with" in w for w in result.warnings)


# -- untrusted input ------------------------------------------------------------------------------


def _tree(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if ".locks" not in path.parts}


def test_hostile_file_is_kept_literal_and_writes_only_the_new_session(
    example_document: dict[str, Any], tmp_path: Path, workspace: Workspace, store: SessionStore
) -> None:
    hostile = json.loads(json.dumps(example_document))
    hostile["training_session"]["session_id"] = "../../../../tmp/evil"
    hostile["training_session"]["workflow"] = "[bold red]pwned[/] <script>alert(1)</script>"
    hostile["dataset_config"]["primary_file"] = "../../../etc/passwd"
    hostile["output_paths"] = {"run_dir": "/etc", "models_dir": "../../outside"}
    hostile["model_config"]["extra_args"] = [{"trust_remote_code": True}, "--fp16"]
    hostile["tags"] = ["[link=file:///etc]x[/link]", "ok", "OK"]
    hostile["notes"] = "$(rm -rf ~) `reboot`"
    source = _write(tmp_path / "hostile.json", hostile)
    before = _tree(tmp_path)
    result = import_session(store, source, now=NOW)
    created = _tree(tmp_path) - before
    assert created == {result.path}
    assert result.path.parent == workspace.sessions_dir
    assert result.session_id == "train_20260504_103000"
    assert result.dataset == "passwd"
    assert not result.dataset_found
    assert result.warnings[0].startswith("removed model_config.extra_args[0].trust_remote_code")
    metadata = read_metadata(result.path)
    assert metadata.training_session.workflow == hostile["training_session"]["workflow"]
    assert metadata.notes == "$(rm -rf ~) `reboot`"
    assert metadata.tags == ["[link=file:///etc]x[/link]", "ok"]
    assert metadata.output_paths.run_dir is None
    assert (metadata.training_model_config.model_extra or {})["extra_args"] == [{}, "--fp16"]


def test_a_hostile_session_uuid_is_kept_literally_and_names_no_file(
    example_document: dict[str, Any], tmp_path: Path, workspace: Workspace, store: SessionStore
) -> None:
    hostile_uuid = "../../../outside/" + "u" * 5000
    example_document["training_session"]["session_uuid"] = hostile_uuid
    source = _write(tmp_path / "x.json", example_document)
    before = _tree(tmp_path)
    result = import_session(store, source, now=NOW)
    assert _tree(tmp_path) - before == {result.path}
    assert read_metadata(result.path).training_session.session_uuid == hostile_uuid
    assert not import_session(store, source, now=NOW).created


def test_files_over_ten_megabytes_are_refused(tmp_path: Path, store: SessionStore) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"notes": "' + "x" * MAX_IMPORT_BYTES + '"}')
    with pytest.raises(BadInputError, match="over the 10,485,760-byte limit"):
        import_session(store, big)
    assert _session_files(store) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"training_session": {', "invalid JSON at line 1 column 22: EOF while parsing"),
        ("[1, 2]", "expected a JSON object, found list"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        ('{"a": ' * 80 + "1" + "}" * 80, "nested deeper than 64 levels"),
        ("", "empty file"),
    ],
)
def test_unparseable_files_are_named_errors(
    tmp_path: Path, store: SessionStore, content: str | bytes, message: str
) -> None:
    source = tmp_path / "bad.json"
    if isinstance(content, bytes):
        source.write_bytes(content)
    else:
        source.write_text(content)
    with pytest.raises(BadInputError, match=f"cannot import bad.json: .*{message}"):
        import_session(store, source)
    assert _session_files(store) == []


def test_an_invalid_document_names_the_field(
    example_document: dict[str, Any], tmp_path: Path, store: SessionStore
) -> None:
    example_document["model_config"]["epochs"] = "ten"
    with pytest.raises(BadInputError, match=r"invalid field model_config\.epochs"):
        import_session(store, _write(tmp_path / "bad.json", example_document))
    del example_document["model_config"]
    with pytest.raises(BadInputError, match="invalid field model_config: Field required"):
        import_session(store, _write(tmp_path / "bad.json", example_document))


# -- headless commands ----------------------------------------------------------------------------


def test_export_command_prints_or_writes_the_template(
    finished: TrainingMetadata,
    tmp_path: Path,
    store: SessionStore,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store.create(finished)
    ws = ["--workspace", str(workspace.root)]
    assert cli.main(["export", "train_20260110_090000", *ws]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed[TEMPLATE_KEY]["exported_from"] == "train_20260110_090000"
    assert "removed model_config.trust_remote_code" in captured.err

    output = tmp_path / "shared.json"
    assert cli.main(["export", "1", "-o", str(output), *ws]) == 0
    assert json.loads(output.read_text())["model_config"]["epochs"] == 10
    assert cli.main(["export", "1", "-o", str(output), *ws]) == 2
    assert "exists; choose another file or pass --force" in capsys.readouterr().err
    assert cli.main(["export", "1", "-o", str(output), "--force", *ws]) == 0
    into_sessions = workspace.sessions_dir / "t.json"
    assert cli.main(["export", "1", "-o", str(into_sessions), *ws]) == 2
    assert not into_sessions.exists()
    assert cli.main(["export", "train_19990101_000000", *ws]) == 2


def test_import_command_reports_new_and_existing_sessions(
    finished: TrainingMetadata,
    tmp_path: Path,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = export_template(finished).document
    document["training_session"]["workflow"] = "[red]x[/red]\x1b]0;title\x07"
    template = _write(tmp_path / "template.json", document)
    ws = ["--workspace", str(workspace.root)]
    assert cli.main(["import", str(template), "--json", *ws]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] is True
    assert first["dataset_found"] is False

    assert cli.main(["import", str(template), *ws]) == 0
    captured = capsys.readouterr()
    assert "was imported already as session" in captured.out
    assert "nothing written" in captured.out

    # Imported again with a path: the same session takes it (a second import is no new one).
    assert cli.main(["import", str(template), "--dataset", str(template), *ws]) == 0
    captured = capsys.readouterr()
    assert "was imported already as session" in captured.out
    assert "its paths were updated" in captured.out
    (session_file,) = workspace.sessions_dir.glob("*.json")
    assert read_metadata(session_file).dataset_config.primary_file == str(template)

    assert cli.main(["import", str(tmp_path / "missing.json"), *ws]) == 2
    assert "cannot import" in capsys.readouterr().err
    missing_workspace = ["--workspace", str(tmp_path / "nowhere")]
    assert cli.main(["import", str(template), *missing_workspace]) == 2
    assert not (tmp_path / "nowhere").exists()


def test_import_command_prints_untrusted_names_literally_and_escapes_controls(
    example_document: dict[str, Any],
    tmp_path: Path,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example_document["dataset_config"]["primary_file"] = "/x/[bold]data[red]\x1b[2J.csv"
    source = _write(tmp_path / "collab.json", example_document)
    assert cli.main(["import", str(source), "--workspace", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "dataset: [bold]data[red]\\x1b[2J.csv (not found" in out
    assert "\x1b" not in out


def test_relaunch_does_not_carry_unsafe_keys(
    store: SessionStore, workspace: Workspace, make_metadata: MakeMetadata, tmp_path: Path
) -> None:
    dataset = tmp_path / "annotated_data.csv"
    dataset.write_text("text,label\nbonjour,a\nau revoir,b\n", encoding="utf-8")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"")
    document = make_metadata(
        status="completed", dataset=str(dataset), model=str(model)
    ).to_document()
    document["model_config"]["trust_remote_code"] = True
    document["model_config"]["loader"] = {"Trust-Remote-Code": True, "kept": 1}
    source = store.directory / "collaborator.json"
    source.write_text(json.dumps(document))
    new_path = Engine(workspace).prepare_relaunch(source).path
    written = json.loads(new_path.read_text())
    assert "trust_remote_code" not in written["model_config"]
    assert written["model_config"]["loader"] == {"kept": 1}
