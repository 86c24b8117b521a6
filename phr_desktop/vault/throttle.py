"""Slow down passphrase guessing: after 5 wrong tries in a row, each try must wait longer.

The count lives in a small file beside the vault (it holds no health data), so restarting the
app or the CLI does not reset it. Argon2id already makes each guess cost ~0.5 s; this adds a
growing wait on top for someone at the keyboard.

The file also remembers a digest of the header's passphrase wrap and KDF settings as of the
last time the header was proven authentic (after its MAC was checked with the data key). A
passphrase that fails against a header whose digest differs may be right: the header was
edited or replaced, so that try is reported as such and not counted as a wrong passphrase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from phr_desktop.vault.files import write_atomically

FREE_ATTEMPTS = 5
MAX_WAIT_SECONDS = 300.0


@dataclass(frozen=True)
class _State:
    failures: int = 0
    last_failure: float = 0.0
    header: str | None = None


@dataclass
class UnlockThrottle:
    path: Path
    clock: Callable[[], float] = time.time

    def _read(self) -> _State:
        try:
            data = orjson.loads(self.path.read_bytes())
            header = data.get("header")
            return _State(
                int(data["failures"]),
                float(data["last_failure"]),
                header if isinstance(header, str) else None,
            )
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return _State()

    def _write(self, state: _State) -> None:
        body: dict[str, object] = {"failures": state.failures, "last_failure": state.last_failure}
        if state.header is not None:
            body["header"] = state.header
        write_atomically(self.path, orjson.dumps(body))

    @staticmethod
    def wait_after(failures: int) -> float:
        if failures < FREE_ATTEMPTS:
            return 0.0
        return min(MAX_WAIT_SECONDS, 2.0 ** (failures - FREE_ATTEMPTS + 1))

    def seconds_to_wait(self) -> float:
        state = self._read()
        return max(0.0, state.last_failure + self.wait_after(state.failures) - self.clock())

    def known_header(self) -> str | None:
        """The digest of the last header proven authentic here, if any."""
        return self._read().header

    def record_failure(self) -> float:
        """Count a wrong try; returns how long the next try must wait. OSError if it cannot be
        saved (the caller still reports the wrong passphrase)."""
        state = self._read()
        failures = state.failures + 1
        self._write(_State(failures, self.clock(), state.header))
        return self.wait_after(failures)

    def record_authentic_header(self, digest: str, *, passphrase_was_right: bool) -> None:
        """Remember the header proven authentic; a right passphrase also clears the count."""
        state = self._read()
        failures, last = (0, 0.0) if passphrase_was_right else (state.failures, state.last_failure)
        new = _State(failures, last, digest)
        if new != state:
            self._write(new)
