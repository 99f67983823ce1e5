"""Hardware detection: CPU, GPU, memory, storage, network and virtualisation.

A drop-in for upstream Cortex's ``cortex.hardware_detection`` (same public names and
defaults). What differs is the thread safety:

* :func:`get_detector` returns one process-wide :class:`HardwareDetector`, created under a
  lock (:class:`~cortex.utils.thread_utils.LazySingleton`). Upstream's check-then-act
  singleton builds more than one detector when threads ask at once
  (``notebooks/01-singletons.ipynb`` forces the race and counts the instances).
* :meth:`HardwareDetector.detect` is single-flight: many threads asking at once cause one
  detection, and all of them get the same immutable-by-convention :class:`SystemInfo`.
* The on-disk cache (``~/.cortex/hardware_cache.json``, one hour) is read and written under
  the shared per-path lock (:func:`cortex.utils.file_lock.path_lock`, which also excludes
  other processes) and replaced atomically, so no reader ever sees a torn file and a crash
  leaves the old cache or the new one. Upstream locked per instance and truncated the file
  before dumping into it. A corrupt or truncated cache (say, from upstream's writer) is
  reported once with ``logging`` and rewritten.

Everything is read from ``/proc``, ``/sys`` and :mod:`os`; GPUs come from ``lspci`` and
``nvidia-smi`` when those programs exist, and are simply absent when they do not. External
programs are run with an argument list and a timeout, never through a shell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import platform
import shutil
import socket
import threading
import time
import typing
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from cortex.utils.atomic_file import ensure_private_dir
from cortex.utils.commands import program_output
from cortex.utils.file_lock import FileLockTimeout, path_lock
from cortex.utils.locked_file import CorruptFileError, read_json, write_json
from cortex.utils.thread_utils import LazySingleton, SingleFlight, at_fork_reinit

__all__ = [
    "CACHE_FILENAME",
    "CACHE_MAX_AGE_S",
    "CACHE_PATH",
    "CPUInfo",
    "CPUVendor",
    "GPUInfo",
    "GPUVendor",
    "HardwareDetector",
    "MemoryInfo",
    "NetworkInfo",
    "StorageInfo",
    "SystemInfo",
    "default_cache_path",
    "detect_hardware",
    "detect_quick",
    "get_cpu_cores",
    "get_detector",
    "get_gpu_info",
    "get_ram_gb",
    "has_nvidia_gpu",
]

logger = logging.getLogger(__name__)

CACHE_FILENAME = "hardware_cache.json"
"""Name of the on-disk cache inside the Cortex directory (``~/.cortex``)."""
CACHE_MAX_AGE_S = 3600.0
"""A cache older than this (one hour, as upstream) is ignored and replaced."""
CACHE_PATH: Path | None = None
"""Where the cache lives; ``None`` means ``~/.cortex/hardware_cache.json`` (read when a
detector is created, from ``$HOME``). Tests point it at a temporary directory."""
_CACHE_FORMAT = 1

_COMMAND_TIMEOUT_S = 5.0
_REAL_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "vfat", "exfat", "ntfs", "ntfs3"}
)


class GPUVendor(Enum):
    """Who made a GPU."""

    NVIDIA = "nvidia"
    AMD = "amd"
    INTEL = "intel"
    UNKNOWN = "unknown"


class CPUVendor(Enum):
    """Who made the CPU."""

    INTEL = "intel"
    AMD = "amd"
    ARM = "arm"
    UNKNOWN = "unknown"


def _enum_aware_dict(obj: Any) -> dict[str, Any]:
    """``dataclasses.asdict`` with enums turned into their values (JSON-ready)."""

    def convert(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    result: dict[str, Any] = convert(asdict(obj))
    return result


@dataclass
class CPUInfo:
    """The CPU model, its vendor and core counts."""

    vendor: CPUVendor = CPUVendor.UNKNOWN
    model: str = "Unknown"
    cores: int = 0
    threads: int = 0
    frequency_mhz: float = 0.0
    architecture: str = "x86_64"
    features: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return _enum_aware_dict(self)


@dataclass
class GPUInfo:
    """One GPU as seen by ``lspci`` and, for NVIDIA, ``nvidia-smi``."""

    vendor: GPUVendor = GPUVendor.UNKNOWN
    model: str = "Unknown"
    memory_mb: int = 0
    driver_version: str = ""
    cuda_version: str = ""
    compute_capability: str = ""
    pci_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return _enum_aware_dict(self)


@dataclass
class MemoryInfo:
    """RAM and swap, in MiB, from ``/proc/meminfo``."""

    total_mb: int = 0
    available_mb: int = 0
    swap_total_mb: int = 0
    swap_free_mb: int = 0

    @property
    def total_gb(self) -> float:
        """Total RAM in GiB."""
        return round(self.total_mb / 1024, 1)

    @property
    def available_gb(self) -> float:
        """Available RAM in GiB."""
        return round(self.available_mb / 1024, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, including the GiB figures."""
        return {**asdict(self), "total_gb": self.total_gb, "available_gb": self.available_gb}


