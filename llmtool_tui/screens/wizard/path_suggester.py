"""File-system path completion for an Input: the first entry of the typed directory that fits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.suggester import Suggester

from llmtool_tui.untrusted import visible


def complete_path(value: str) -> str | None:
    """The first entry (directories first, then files, by name) that extends ``value``.

    The suggestion keeps the text as typed (``~``, a relative path) and only appends to it, since
    the Input shows the part after the typed text. Directories end with the separator so that the
    next completion goes inside them. Hidden entries are offered only when the name typed so far
    starts with a dot. Names with control characters are never offered: the Input would pass them
    to the terminal (the directory browser shows them escaped).

    Returns:
        The completed path, or None when nothing fits or the directory cannot be read.
    """
    if not value:
        return None
    head, separator, partial = value.rpartition(os.sep)
    directory = Path(os.path.expanduser(head + separator)) if separator else Path(".")
    try:
        entries = [entry for entry in os.scandir(directory) if entry.name.startswith(partial)]
    except OSError:
        return None
    if not partial.startswith("."):
        entries = [entry for entry in entries if not entry.name.startswith(".")]
    entries = [entry for entry in entries if visible(entry.name) == entry.name]

    def is_dir(entry: os.DirEntry[str]) -> bool:
        try:
            return entry.is_dir()
        except OSError:
            return False

    entries.sort(key=lambda entry: (not is_dir(entry), entry.name))
    for entry in entries:
        completed = value + entry.name[len(partial) :] + (os.sep if is_dir(entry) else "")
        if completed != value:
            return completed
    return None


class PathSuggester(Suggester):
    """Suggests file-system paths; accept a suggestion with → (or End)."""

    def __init__(self) -> None:
        # Uncached: the directory may change while the wizard is open (a file being exported).
        # Case-sensitive: paths are.
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        # A directory on a network file system can take a while to list: not on the event loop.
        return await asyncio.to_thread(complete_path, value)
