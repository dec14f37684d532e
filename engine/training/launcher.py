"""torchrun with the worker's exit codes, the command each node of a multi-process session runs.

``python -m engine.training.launcher [torchrun options] -m engine.training.worker METADATA
[--resume] [--force]`` is PyTorch's own launcher (``torch.distributed.run``, the same options),
run in this process; only its exit code differs. torchrun exits 1 whenever a rank fails,
whatever the rank's own code, so a refusal (2) or a stop (3) would read as a crash. Here the
code is the first failed rank's: 0 completed, 1 failed, 2 refused, 3 interrupted, as a worker
run alone; a rank ended by a signal counts as failed. The supervisor starts it on one machine;
on several, each node's job step starts it (README, "Training on several GPUs or machines").
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: Exit codes a worker gives that say more than "failed" (engine.training.worker).
_WORKER_CODES = frozenset({1, 2, 3})


def main(argv: list[str] | None = None) -> int:
    """Run torchrun's agent on ``argv`` (torchrun's arguments); returns the exit code."""
    import torch.distributed.run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    # torchrun's functions carry no annotations (mypy refuses such calls from typed code).
    parse_args: Callable[[list[str]], object] = torchrun.parse_args
    run: Callable[[object], None] = torchrun.run
    try:
        run(parse_args(sys.argv[1:] if argv is None else argv))
    except ChildFailedError as error:
        _, first = error.get_first_failure()
        return first.exitcode if first.exitcode in _WORKER_CODES else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
