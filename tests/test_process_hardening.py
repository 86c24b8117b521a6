"""`phr` and `phr-desktop` turn core dumps off before anything else, so a crash cannot write
the unlocked data key to disk. Each entry point is run in a fresh process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="checks Linux's prctl and rlimit"
)

# Allows core files (soft limit up to the hard one), checks the process starts dumpable, runs
# the entry point's main() as far as `--version`, then reports the limit and the flag.
PROBE = """\
import ctypes, resource, sys
PR_GET_DUMPABLE = 3
libc = ctypes.CDLL(None)
soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
before = (resource.getrlimit(resource.RLIMIT_CORE)[0], libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
if sys.argv[1] == "phr":
    from phr_desktop.cli import main
else:
    from phr_desktop.app import main
try:
    main(["--version"])
except SystemExit:
    pass
after = (resource.getrlimit(resource.RLIMIT_CORE)[0], libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
print("BEFORE", *before, file=sys.stderr)
print("AFTER", *after, file=sys.stderr)
if len(sys.argv) > 2:
    import os
    os.abort()
"""


def _run(entry: str, *extra: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, entry, *extra],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _line(stderr: str, tag: str) -> list[int]:
    (line,) = [text for text in stderr.splitlines() if text.startswith(tag)]
    return [int(part) for part in line.split()[1:]]


@pytest.mark.parametrize("entry", ["phr", "phr-desktop"])
def test_the_entry_point_turns_core_dumps_off_before_it_parses_anything(entry: str) -> None:
    result = _run(entry)
    assert result.returncode == 0, result.stderr
    assert _line(result.stderr, "BEFORE")[1] == 1  # the process started dumpable
    assert _line(result.stderr, "AFTER") == [0, 0]  # no core size, not dumpable


def test_a_crash_after_start_writes_no_core_file(tmp_path: Path) -> None:
    result = _run("phr", "crash", cwd=tmp_path)
    assert result.returncode == -signal.SIGABRT
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("core")]


def test_hardening_says_what_it_did() -> None:
    code = "from phr_desktop.process_hardening import harden_process; print(harden_process())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "PR_SET_DUMPABLE=0" in out and "RLIMIT_CORE=0" in out
