"""The import benchmark measures the import, not itself."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "process_usage.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("process_usage", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux /proc only")
def test_worker_memory_watcher_reads_only_the_status_of_its_own_children(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The watcher runs in the measured process every 50 ms: reading every process's status
    # file on a busy machine charged seconds of CPU to the import.
    bench = _bench()
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    read: list[Path] = []
    real_read_text = Path.read_text

    def counting_read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "status":
            read.append(self)
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    try:
        monkeypatch.setattr(Path, "read_text", counting_read_text)
        with bench.ChildPeakWatcher() as watcher:
            deadline = time.monotonic() + 10
            while not read and time.monotonic() < deadline:
                time.sleep(0.01)
        # Other children may live as long as this process (multiprocessing's resource
        # tracker, once an earlier test has used a process pool): those are read too.
        children = {
            pid for listing in Path("/proc/self/task").glob("*/children")
            for pid in listing.read_text().split()
        }  # fmt: skip
    finally:
        child.communicate(b"")
    assert str(child.pid) in {p.parent.name for p in read}
    assert {p.parent.name for p in read} <= children
    assert watcher.peak is not None and watcher.peak > 0
