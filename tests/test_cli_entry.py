"""The `phr` console script's entry point loads the command line only when it runs: a big
import's worker process (multiprocessing's spawn runs the parent's main script again) must
not import the whole command line and the services behind it before preparing files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.services.child_python import python_output

REPO = Path(__file__).resolve().parents[1]


def test_the_console_script_points_at_the_light_entry_module() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["phr"] == "phr_desktop.cli_entry:main"


def test_importing_the_entry_module_loads_neither_the_command_line_nor_the_services() -> None:
    loaded = python_output(
        "import sys, phr_desktop.cli_entry\n"
        "print('phr_desktop.cli' in sys.modules, "
        "any(m.startswith('phr_desktop.services') for m in sys.modules))"
    )
    assert loaded == ["False", "False"]


def test_the_entry_runs_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from phr_desktop import __version__
    from phr_desktop.cli_entry import main

    try:
        code = main(["--version"])
    except SystemExit as exc:  # argparse's --version exits
        code = int(exc.code or 0)
    assert code == 0
    assert __version__ in capsys.readouterr().out
