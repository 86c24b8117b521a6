"""Where a long task's time goes: CPU and wall seconds per named stage, cheap enough to keep on.

CPU time is the calling thread's (SQLite and the parsers run in the thread that calls them),
so a busy machine stretches the wall figures but not the CPU ones. An import adds its worker
process's stages to the writer's, and the import benchmark prints the result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable


class StageTimes:
    """Seconds per stage, added up over many calls."""

    def __init__(self) -> None:
        self._cpu: dict[str, float] = {}
        self._wall: dict[str, float] = {}
        self._lap_cpu = 0.0
        self._lap_wall = 0.0

    def add(self, stage: str, cpu: float, wall: float) -> None:
        self._cpu[stage] = self._cpu.get(stage, 0.0) + cpu
        self._wall[stage] = self._wall.get(stage, 0.0) + wall

    def start_lap(self) -> None:
        """Start timing the stage that the next `lap` names."""
        self._lap_cpu, self._lap_wall = time.thread_time(), time.perf_counter()

    def lap(self, stage: str) -> None:
        """Charge the time since the last lap (or `start_lap`) to `stage`, and go on: a
        sequence of steps is timed by one line after each, with no block to indent."""
        cpu, wall = time.thread_time(), time.perf_counter()
        self.add(stage, cpu - self._lap_cpu, wall - self._lap_wall)
        self._lap_cpu, self._lap_wall = cpu, wall

    def merge(self, rows: Iterable[tuple[str, float, float]]) -> None:
        for stage, cpu, wall in rows:
            self.add(stage, cpu, wall)

    def rows(self) -> tuple[tuple[str, float, float], ...]:
        """(stage, CPU seconds, wall seconds), in the order the stages were first seen: plain
        tuples, cheap to send back from a worker process."""
        return tuple((stage, cpu, self._wall[stage]) for stage, cpu in self._cpu.items())

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {stage: {"cpu_s": cpu, "wall_s": wall} for stage, cpu, wall in self.rows()}
