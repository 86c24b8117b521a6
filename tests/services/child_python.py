"""Run a snippet of Python in a fresh interpreter with this checkout's phr_desktop: for what
a process shows only once (its collector, its memory, the modules it has loaded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def python_output(code: str, *args: str) -> list[str]:
    """The words the snippet printed (its last lines matter; anything before is kept too)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    return done.stdout.decode().split()
