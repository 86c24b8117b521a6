"""Running `phr` in-process the way its tests do: environment in, exit code and output out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from phr_desktop.cli import main

Run = Callable[..., tuple[int, str, str]]


def cli_runner(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    passphrase: str,
    *,
    env: dict[str, str] | None = None,
    unset: Sequence[str] = (),
    prefix: Sequence[str] = (),
    argparse_exits: bool = False,
) -> Run:
    """A `run(*args)` returning (exit code, stdout, stderr) of `phr prefix… args…`, with
    PHR_DATA_DIR and PHR_PASSPHRASE set (plus `env`, minus `unset`). Output never holds a
    traceback: every failure must reach the user as a message. With `argparse_exits`, argparse's
    own refusals (SystemExit) come back as their exit code instead of being raised."""
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", passphrase)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([*prefix, *args])
        except SystemExit as exit_:
            if not argparse_exits:
                raise
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run