@dataclass
class StorageInfo:
    """One mounted filesystem."""

    device: str = ""
    mount_point: str = ""
    filesystem: str = ""
    total_gb: float = 0.0
    used_gb: float = 0.0
    available_gb: float = 0.0

    @property
    def usage_percent(self) -> float:
        """Used space as a percentage of the total (0 for an empty filesystem)."""
        return round(100.0 * self.used_gb / self.total_gb, 1) if self.total_gb else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, including the usage percentage."""
        return {**asdict(self), "usage_percent": self.usage_percent}


@dataclass
class NetworkInfo:
    """One network interface (loopback excluded)."""

    interface: str = ""
    ip_address: str = ""
    mac_address: str = ""
    speed_mbps: int = 0
    is_wireless: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


@dataclass
class SystemInfo:
    """Everything :class:`HardwareDetector` found.

    Treat a returned instance as read-only: the detector hands the same object to every
    thread that asked at the same time.
    """

    hostname: str = ""
    kernel_version: str = ""
    distro: str = ""
    distro_version: str = ""
    uptime_seconds: int = 0
    cpu: CPUInfo = field(default_factory=CPUInfo)
    gpu: list[GPUInfo] = field(default_factory=list)
    memory: MemoryInfo = field(default_factory=MemoryInfo)
    storage: list[StorageInfo] = field(default_factory=list)
    network: list[NetworkInfo] = field(default_factory=list)
    has_nvidia_gpu: bool = False
    has_amd_gpu: bool = False
    cuda_available: bool = False
    rocm_available: bool = False
    virtualization: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of every field."""
        return {
            "hostname": self.hostname,
            "kernel_version": self.kernel_version,
            "distro": self.distro,
            "distro_version": self.distro_version,
            "uptime_seconds": self.uptime_seconds,
            "cpu": self.cpu.to_dict(),
            "gpu": [g.to_dict() for g in self.gpu],
            "memory": self.memory.to_dict(),
            "storage": [s.to_dict() for s in self.storage],
            "network": [n.to_dict() for n in self.network],
            "has_nvidia_gpu": self.has_nvidia_gpu,
            "has_amd_gpu": self.has_amd_gpu,
            "cuda_available": self.cuda_available,
            "rocm_available": self.rocm_available,
            "virtualization": self.virtualization,
        }


# --------------------------------------------------------------------------------------
# Readers: each returns a default rather than raising when a source is missing.
# --------------------------------------------------------------------------------------


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# Output of a program, or "" if it is missing, fails or times out. Never a shell. A module
# global, called through the module, so that tests can replace it.
_run = functools.partial(program_output, timeout=_COMMAND_TIMEOUT_S)


def _key_values(text: str, sep: str = ":") -> dict[str, str]:
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(sep)
        if found:
            result.setdefault(key.strip(), value.strip())
    return result


def _detect_cpu() -> CPUInfo:
    text = _read_text("/proc/cpuinfo")
    first = _key_values(text.split("\n\n", 1)[0])
    vendor_id = first.get("vendor_id", "").lower()
    if "intel" in vendor_id:
        vendor = CPUVendor.INTEL
    elif "amd" in vendor_id:
        vendor = CPUVendor.AMD
    elif "CPU implementer" in first or platform.machine().startswith(("arm", "aarch")):
        vendor = CPUVendor.ARM
    else:
        vendor = CPUVendor.UNKNOWN
    cores_seen: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        kv = _key_values(block)
        if "core id" in kv:
            cores_seen.add((kv.get("physical id", "0"), kv["core id"]))
    threads = os.cpu_count() or 0
    try:
        frequency = float(first.get("cpu MHz", "0") or 0)
    except ValueError:
        frequency = 0.0
    return CPUInfo(
        vendor=vendor,
        model=first.get("model name") or first.get("Model") or platform.processor() or "Unknown",
        cores=len(cores_seen) or threads,
        threads=threads,
        frequency_mhz=frequency,
        architecture=platform.machine() or "unknown",
        features=sorted((first.get("flags") or first.get("Features") or "").split()),
    )


