"""Which process of a torchrun (DDP) training this worker is, and the little agreement it needs.

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in every process it starts. Rank 0 is
the only writer of the session's files (metadata, progress, log, results, final model); the other
ranks train and keep their own RNG state in each checkpoint. A plain (one-process) worker is rank 0
of a world of one, and every function here is then a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranks:
    """This process's place in the training."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def primary(self) -> bool:
        """Whether this process writes the session's files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls) -> Ranks:
        """The ranks torchrun set, or a world of one."""
        return cls(
            rank=int(os.environ.get("RANK", "0")),
            world_size=int(os.environ.get("WORLD_SIZE", "1")),
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )


def init_process_group(ranks: Ranks, use_cpu: bool) -> None:
    """Join the process group (gloo on CPU, nccl on GPUs) before Trainer needs it.

    The worker synchronises its own file work (removing incomplete checkpoints, recording a unit's
    result) before Trainer exists; accelerate then reuses this group instead of making one.
    """
    if not ranks.distributed:
        return
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if not use_cpu:
        torch.cuda.set_device(ranks.local_rank)
    dist.init_process_group(backend="gloo" if use_cpu else "nccl")


def barrier() -> None:
    """Wait for every rank (no-op in a world of one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank.

    Signals reach the ranks at slightly different moments: a rank that stopped one step before
    the others would leave them waiting forever in the next gradient all-reduce. Every rank asks
    this at the same points, so that they all stop at the same step.
    """
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
