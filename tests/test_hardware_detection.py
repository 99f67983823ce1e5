"""Hardware detection: real readings, the singleton race and single-flight detection."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import cortex.hardware_detection as hw
from cortex.demos.files import count_detections
from cortex.demos.harness import run_together
from cortex.demos.interleavings import check_fix, show_race, start_together
from cortex.utils.thread_utils import LazySingleton

EXPLORES = pytest.mark.thread_unsafe(
    reason="explores interleavings: one exploration or preemption block per process at a time"
)

UTILS = "cortex.utils.thread_utils"


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


def _two_callers(get: Callable[[], hw.HardwareDetector]) -> None:
    got: list[hw.HardwareDetector] = []
    start_together(lambda: got.append(get()), lambda: got.append(get()))
    assert got[0] is got[1], "two detectors"


@EXPLORES
def test_get_detector_holds_under_every_explored_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def model() -> None:
        # A fresh holder per schedule, made inside the run (its lock is the scheduler's).
        monkeypatch.setattr(hw, "_detector", LazySingleton(hw.HardwareDetector))
        _two_callers(hw.get_detector)

    check = check_fix(model, targets=["cortex.hardware_detection", UTILS], budget=50)
    assert check.held, check.error


@pytest.mark.twin
def test_the_same_check_catches_the_upstream_singleton() -> None:
    def model() -> None:
        global _unsafe_detector
        _unsafe_detector = None
        _two_callers(_get_detector_upstream_style)

    report = show_race(model, targets=["*test_hardware_detection"], budget=100)
    assert report.found, report.details()


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


# --------------------------------------------------------------------------------------
# The on-disk cache (~/.cortex/hardware_cache.json), always redirected to tmp_path here.
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real ~/.cortex: HOME and the cache path point into tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cache = tmp_path / "cortex" / "hardware_cache.json"
    monkeypatch.setattr(hw, "CACHE_PATH", cache)
    return cache


def _fake_detection(detector: hw.HardwareDetector, window: float = 0.0) -> None:
    def detect() -> hw.SystemInfo:
        time.sleep(window)
        return hw.SystemInfo(hostname="cached-host", cpu=hw.CPUInfo(cores=4, threads=8))

    detector._detect_uncached = detect  # type: ignore[method-assign]


def test_default_cache_path_is_under_home_cortex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hw, "CACHE_PATH", None)
    assert hw.default_cache_path() == Path.home() / ".cortex" / "hardware_cache.json"
    assert str(Path.home()).startswith(os.environ["HOME"])


def test_detect_writes_acache_file_that_a_new_detector_loads(cache_file: Path) -> None:
    first = hw.HardwareDetector()
    _fake_detection(first)
    info = first.detect()
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file.parent.stat().st_mode) == 0o700
    document = json.loads(cache_file.read_text())
    assert document["format"] == 1
    assert document["system_info"]["hostname"] == "cached-host"
    second = hw.HardwareDetector()  # as a new process would: nothing in memory
    loaded = second.detect()
    assert (second.detections, second.cache_loads) == (1, 1)
    assert loaded.to_dict() == info.to_dict()
    assert loaded.cpu.vendor is hw.CPUVendor.UNKNOWN  # enums rebuilt, not strings


def test_a_real_detection_round_trips_through_the_cache() -> None:
    info = hw.HardwareDetector().detect()
    again = hw.HardwareDetector().detect()
    assert again.to_dict() == info.to_dict()


def test_a_stale_cache_is_detected_again_and_rewritten(cache_file: Path) -> None:
    _fake_detection(detector := hw.HardwareDetector())
    detector.detect()
    document = json.loads(cache_file.read_text())
    document["written_at"] -= hw.CACHE_MAX_AGE_S + 1
    cache_file.write_text(json.dumps(document))
    fresh = hw.HardwareDetector()
    _fake_detection(fresh)
    fresh.detect()
    assert (fresh.detections, fresh.cache_loads) == (1, 0)
    assert json.loads(cache_file.read_text())["written_at"] > document["written_at"]


def test_use_cache_false_neither_reads_nor_writes_the_file(cache_file: Path) -> None:
    detector = hw.HardwareDetector(use_cache=False)
    _fake_detection(detector)
    detector.detect()
    assert not cache_file.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b'{"format": 1, "written_at": 1', b"\xff\xfe\x00garbage", b'{"format": 1}', b"[1, 2]"],
    ids=["empty", "truncated", "non-utf8", "missing-keys", "wrong-shape"],
)
def test_a_corrupt_cache_is_reported_once_and_rewritten(
    cache_file: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(content)
    detectors = [hw.HardwareDetector() for _ in range(20)]
    for detector in detectors:
        _fake_detection(detector, window=0.01)
    with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
        run_together(lambda i: detectors[i % 20].detect(), 100)
    warnings = [r for r in caplog.records if "hardware cache" in r.getMessage()]
    assert len(warnings) == 1
    assert str(cache_file) in warnings[0].getMessage()
    assert sum(d.detections - d.cache_loads for d in detectors) == 1  # the rest loaded it
    assert json.loads(cache_file.read_text())["system_info"]["hostname"] == "cached-host"


def test_an_unwritable_cache_directory_does_not_break_detection(
    cache_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_file.parent.parent.mkdir(parents=True, exist_ok=True)
    cache_file.parent.write_text("a file where the directory should be")
    detector = hw.HardwareDetector()
    _fake_detection(detector)
    with caplog.at_level(logging.WARNING, logger="cortex.hardware_detection"):
        assert detector.detect().hostname == "cached-host"
    assert any("unavailable" in r.getMessage() for r in caplog.records)


def test_many_detectors_in_threads_share_one_detection(tmp_path: Path) -> None:
    assert count_detections("safe", tmp_path, threads=50) == 1


@pytest.mark.twin
def test_the_same_check_catches_per_instance_cache_locks(tmp_path: Path) -> None:
    assert count_detections("unsafe", tmp_path, threads=50) > 1


def test_several_processes_share_one_detection(tmp_path: Path) -> None:
    assert count_detections("safe", tmp_path, processes=3) == 1


@pytest.mark.twin
def test_the_same_check_catches_processes_without_a_file_lock(tmp_path: Path) -> None:
    assert count_detections("unsafe", tmp_path, processes=3) > 1
