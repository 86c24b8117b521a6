"""The `phr` console script's entry point, outside the `cli` package on purpose.

A big import prepares files on a worker process started by multiprocessing's spawn, which runs
the parent's main script again in the child. The console script pip writes does
`from <this module> import main`; pointing it at `phr_desktop.cli` made every worker import the
whole command line and the services behind it (~0.3 s of CPU and their memory) before preparing
a single file. Here the command line is imported only when `main` runs.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from phr_desktop.cli import main as run_command_line

    return run_command_line(argv)
