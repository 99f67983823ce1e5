"""Hardware detection: real readings, the singleton race and single-flight detection."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

import cortex.hardware_detection as hw
from cortex.demos.harness import run_together


def test_detect_reads_this_machine() -> None:
    info = hw.HardwareDetector().detect()
    assert info.cpu.cores >= 1
    assert info.cpu.threads >= info.cpu.cores or info.cpu.threads == 0
    assert info.memory.total_mb > 0
    assert info.kernel_version
    assert not info.has_nvidia_gpu or info.gpu
    json.dumps(info.to_dict())  # JSON-ready, enums included


def test_module_helpers_agree_with_the_detector() -> None:
    info = hw.detect_hardware()
    assert hw.get_cpu_cores() == info.cpu.cores
    assert hw.get_ram_gb() == info.memory.total_gb
    assert hw.has_nvidia_gpu() == info.has_nvidia_gpu
    assert hw.get_gpu_info() == info.gpu
    quick = hw.detect_quick()
    assert quick["cpu_cores"] >= 1
    assert quick["ram_gb"] > 0


def test_use_cache_returns_the_same_result_until_forced() -> None:
    detector = hw.HardwareDetector()
    first = detector.detect()
    assert detector.detect() is first
    assert detector.detect(force_refresh=True) is not first
    assert detector.detections == 2
    uncached = hw.HardwareDetector(use_cache=False)
    uncached.detect()
    uncached.detect()
    assert uncached.detections == 2


def _slow_init(monkeypatch: pytest.MonkeyPatch) -> None:
    original: Callable[..., None] = hw.HardwareDetector.__init__

    def slow_init(self: hw.HardwareDetector, use_cache: bool = True) -> None:
        time.sleep(0.05)  # a constructor doing I/O widens the race window
        original(self, use_cache)

    monkeypatch.setattr(hw.HardwareDetector, "__init__", slow_init)


def test_get_detector_gives_one_detector_to_100_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_init(monkeypatch)
    detectors = run_together(lambda _i: hw.get_detector(), 100)
    assert len({id(d) for d in detectors}) == 1


_unsafe_detector: hw.HardwareDetector | None = None


def _get_detector_upstream_style() -> hw.HardwareDetector:
    """The unsafe twin: upstream's unlocked check-then-act."""
    global _unsafe_detector
    if _unsafe_detector is None:
        _unsafe_detector = hw.HardwareDetector()
    return _unsafe_detector


def test_the_same_check_catches_the_upstream_singleton(monkeypatch: pytest.MonkeyPatch) -> None:
    global _unsafe_detector
    _unsafe_detector = None
    _slow_init(monkeypatch)
    detectors = run_together(lambda _i: _get_detector_upstream_style(), 100)
    assert len({id(d) for d in detectors}) > 1


def test_concurrent_detect_runs_one_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    detector = hw.HardwareDetector()
    original = detector._detect_uncached

    def slow_detect() -> hw.SystemInfo:
        time.sleep(0.05)
        return original()

    monkeypatch.setattr(detector, "_detect_uncached", slow_detect)
    results = run_together(lambda _i: detector.detect(), 100)
    assert detector.detections == 1
    assert len({id(r) for r in results}) == 1


def test_gpus_come_from_lspci_and_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {
        "lspci": (
            '01:00.0 "VGA compatible controller" "NVIDIA Corporation" "GA102 [RTX 3090]"\n'
            '02:00.0 "Display controller" "Advanced Micro Devices, Inc. [AMD/ATI]" "Navi 21"\n'
            '00:1f.3 "Audio device" "Intel Corporation" "Cannon Lake PCH"\n'
        ),
        "nvidia-smi": "NVIDIA GeForce RTX 3090, 24576, 550.54.14, 00000000:01:00.0, 8.6\n",
    }
    monkeypatch.setattr(hw, "_run", lambda argv: outputs.get(argv[0], ""))
    gpus = hw._detect_gpus()
    assert [g.vendor for g in gpus] == [hw.GPUVendor.AMD, hw.GPUVendor.NVIDIA]
    nvidia = gpus[1]
    assert nvidia.memory_mb == 24576
    assert nvidia.driver_version == "550.54.14"
    assert nvidia.compute_capability == "8.6"


def test_no_gpu_tools_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert hw._run(["lspci"]) == ""
    assert hw._detect_gpus() == []


def test_missing_proc_files_give_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hw, "_read_text", lambda _path: "")
    assert hw._detect_memory() == hw.MemoryInfo()
    assert hw._uptime_seconds() == 0
    assert hw._detect_cpu().cores >= 1  # falls back to os.cpu_count()
