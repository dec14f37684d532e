"""llmtool-tui: the Textual app."""
