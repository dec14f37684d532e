"""Running a session's best model over a file of new texts: ``llmtool-tui predict`` and ``p``.

``plan`` checks a request and decides everything (model, columns, output, job folder) without
torch; ``status`` is the job's progress file, which the app follows; ``output`` writes the
predictions beside the input's columns and scores them against the file's labels. ``runner``
(torch and transformers) predicts chunk by chunk, and ``worker`` runs it as a detached process
for the app. The app loads only the torch-free modules, through the facade.
"""