def _detect_memory() -> MemoryInfo:
    info = _key_values(_read_text("/proc/meminfo"))

    def mib(key: str) -> int:
        digits = info.get(key, "0 kB").split()[0]
        return int(digits) // 1024 if digits.isdigit() else 0

    return MemoryInfo(
        total_mb=mib("MemTotal"),
        available_mb=mib("MemAvailable"),
        swap_total_mb=mib("SwapTotal"),
        swap_free_mb=mib("SwapFree"),
    )


def _detect_storage() -> list[StorageInfo]:
    found: list[StorageInfo] = []
    seen_devices: set[str] = set()
    for line in _read_text("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        device, mount_point, filesystem = parts[0], parts[1], parts[2]
        if filesystem not in _REAL_FILESYSTEMS or device in seen_devices:
            continue
        try:
            st = os.statvfs(mount_point)
        except OSError:
            continue
        seen_devices.add(device)
        gib = 1024**3
        total = st.f_blocks * st.f_frsize / gib
        available = st.f_bavail * st.f_frsize / gib
        used = (st.f_blocks - st.f_bfree) * st.f_frsize / gib
        found.append(
            StorageInfo(
                device=device,
                mount_point=mount_point,
                filesystem=filesystem,
                total_gb=round(total, 1),
                used_gb=round(used, 1),
                available_gb=round(available, 1),
            )
        )
    return found


def _interface_ipv4(name: str) -> str:
    """IPv4 address of an interface via ``SIOCGIFADDR``, or ``""``."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
        import struct  # noqa: PLC0415

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))
        return socket.inet_ntoa(packed[20:24])
    except (OSError, ImportError):
        return ""


def _detect_network() -> list[NetworkInfo]:
    base = Path("/sys/class/net")
    if not base.is_dir():
        return []
    interfaces: list[NetworkInfo] = []
    for entry in sorted(base.iterdir()):
        if entry.name == "lo":
            continue
        speed_text = _read_text(entry / "speed").strip()
        interfaces.append(
            NetworkInfo(
                interface=entry.name,
                ip_address=_interface_ipv4(entry.name),
                mac_address=_read_text(entry / "address").strip(),
                speed_mbps=int(speed_text) if speed_text.isdigit() else 0,
                is_wireless=(entry / "wireless").exists(),
            )
        )
    return interfaces


def _gpu_vendor(description: str) -> GPUVendor:
    lowered = description.lower()
    if "nvidia" in lowered:
        return GPUVendor.NVIDIA
    if "amd" in lowered or "ati " in lowered or "advanced micro devices" in lowered:
        return GPUVendor.AMD
    if "intel" in lowered:
        return GPUVendor.INTEL
    return GPUVendor.UNKNOWN


def _detect_gpus() -> list[GPUInfo]:
    gpus: list[GPUInfo] = []
    for line in _run(["lspci", "-mm"]).splitlines() or _run(["lspci"]).splitlines():
        if not any(k in line for k in ("VGA", "3D controller", "Display controller")):
            continue
        pci_id = line.split(maxsplit=1)[0]
        description = line.split(":", 2)[-1].replace('"', "").strip()
        gpus.append(GPUInfo(vendor=_gpu_vendor(line), model=description, pci_id=pci_id))
    smi = _run(
        [
            "nvidia-smi",
            "--query-gpu=name,memory.total,driver_version,pci.bus_id,compute_cap",
            "--format=csv,noheader,nounits",
        ]
    )
    nvidia_rows = [[c.strip() for c in row.split(",")] for row in smi.splitlines() if row.strip()]
    if nvidia_rows:
        # nvidia-smi knows more than lspci: replace the NVIDIA entries with its rows.
        gpus = [g for g in gpus if g.vendor is not GPUVendor.NVIDIA]
        for row in nvidia_rows:
            name, memory, driver, bus_id, capability = (row + [""] * 5)[:5]
            gpus.append(
                GPUInfo(
                    vendor=GPUVendor.NVIDIA,
                    model=name,
                    memory_mb=int(float(memory)) if memory.replace(".", "", 1).isdigit() else 0,
                    driver_version=driver,
                    compute_capability=capability,
                    pci_id=bus_id,
                )
            )
    return gpus


def _detect_virtualization(cpu: CPUInfo) -> str:
    virt = _run(["systemd-detect-virt"]).strip()
    if virt and virt != "none":
        return virt
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return "container"
    product = _read_text("/sys/class/dmi/id/product_name").strip().lower()
    for name in ("kvm", "qemu", "vmware", "virtualbox", "xen", "hyper-v"):
        if name in product:
            return name
    return "vm" if "hypervisor" in cpu.features else ""


def _detect_distro() -> tuple[str, str]:
    release = {k: v.strip('"') for k, v in _key_values(_read_text("/etc/os-release"), "=").items()}
    return release.get("NAME", platform.system()), release.get("VERSION_ID", "")


def _uptime_seconds() -> int:
    first = _read_text("/proc/uptime").split(" ", 1)[0]
    try:
        return int(float(first))
    except ValueError:
        return 0


# --------------------------------------------------------------------------------------
# The detector
# --------------------------------------------------------------------------------------


def default_cache_path() -> Path:
    """The cache file a new :class:`HardwareDetector` uses: :data:`CACHE_PATH` if set,
    else ``~/.cortex/hardware_cache.json``."""
    if CACHE_PATH is not None:
        return Path(CACHE_PATH)
    return Path.home() / ".cortex" / CACHE_FILENAME


def _field_value(where: str, hint: Any, value: Any) -> Any:
    """``value`` checked against the field's type ``hint`` (a float field takes an int).

    Raises:
        TypeError: the value has another type; the message names the field (``where``).
    """
    found = type(value).__name__
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # built by the caller
        if isinstance(value, hint):
            return value
        raise TypeError(f"{where} must be an object, found a {found}")
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            raise TypeError(f"{where} is not a known {hint.__name__}: {value!r}") from None
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"{where} must be a number, found a {found}")
    if hint in (int, str, bool):
        if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
            return value
        raise TypeError(f"{where} must be a {hint.__name__}, found a {found}")
    if getattr(hint, "__origin__", None) is list:
        (item,) = hint.__args__
        if not isinstance(value, list):
            raise TypeError(f"{where} must be a list, found a {found}")
        return [_field_value(f"{where}[{n}]", item, v) for n, v in enumerate(value)]
    raise TypeError(f"{where}: unsupported field type {hint!r}")  # pragma: no cover


def _build(cls: type[Any], data: Any, where: str) -> Any:
    """A dataclass from a mapping, every field's type checked; derived keys are dropped.

    Nested dataclass fields (``SystemInfo.cpu``, ``.gpu``...) are built by the caller and
    passed in already built; any other field must hold its annotated type.

    Raises:
        TypeError: the mapping is not an object, or a field has the wrong type.
    """
    if not isinstance(data, dict):
        raise TypeError(f"{where} must be an object, found a {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue  # an older cache: the field's default
        values[f.name] = _field_value(f"{where}.{f.name}", hints[f.name], data[f.name])
    return cls(**values)


def _items(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise TypeError(f"system_info.{key} must be a list, found a {type(value).__name__}")
    return value


def _system_info_from_dict(data: Any) -> SystemInfo:
    """Rebuild a :class:`SystemInfo` from :meth:`SystemInfo.to_dict` output.

    Every field is checked against its annotation, so a cache that parses but holds, say,
    ``"memory": {"total_mb": "lots"}`` is refused here instead of failing later in
    :func:`get_ram_gb`.

    Raises:
        TypeError, KeyError: the mapping does not have that shape (the message names the
            field).
    """
    if not isinstance(data, dict):
        raise TypeError("system_info is not an object")
    kinds = {"gpu": GPUInfo, "storage": StorageInfo, "network": NetworkInfo}
    sections = {
        key: [
            _build(kind, item, f"system_info.{key}[{n}]")
            for n, item in enumerate(_items(data, key))
        ]
        for key, kind in kinds.items()
    }
    info: SystemInfo = _build(
        SystemInfo,
        {
            **data,
            **sections,
            "cpu": _build(CPUInfo, data["cpu"], "system_info.cpu"),
            "memory": _build(MemoryInfo, data["memory"], "system_info.memory"),
        },
        "system_info",
    )
    return info


# Cache file states already reported as corrupt: (path, inode, mtime_ns, size). A file is
# reported once however many threads or detectors read it; a new corruption is new state.
_reported_corrupt: set[tuple[str, int, int, int]] = set()
# Guards _reported_corrupt (check-then-add must be one step).
_reported_lock = threading.Lock()


@at_fork_reinit
def _reinit_after_fork() -> None:  # pragma: no cover - runs in forked children
    """A forked child gets a fresh lock: a parent thread may have held the old one."""
    global _reported_lock  # noqa: PLW0603
    _reported_lock = threading.Lock()


def _report_corrupt_once(path: Path, error: Exception) -> None:
    try:
        st = path.stat()
    except OSError:
        return
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    with _reported_lock:
        if key in _reported_corrupt:
            return
        _reported_corrupt.add(key)
    logger.warning("hardware cache %s is unusable and will be rewritten: %s", path, error)


class HardwareDetector:
    """Detects the machine's hardware; one detection is shared by concurrent callers.

    Args:
        use_cache: keep the last :class:`SystemInfo` in memory and in the on-disk cache
            (``~/.cortex/hardware_cache.json``, at most :data:`CACHE_MAX_AGE_S` old) and
            return it until ``detect(force_refresh=True)``. With ``False`` every call
            detects and the disk cache is neither read nor written.
        cache_path: the cache file (default: :func:`default_cache_path`). Not in
            upstream's signature; keyword-only so upstream calls keep working.
    """

    def __init__(
        self, use_cache: bool = True, *, cache_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.use_cache = use_cache
        self.cache_path = Path(cache_path) if cache_path is not None else default_cache_path()
        """The on-disk cache this detector reads and writes."""
        # Guards _cached and the counters: _cached is replaced as a whole, never
        # mutated, so readers need no lock.
        self._cached_lock = threading.Lock()
        self._cached: SystemInfo | None = None
        self._flight: SingleFlight[str, SystemInfo] = SingleFlight()
        self.detections = 0
        """How many results this detector has produced, counting full detections and loads
        of the on-disk cache (each load stands for one detection, here or in another
        process)."""
        self.cache_loads = 0
        """How many of :attr:`detections` were loads of a fresh on-disk cache."""

    def _reinit_after_fork(self) -> None:  # pragma: no cover - runs in forked children
        """In a forked child (called for the shared detector): a fresh lock, as a parent
        thread may have held the old one. The flight is reset by :mod:`thread_utils`."""
        self._cached_lock = threading.Lock()

    def detect(self, force_refresh: bool = False) -> SystemInfo:
        """Detect everything, or return the remembered result.

        Order: the result in memory, then a fresh on-disk cache, then a detection (whose
        result is written to the disk cache). Concurrent callers share one flight; the
        result is published whole, so no caller ever sees a half-filled
        :class:`SystemInfo`. Problems with the disk cache (corrupt, unwritable, lock
        timeout) are logged and never make :meth:`detect` fail.
        """
        reuse = self.use_cache and not force_refresh
        if reuse:
            cached = self._cached
            if cached is not None:
                return cached
        # A caller that forces a refresh must not be handed a cached result, so the two
        # kinds of request fly under different keys.
        key = "reuse" if reuse else "refresh"
        return self._flight.do(key, lambda: self._detect_and_remember(reuse))

    def _detect_and_remember(self, reuse: bool) -> SystemInfo:
        # Check again inside the flight: a previous flight may have finished between the
        # caller's lock-free read and this call.
        if reuse and (cached := self._cached) is not None:
            return cached
        info = self._load_disk_cache() if reuse else None  # lock-free: files are atomic
        if info is not None:
            loaded = True
        elif self.use_cache:
            info, loaded = self._detect_under_file_lock(reuse)
        else:
            info, loaded = self._detect_uncached(), False
        with self._cached_lock:
            self._cached = info
            self.detections += 1
            if loaded:
                self.cache_loads += 1
        return info

    def _detect_under_file_lock(self, reuse: bool) -> tuple[SystemInfo, bool]:
        """Detect and write the cache while holding its lock; True if loaded instead.

        Holding the lock across the detection makes it single-flight across processes:
        a second process waits, then finds the fresh cache instead of detecting again.
        """
        try:
            ensure_private_dir(self.cache_path.parent)
            lock = path_lock(self.cache_path)
            lock.acquire()
        except (OSError, FileLockTimeout) as exc:
            logger.warning("hardware cache %s unavailable: %s", self.cache_path, exc)
            return self._detect_uncached(), False
        try:
            if reuse and (info := self._load_disk_cache()) is not None:
                return info, True  # another process detected while we waited
            info = self._detect_uncached()
            document = {"format": _CACHE_FORMAT, "written_at": time.time()}
            try:
                write_json(self.cache_path, {**document, "system_info": info.to_dict()})
            except OSError as exc:
                logger.warning("could not write hardware cache %s: %s", self.cache_path, exc)
            return info, False
        finally:
            lock.release()

    def _load_disk_cache(self) -> SystemInfo | None:
        """The cached :class:`SystemInfo` if the file exists, parses and is fresh."""
        try:
            document = read_json(self.cache_path, default={})
            if not document:
                return None  # no cache yet
            if document.get("format") != _CACHE_FORMAT:
                raise CorruptFileError(self.cache_path, "unknown cache format")
            written_at = document["written_at"]
            if not isinstance(written_at, (int, float)) or isinstance(written_at, bool):
                raise CorruptFileError(self.cache_path, "written_at is not a number")
            info = _system_info_from_dict(document["system_info"])
        except (CorruptFileError, KeyError, TypeError, ValueError) as exc:
            _report_corrupt_once(self.cache_path, exc)
            return None
        except OSError as exc:
            logger.warning("could not read hardware cache %s: %s", self.cache_path, exc)
            return None
        age = time.time() - written_at
        if not -60.0 <= age <= CACHE_MAX_AGE_S:  # stale, or written by a clock far ahead
            logger.debug("hardware cache %s is %.0f s old: detecting again", self.cache_path, age)
            return None
        return info

    def _detect_uncached(self) -> SystemInfo:
        cpu = _detect_cpu()
        gpus = _detect_gpus()
        distro, distro_version = _detect_distro()
        has_nvidia = any(g.vendor is GPUVendor.NVIDIA for g in gpus)
        return SystemInfo(
            hostname=socket.gethostname(),
            kernel_version=platform.release(),
            distro=distro,
            distro_version=distro_version,
            uptime_seconds=_uptime_seconds(),
            cpu=cpu,
            gpu=gpus,
            memory=_detect_memory(),
            storage=_detect_storage(),
            network=_detect_network(),
            has_nvidia_gpu=has_nvidia,
            has_amd_gpu=any(g.vendor is GPUVendor.AMD for g in gpus),
            cuda_available=has_nvidia and shutil.which("nvidia-smi") is not None,
            rocm_available=Path("/opt/rocm").is_dir(),
            virtualization=_detect_virtualization(cpu),
        )

    def detect_quick(self) -> dict[str, Any]:
        """The few facts an install plan needs, without running external programs."""
        memory = _detect_memory()
        cpu_cores = os.cpu_count() or 0
        with contextlib.suppress(OSError):
            cpu_cores = len(os.sched_getaffinity(0))
        return {
            "cpu_cores": cpu_cores,
            "ram_gb": memory.total_gb,
            "has_nvidia": Path("/proc/driver/nvidia").exists(),
            "disk_free_gb": round(shutil.disk_usage("/").free / 1024**3, 1),
        }


_detector: LazySingleton[HardwareDetector] = LazySingleton(
    HardwareDetector, name="hardware_detection.get_detector"
)


def get_detector() -> HardwareDetector:
    """The process-wide :class:`HardwareDetector`; exactly one, whatever the concurrency."""
    return _detector.get()


def detect_hardware(force_refresh: bool = False) -> SystemInfo:
    """Detect the hardware with the shared detector."""
    return get_detector().detect(force_refresh=force_refresh)


def detect_quick() -> dict[str, Any]:
    """Quick facts (cores, RAM, NVIDIA driver present, free disk) with the shared detector."""
    return get_detector().detect_quick()


def get_gpu_info() -> list[GPUInfo]:
    """The GPUs found, or an empty list."""
    return detect_hardware().gpu


def has_nvidia_gpu() -> bool:
    """True when an NVIDIA GPU was found."""
    return detect_hardware().has_nvidia_gpu


def get_ram_gb() -> float:
    """Total RAM in GiB."""
    return detect_hardware().memory.total_gb


def get_cpu_cores() -> int:
    """Physical CPU cores (hardware threads where cores cannot be told apart)."""
    return detect_hardware().cpu.cores
