"""The app speaks its own language: a fix it shows names its keys and fields, never a CLI flag.

Each refusal whose fix is an action of a front end carries both wordings (engine.errors.Remedy):
this reads every one the engine writes and checks the app's has no ``--flag``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.errors import BadInputError, Remedy, in_app

ENGINE = Path(__file__).resolve().parent.parent / "engine"
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _remedies() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Remedy"
            ):
                calls.append((path.relative_to(ENGINE.parent).as_posix(), node.lineno, node))
    return calls


def _text(node: ast.expr) -> str:
    """The literal parts of a string expression (f-string holes left out)."""
    return "".join(
        part.value
        for part in ast.walk(node)
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    )


def test_every_fix_worded_for_the_app_names_no_command_flag() -> None:
    remedies = _remedies()
    assert len(remedies) >= 10  # the scan finds them (resume, relaunch, analysis, models...)
    for where, line, call in remedies:
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        assert set(keywords) == {"shell", "app"}, f"{where}:{line}: give shell= and app="
        app = _text(keywords["app"])
        assert not FLAG.search(app), f"{where}:{line}: the app's words name a flag: {app!r}"


def test_the_shell_reads_the_flag_and_the_app_its_own_words() -> None:
    error = BadInputError("3 classes too small", Remedy(shell="pass --x", app="tick X"))
    assert str(error) == "3 classes too small; pass --x"
    assert in_app(error) == "3 classes too small; tick X"
    assert in_app(ValueError("plain")) == "plain"
