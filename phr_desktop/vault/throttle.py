"""Slow down passphrase guessing: after 5 wrong tries in a row, each try must wait longer.

The count lives in a small file beside the vault (it holds no health data), so restarting the
app or the CLI does not reset it. Argon2id already makes each guess cost ~0.5 s; this adds a
growing wait on top for someone at the keyboard.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from phr_desktop.vault.files import write_atomically

FREE_ATTEMPTS = 5
MAX_WAIT_SECONDS = 300.0


@dataclass
class UnlockThrottle:
    path: Path
    clock: Callable[[], float] = time.time

    def _read(self) -> tuple[int, float]:
        try:
            data = orjson.loads(self.path.read_bytes())
            return int(data["failures"]), float(data["last_failure"])
        except (
            FileNotFoundError,
            orjson.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
        ):
            return 0, 0.0

    @staticmethod
    def wait_after(failures: int) -> float:
        if failures < FREE_ATTEMPTS:
            return 0.0
        return min(MAX_WAIT_SECONDS, 2.0 ** (failures - FREE_ATTEMPTS + 1))

    def seconds_to_wait(self) -> float:
        failures, last = self._read()
        return max(0.0, last + self.wait_after(failures) - self.clock())

    def record_failure(self) -> float:
        """Count a wrong try; returns how long the next try must wait."""
        failures, _ = self._read()
        failures += 1
        write_atomically(
            self.path,
            orjson.dumps({"failures": failures, "last_failure": self.clock()}),
        )
        return self.wait_after(failures)

    def reset(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
