"""The numeric precision a run trains in: what the session asks, on what the machine has.

``auto`` trains in bf16 mixed precision on a GPU that computes in bf16 (Ampere and later), in
fp16 mixed precision with loss scaling on an older GPU, and in fp32 on CPU. Mixed precision
keeps fp32 master weights and optimizer states: only the forward and backward passes run in the
half type, two to three times faster on recent GPUs. With mixed precision, TF32 matmuls are
allowed where the GPU has them (the fp32 operations left). ``fp32`` asked for explicitly stays
IEEE fp32, TF32 off.

On CPU, bf16 asked for explicitly trains in bf16 through torch's CPU autocast (Trainer supports
it, and CPUs with AMX or AVX-512 BF16 run it faster than fp32); fp16 is refused, its loss scaling
being a GPU feature. The decision is pure (``resolve_precision``, ``precision_arguments``):
only ``detect_hardware`` imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import BadInputError, Remedy
from engine.schema import Precision, PrecisionSetting

#: Compute capability of the first GPUs with native bf16 and TF32 (Ampere, e.g. A100).
AMPERE = (8, 0)


@dataclass(frozen=True)
class Hardware:
    """What the machine offers a training process."""

    cuda: bool
    """Whether it trains on a CUDA GPU."""
    bf16: bool = False
    """Whether that GPU computes in bf16 natively (not emulated)."""
    tf32: bool = False
    """Whether that GPU's fp32 matmuls can use TF32."""


def detect_hardware(local_rank: int = 0) -> Hardware:
    """The hardware this process trains on (imports torch)."""
    import torch

    if not torch.cuda.is_available():
        return Hardware(cuda=False)
    ampere = torch.cuda.get_device_capability(local_rank) >= AMPERE
    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    return Hardware(cuda=True, bf16=native_bf16, tf32=ampere and torch.version.cuda is not None)


def resolve_precision(requested: PrecisionSetting, hardware: Hardware) -> Precision:
    """The precision a run trains in.

    Raises:
        BadInputError: the precision asked for cannot train on this hardware.
    """
    if requested == "auto":
        if not hardware.cuda:
            return "fp32"
        return "bf16" if hardware.bf16 else "fp16"
    if requested == "fp16" and not hardware.cuda:
        raise BadInputError(
            "precision fp16 needs a CUDA GPU (its loss scaling is a GPU feature) and this"
            " machine has none",
            _OTHER_PRECISION,
        )
    if requested == "bf16" and hardware.cuda and not hardware.bf16:
        raise BadInputError(
            "precision bf16 needs a GPU that computes in bf16 (Ampere or later) and this one"
            " does not",
            _OTHER_PRECISION,
        )
    return requested


_OTHER_PRECISION = Remedy(
    shell="relaunch with --set precision=auto (or fp32)",
    # The edit dialog has no precision: the wizard's custom mode is where the app sets one.
    app="train it again from the wizard's custom mode with precision auto (or fp32)",
)


def precision_arguments(precision: Precision, hardware: Hardware) -> dict[str, Any]:
    """The TrainingArguments settings of a precision on this hardware.

    ``tf32`` is left unset (None) where the GPU has no TF32: TrainingArguments refuses
    ``tf32=True`` there, and ``False`` would be a claim about hardware that has nothing to turn off.
    """
    mixed = precision != "fp32"
    tf32: bool | None = None
    if hardware.tf32:
        tf32 = mixed
    return {"bf16": precision == "bf16", "fp16": precision == "fp16", "tf32": tf32}
