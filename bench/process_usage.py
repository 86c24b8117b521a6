"""Peak RSS and CPU time of a measuring process and of its children."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _vm_hwm() -> int | None:
    """Linux: this process's own high-water RSS (VmHWM); None where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    On Linux VmHWM, not ru_maxrss: a child started with vfork inherits its parent's peak in
    ru_maxrss (and the parent here has read every bundle while counting them).
    """
    hwm = _vm_hwm()
    if hwm is not None:
        return hwm
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        info = psutil.Process().memory_info()
        return int(getattr(info, "peak_wset", info.rss))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS bytes, else KiB


def reset_work_peak() -> bool:
    """Start a new high-water mark (Linux only), so setup (the KDF) is not in the work peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def work_peak_bytes(was_reset: bool) -> int | None:
    """The high-water RSS since `reset_work_peak`; None where it cannot be reset."""
    return _vm_hwm() if was_reset else None


def stopped_clocks(
    started: float, cpu_started: float, was_reset: bool
) -> tuple[float, float, int | None]:
    """Wall and CPU seconds since `started` and `cpu_started` (perf_counter, process_time),
    and the peak RSS of the timed work (`work_peak_bytes`)."""
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    return seconds, cpu_seconds, work_peak_bytes(was_reset)


def finished_children_cpu_seconds() -> float:
    """CPU time of this process's finished children (the importer's worker process, if any)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ChildPeakWatcher:
    """Linux: the largest VmHWM seen among this process's children (the importer's worker),
    read every 50 ms until stopped; None where /proc is missing or there were no children."""

    def __init__(self) -> None:
        import threading

        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while True:
            for status in child_status_files():
                try:
                    text = status.read_text()
                except OSError:  # the child has just ended
                    continue
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        hwm = int(line.split()[1]) * 1024
                        self.peak = max(self.peak or 0, hwm)
            if self._stop.wait(0.05):
                return


def child_status_files() -> list[Path]:
    """Linux: the /proc status file of each child of this process, found through each thread's
    `children` list. Reading every process's status instead (as this bench once did) cost
    ~0.07 s of CPU per second on a busy machine, charged to the import being measured."""
    found: list[Path] = []
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:
            continue
        found.extend(Path("/proc", pid, "status") for pid in pids)
    return found
