"""Text from files, made safe for a terminal: the one helper every screen and command uses.

Session files, datasets, progress logs and worker output are written by anyone. Rich and Textual
pass control characters through to the terminal: ``ESC[2J`` in a dataset path clears the screen,
an OSC sequence sets the window title or writes the clipboard (OSC 52), U+202E reverses what
follows. Every string that comes from a file goes through ``visible`` (or ``literal``, its
``rich.text.Text`` form, which also keeps ``[brackets]`` from being read as markup) before it is
displayed, in the app and in the commands' human output. ``--json`` output stays exact
(``json_text`` only escapes these characters the JSON way).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

#: C0 controls, DEL, C1 controls (a UTF-8 terminal may obey them too), the Arabic letter mark
#: and the bidirectional marks, embeddings, overrides and isolates (they reorder what follows),
#: the line and paragraph separators (some terminals break lines on them), and lone surrogates
#: (they cannot even be encoded for the terminal).
_UNSAFE_SINGLE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: The same, except the newline and the tab, for multi-line text (notes, log lines).
_UNSAFE_MULTI_LINE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: What ``json.dumps(ensure_ascii=False)`` leaves raw but a terminal may obey.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control, bidi or separator character shown as an escape (``\\x1b``).

    Args:
        text: untrusted text.
        multiline: keep newlines and tabs (notes, log output); otherwise they are escaped too,
            so that one value stays on one line.
    """
    pattern = _UNSAFE_MULTI_LINE if multiline else _UNSAFE_SINGLE_LINE
    return pattern.sub(_escaped, text)


def literal(text: str, style: str = "", *, multiline: bool = False) -> Text:
    """Untrusted text as a ``Text``: escaped by ``visible``, shown literally (never as markup)."""
    # Imported here: the commands' JSON output needs no rich (the app has it loaded already).
    from rich.text import Text

    return Text(visible(text, multiline=multiline), style=style)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON, exact, with no character a terminal would obey.

    ``json.dumps`` already escapes C0 controls; the C1 and bidi characters it leaves raw are
    written as ``\\uXXXX`` escapes, which decode to the same strings. ``indent=None`` writes one
    line, with the standard library's C encoder (indenting needs its Python one, 15 times
    slower: half a second for a listing of 10,000 sessions).
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(_json_escape, text)
