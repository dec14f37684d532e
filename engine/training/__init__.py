"""The training side of the engine: the worker process and what prepares and resumes its sessions.

Importable without torch or transformers (the UI process and the CLI import them): ``sessions``,
``resumability``, ``checkpoints``, ``models``, ``sample_data``, ``recorder``, ``signals``,
``faults``. ``worker`` (run as ``python -m engine.training.worker``), ``runner``, ``callbacks``,
``data`` and ``demo_model`` need torch and are loaded by the worker and by ``demo-model``.
"""
