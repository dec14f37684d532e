"""The training worker: ``python -m engine.training.worker METADATA`` and what it runs.

``worker``, ``runner``, ``callbacks``, ``data`` and ``demo_model`` need torch and transformers
and are loaded by the worker process (and by ``demo-model``); ``recorder``, ``signals``,
``metrics``, ``distributed`` and ``faults`` are its torch-free parts. What prepares a session
before a run, or assesses it after, is in engine.sessions: the app never imports this package.
"""
