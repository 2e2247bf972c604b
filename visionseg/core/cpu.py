"""What the CPU can do fast: read once from ``/proc/cpuinfo`` (empty elsewhere).

Used where a choice depends on the hardware (bf16 training on CPU) and by the benchmarks,
which print the instruction sets they ran with.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

#: Instruction sets that change what is fast for convolutions (INT8 and bf16 kernels).
RELEVANT_ISA = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile",
                "amx_int8", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_info() -> tuple[str, frozenset[str]]:
    """The CPU's model name and its feature flags (``unknown`` and none off Linux)."""
    model, flags = "unknown", frozenset()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown":
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


def has_fast_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU has bf16 matrix instructions (AVX512-BF16 or AMX-BF16), where a
    bf16 convolution is about twice as fast as fp32; without them bf16 is emulated, slower."""
    flags = cpu_info()[1] if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & flags)
