#!/usr/bin/env python3
"""Set up and run phr-desktop from a fresh checkout, the same way on Linux, macOS and Windows.

    python3 dev.py demo      # make .venv, install the pinned dependencies, open the demo profile
    python3 dev.py test      # make .venv, install them with the test tools, lint and run all tests
    python3 dev.py package   # build the app bundle and package for this OS (packaging/build.py)

Under CI on Linux, `test` also builds the Linux package and runs the built app's --self-test,
before pytest (PHR_PACKAGE_TEST=0 skips that, =1 asks for it anywhere). Under CI on Linux as
root with apt, it first installs the Debian packages the X server and keyring tests use
(Xvfb, Qt's xcb libraries, gnome-keyring, dbus), once; PHR_SYSTEM_PACKAGES=0 skips that.

Uses only the standard library, so it runs before anything is installed. Dependencies come
from pyproject.toml, pinned by constraints.txt.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
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
    files = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    wanted = {e for e in extras.split(",") if e}
    # The stamp is the files' hash, then the extras installed with them: asking for fewer
    # extras than are installed (test after package) installs nothing.
    stamp = STAMP.read_text().split() if STAMP.exists() else []
    if stamp and stamp[0] == files:
        have = set(stamp[1].split(",")) - {""} if len(stamp) > 1 else set()
        if wanted <= have:
            return
        wanted |= have
    target = f".[{','.join(sorted(wanted))}]" if wanted else "."
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
    STAMP.write_text(f"{files} {','.join(sorted(wanted))}")


def package_test_wanted() -> bool:
    """CI proves the Linux package on every run; elsewhere only when asked."""
    flag = os.environ.get("PHR_PACKAGE_TEST")
    if flag is not None:
        return flag == "1"
    return bool(os.environ.get("CI")) and sys.platform.startswith("linux")


# For tests/test_app_on_x_server.py (a real X server and Qt's xcb plugin) and
# tests/vault/test_keyring_secret_service.py (a real Secret Service on a private D-Bus).
CI_DEBIAN_PACKAGES = (
    "xvfb", "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0",
    "libxcb-render-util0", "libxcb-xkb1", "libxkbcommon-x11-0", "libxcb-randr0",
    "libxcb-shape0", "gnome-keyring", "dbus-daemon",
)  # fmt: skip


def system_packages_wanted() -> bool:
    flag = os.environ.get("PHR_SYSTEM_PACKAGES")
    if flag is not None and flag != "1":
        return False
    return (
        (flag == "1" or bool(os.environ.get("CI")))
        and sys.platform.startswith("linux")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("apt-get") is not None
        and shutil.which("dpkg-query") is not None
    )


def missing_debian_packages(names: tuple[str, ...]) -> list[str]:
    listed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *names],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    installed = {
        line.split()[0].split(":")[0]
        for line in listed.stdout.splitlines()
        if line.endswith(" installed") and "not-installed" not in line
    }
    return [n for n in names if n not in installed]


def ensure_system_packages() -> None:
    """Install what the X server and keyring tests need, quietly and only once. A failure
    (no network) is reported and the run goes on: those tests then skip, saying why."""
    if not system_packages_wanted():
        return
    missing = missing_debian_packages(CI_DEBIAN_PACKAGES)
    if not missing:
        return
    print(f"+ apt-get install {' '.join(missing)}  (for the X server and keyring tests)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).splitlines()[-5:])
            print(f"dev.py: {' '.join(command[:2])} failed; those tests will skip.\n{tail}")
            return


def demo(_: argparse.Namespace) -> int:
    ensure_venv("")
    run(PYTHON, "-m", "phr_desktop.cli", "demo")
    run(PYTHON, "-m", "phr_desktop.app", "--demo")
    return 0


def test(args: argparse.Namespace) -> int:
    with_package = package_test_wanted()
    ensure_system_packages()
    ensure_venv("test,package" if with_package else "test")
    run(PYTHON, "-m", "ruff", "check", ".")
    run(PYTHON, "-m", "ruff", "format", "--check", ".")
    run(BIN / ("lint-imports.exe" if os.name == "nt" else "lint-imports"))
    run(PYTHON, "-m", "mypy")
    if with_package:
        # The frozen app, installed from its tarball, must pass its own --self-test. Before
        # pytest, so that pytest's summary stays the last line of the output.
        run(PYTHON, "packaging/build.py", "--self-test")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run(PYTHON, "-m", "pytest", *args.pytest_args, env=env)
    return 0


def package(args: argparse.Namespace) -> int:
    ensure_venv("package")
    run(PYTHON, "packaging/build.py", *(["--self-test"] if args.self_test else []))
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
    p = sub.add_parser("package", help="build the app bundle and package for this OS")
    p.add_argument("--self-test", action="store_true", help="then run the built app's --self-test")
    p.set_defaults(func=package)
    # `dev.py test -k sharing` and `dev.py test --collect-only` pass pytest options through;
    # argparse's REMAINDER alone refuses one that starts with a dash.
    args, extra = parser.parse_known_args()
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "test":
        args.pytest_args = extra + args.pytest_args
    try:
        return int(args.func(args))
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
