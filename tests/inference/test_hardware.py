"""inference/hardware.py: what this machine has, consistent with what the OS reports, and read the
same way by every part (thread counts, model cards, the trainer's bf16 choice)."""
from __future__ import annotations

import os
import platform

import pytest

from inference import hardware


@pytest.fixture
def fake_cpuinfo(tmp_path, monkeypatch):
    """Point the module at a /proc/cpuinfo of our own (its parse is cached: clear it before and after)."""
    def write(text: str | None):
        path = tmp_path / "cpuinfo"
        if text is not None:
            path.write_text(text)
        monkeypatch.setattr(hardware, "CPUINFO", path)
        hardware._cpuinfo.cache_clear()
    yield write
    hardware._cpuinfo.cache_clear()


def test_usable_cores_are_the_ones_this_process_may_run_on():
    cores = hardware.usable_cores()
    assert 1 <= cores <= os.cpu_count()
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


def test_the_first_cpus_name_and_flags_are_read(fake_cpuinfo):
    fake_cpuinfo("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse2 avx2 avx512_bf16\n\n"
                 "processor\t: 1\nmodel name\t: Other CPU\nflags\t\t: fpu\n")
    assert hardware.cpu_name() == "Test CPU 9000"
    assert hardware.cpu_flags() == frozenset({"fpu", "sse2", "avx2", "avx512_bf16"})
    assert hardware.native_bf16() == "avx512_bf16"


def test_without_cpuinfo_the_name_comes_from_the_platform_and_there_are_no_flags(fake_cpuinfo):
    fake_cpuinfo(None)
    assert hardware.cpu_name() == (platform.processor() or platform.machine())
    assert hardware.cpu_flags() == frozenset() and hardware.native_bf16() is None


@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "avx512f"}, None),              # AVX-512 alone has no bf16 arithmetic
    ({"avx512f", "avx512_bf16"}, "avx512_bf16"),
    ({"amx_tile", "amx_bf16"}, "amx_bf16"),
    ({"avx512_bf16", "amx_bf16"}, "avx512_bf16"),
    (set(), None),
])
def test_native_bf16_names_the_flag_that_gives_it(flags, expected):
    assert hardware.native_bf16(frozenset(flags)) == expected


def test_this_machines_flags_agree_with_its_native_bf16():
    flags = hardware.cpu_flags()
    found = hardware.native_bf16()
    assert found is None or found in flags
    assert (found is None) == (not {"avx512_bf16", "amx_bf16"} & flags)


def test_describe_is_one_line_with_the_cpu_cores_and_system(fake_cpuinfo):
    fake_cpuinfo("model name\t: Test CPU 9000\nflags\t: fpu\n")
    line = hardware.describe()
    assert line == f"Test CPU 9000, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"
    assert ", GPU NVIDIA H100," in hardware.describe("NVIDIA H100") and "\n" not in line


def test_load_now_reports_the_load_average():
    text = hardware.load_now()
    one, five, fifteen = os.getloadavg()
    assert text.startswith("load average ") and "(1/5/15 min)" in text
    assert len(text.split(" / ")) == 3
    if os.path.exists("/proc/pressure/cpu"):
        assert "CPU pressure" in text and text.endswith("% (10 s)")
