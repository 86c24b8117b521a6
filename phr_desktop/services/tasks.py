"""Progress reporting and cancellation for long work, shared by the UI (worker threads) and CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    message: str


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The default callback: report nothing."""


class Cancelled(Exception):
    """Raised inside a task when its cancel token is set; the task has rolled back."""

    def __init__(self) -> None:
        super().__init__(
            "Cancelled. Work finished before cancelling was kept; nothing is half-done."
        )


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def event(self) -> threading.Event:
        """For code below services that waits on cancellation without knowing this class."""
        return self._event

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
