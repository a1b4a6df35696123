"""What this machine has: the cores this process may use, the CPU's name and its instruction-set
flags, and the system load. Thread counts, model cards, benchmarks and the trainer's choice of
bf16 all read it here, so every part describes a machine the same way. Torch-free."""
from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# Native bf16 arithmetic: AVX512-BF16 (AMD Zen 4+, Intel Cooper Lake+) or AMX (Intel Sapphire Rapids+).
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.lru_cache(maxsize=None)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    name, flags = "", frozenset()
    try:
        for line in CPUINFO.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = frozenset(value.split())
    except OSError:  # not Linux: the name from platform, no flags
        pass
    return name or platform.processor() or platform.machine(), flags


def cpu_name() -> str:
    return _cpuinfo()[0]


def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags as Linux names them (empty where /proc/cpuinfo is missing)."""
    return _cpuinfo()[1]


def native_bf16(flags: frozenset[str] | None = None) -> str | None:
    """The flag that gives this CPU native bf16 arithmetic, or None when it has none."""
    flags = cpu_flags() if flags is None else flags
    return next((flag for flag in BF16_FLAGS if flag in flags), None)


def describe(gpu: str | None = None) -> str:
    """One line for model cards and benchmark reports, e.g. 'AMD EPYC 9B14, 2 cores, Linux x86_64'."""
    extra = f", GPU {gpu}" if gpu else ""
    return f"{cpu_name()}, {os.cpu_count()} cores{extra}, {platform.system()} {platform.machine()}"


def load_now() -> str:
    """The system load, for benchmark reports taken on a shared machine."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        some = Path("/proc/pressure/cpu").read_text().split()[1].split("=")[1]
        return f"load average {load} (1/5/15 min), CPU pressure {some}% (10 s)"
    except (OSError, IndexError):
        return f"load average {load} (1/5/15 min)"
