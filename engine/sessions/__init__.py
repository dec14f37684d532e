"""Sessions before and between runs, without torch: what the app and the commands prepare.

``creation`` builds and writes a new session's metadata (and a relaunch's), with its checks;
``resumability`` says whether a session can be resumed and why not; ``checkpoints`` reads what a
run left in its run folder (complete checkpoints, finished models); ``models`` finds a model on
disk or in the Hugging Face cache without loading it; ``sample_data`` is the bundled dataset.
The worker (engine.training) uses them too; nothing here imports torch or transformers.
"""
