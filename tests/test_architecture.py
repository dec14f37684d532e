"""Import boundaries: the engine never pulls the UI, the app never pulls torch or transformers.

Checked in fresh interpreters, since a test process has everything imported already.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent


def _modules_after_import(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(result.stdout.split())


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_engine_never_imports_the_ui() -> None:
    names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
    # The worker is run as a script; importing it must still not pull the UI.
    statement = "\n".join(f"import {name}" for name in names)
    loaded = _top_level(_modules_after_import(statement))
    assert "textual" not in loaded
    assert "rich" not in loaded


def test_app_and_cli_never_import_torch_or_transformers() -> None:
    loaded = _top_level(
        _modules_after_import(
            "import llmtool_tui.app\nimport llmtool_tui.cli\nimport engine.facade\n"
            "from llmtool_tui.cli import build_parser\nbuild_parser()"
        )
    )
    assert "textual" in loaded
    assert "torch" not in loaded
    assert "transformers" not in loaded


def test_the_first_paint_imports_no_metadata_model_and_no_other_screen() -> None:
    # pydantic (the metadata models) and the screens, dialogs and widgets the options menu does
    # not show cost about half a second of imports: they load when first used, after the first
    # paint (llmtool_tui.lazy, and the engine's imports on use).
    loaded = _modules_after_import("import llmtool_tui.app")
    assert "pydantic" not in _top_level(loaded)
    assert "engine.schema" not in loaded
    assert "engine.progress" not in loaded
    app_modules = {name for name in loaded if name.startswith("llmtool_tui.")}
    assert not {name for name in app_modules if name.count(".") > 1}, (
        "no screen, dialog or widget module"
    )


def test_the_apps_command_line_imports_no_command() -> None:
    # Parsing `llmtool-tui --workspace DIR` registers no command: all of them import the
    # metadata models and more (a quarter of a second before the first frame). Help does.
    app = _modules_after_import(
        "from llmtool_tui.cli import parser_for\n"
        "parser_for(['--workspace', 'ws', '--poll']).parse_args(['--workspace', 'ws', '--poll'])"
    )
    assert not {name for name in app if name.startswith("llmtool_tui.cli.")}
    assert "pydantic" not in _top_level(app)
    helped = _modules_after_import("from llmtool_tui.cli import parser_for\nparser_for(['-h'])")
    assert "llmtool_tui.cli.sessions" in helped


def test_the_import_contracts_hold() -> None:
    """The contracts of pyproject.toml ([tool.importlinter]): the engine never imports the UI,
    the UI reaches the worker and the supervisor only through the facade, widgets never import
    screens, and no package or module imports its siblings in a circle."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
