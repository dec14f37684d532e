"""Test hook: make the worker fail at a named point, to prove that resume is exact.

``LLMTOOL_TEST_KILL_AT="<point>:<n>[:<action>]"`` acts the n-th time (1-based, counted in this
process) the worker reaches ``<point>``. The action is ``SIGKILL`` (default: the process dies at
once, as in a power cut or an OOM kill), ``SIGTERM`` (the worker's stop handler runs, as when a
user stops it), ``SIGSTOP`` (the process freezes there until a SIGCONT, so that a test can act on
the world around it at a known step) or ``RAISE`` (a RuntimeError, as a crash inside training).
Unset, a call costs one environment lookup. It exists for the fault-injection tests only; users
never set it.

Points:

* ``mid_step``: gradients computed, optimizer step not taken yet (``on_pre_optimizer_step``).
* ``mid_save``: a checkpoint's weights are written, its optimizer, RNG and trainer state are not.
* ``after_checkpoint``: a checkpoint and its completion marker are written, nothing more.
* ``eval_step``: in the middle of an evaluation (after a prediction batch).
* ``after_eval``: an evaluation is recorded, the checkpoint that follows it is not written.
* ``between_units``: a unit (model) finished and was recorded, the next one has not started.
* ``before_unit_result``: the unit's final model is saved, its completion is not recorded.
* ``after_prediction_chunk``: a prediction's chunk is saved, the next one is not started.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "LLMTOOL_TEST_KILL_AT"
POINTS = frozenset(
    {
        "mid_step",
        "mid_save",
        "after_checkpoint",
        "eval_step",
        "after_eval",
        "between_units",
        "before_unit_result",
        "after_prediction_chunk",
    }
)
ACTIONS = frozenset({"SIGKILL", "SIGTERM", "SIGSTOP", "RAISE"})

_counts: dict[str, int] = {}


class InjectedFault(RuntimeError):
    """The ``RAISE`` action of the test hook."""


def _target() -> tuple[str, int, str] | None:
    value = os.environ.get(KILL_ENV)
    if not value:
        return None
    point, _, rest = value.partition(":")
    count, _, action = rest.partition(":")
    action = action or "SIGKILL"
    if point not in POINTS or action not in ACTIONS:
        raise ValueError(
            f"{KILL_ENV}={value!r}: expected <point>:<n>[:<action>] with a point among"
            f" {', '.join(sorted(POINTS))} and an action among {', '.join(sorted(ACTIONS))}"
        )
    return point, int(count or "1"), action


def reached(point: str) -> None:
    """Count one arrival at ``point``; act when it is the configured one."""
    target = _target()
    if target is None or target[0] != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] != target[1]:
        return
    action = target[2]
    if action == "RAISE":
        raise InjectedFault(f"fault injected at {point} (test hook {KILL_ENV})")
    os.kill(os.getpid(), getattr(signal, action))
