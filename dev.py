#!/usr/bin/env python3
"""Set up and run phr-desktop from a fresh checkout, the same way on Linux, macOS and Windows.

    python3 dev.py demo    # make .venv, install the pinned dependencies, open the demo profile
    python3 dev.py test    # make .venv, install them with the test tools, lint and run all tests

Uses only the standard library, so it runs before anything is installed. Dependencies come
from pyproject.toml, pinned by constraints.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".phr-installed"


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=ROOT, check=True, env=env)


def ensure_venv(extras: str) -> None:
    """Create .venv and install what is pinned, unless the same set is already installed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may run on an older python3
        sys.exit(f"phr-desktop needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes()
        + (ROOT / "constraints.txt").read_bytes()
        + extras.encode()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    target = f".[{extras}]" if extras else "."
    run(
        PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-c",
        "constraints.txt",
        "-e",
        target,
    )
    STAMP.write_text(wanted)


def demo(_: argparse.Namespace) -> int:
    ensure_venv("")
    run(PYTHON, "-m", "phr_desktop.cli", "demo")
    run(PYTHON, "-m", "phr_desktop.app", "--demo")
    return 0


def test(args: argparse.Namespace) -> int:
    ensure_venv("test")
    run(PYTHON, "-m", "ruff", "check", ".")
    run(PYTHON, "-m", "ruff", "format", "--check", ".")
    run(BIN / ("lint-imports.exe" if os.name == "nt" else "lint-imports"))
    run(PYTHON, "-m", "mypy")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run(PYTHON, "-m", "pytest", *args.pytest_args, env=env)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="set up and open the app on the demo profile").set_defaults(
        func=demo
    )
    p = sub.add_parser("test", help="set up, lint and run the whole test suite")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra arguments for pytest")
    p.set_defaults(func=test)
    args = parser.parse_args()
    try:
        return int(args.func(args))
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
