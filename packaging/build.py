"""Build phr-desktop's bundle and package for the OS this runs on; optionally prove it works.

    .venv/bin/python packaging/build.py               # dist/phr-desktop/ and the package
    .venv/bin/python packaging/build.py --self-test   # …then install it and run --self-test

Run it in the project's venv with the `package` extra (`python3 dev.py package` sets that up).
Linux: `dist/phr-desktop-VERSION-linux-ARCH.tar.gz` (the bundle, the menu entry, AppStream
data, icons, the .phrshare type and install.sh). macOS: `dist/phr-desktop.app` and a .dmg
(hdiutil). Windows: the Inno Setup installer when `iscc` is found, else a .zip.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "phr-desktop"
APP_ID = "io.github.phrdesktop.PhrDesktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
EXE = ".exe" if sys.platform == "win32" else ""

sys.path.insert(0, str(ROOT))
from phr_desktop import __version__  # noqa: E402 - the version of this checkout


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def run_pyinstaller(clean: bool) -> float:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--workpath",
        str(WORK),
        "--distpath",
        str(DIST),
        str(HERE / "phr-desktop.spec"),
    ]
    if clean:
        command.insert(3, "--clean")
    log(" ".join(command))
    subprocess.run(command, cwd=ROOT, check=True)
    return time.perf_counter() - started


def strip_debug_info(folder: Path) -> int:
    """Drop debug sections where wheels left them (libpython, sqlcipher3: ~40 MB).

    Only `strip --strip-debug`, and never inside `*.libs` folders: auditwheel-patched
    libraries there (numpy's OpenBLAS) stop loading once stripped ("not page-aligned").
    """
    strip = shutil.which("strip")
    if not strip:
        log("strip not found: debug symbols stay in (the bundle is larger but works)")
        return 0
    saved = 0
    for path in sorted(folder.rglob("*.so*")):
        if not path.is_file() or path.is_symlink():
            continue
        if any(part.endswith(".libs") for part in path.relative_to(folder).parts):
            continue
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        if b".debug_info" not in path.read_bytes():
            continue
        before = path.stat().st_size
        subprocess.run([strip, "--strip-debug", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def machine() -> str:
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )


# --- Linux ------------------------------------------------------------------------------------


def linux_tree(bundle: Path, target: Path) -> None:
    """The tarball's contents: the bundle, share/ (as under ~/.local/share) and install.sh."""
    shutil.copytree(bundle, target / "phr-desktop", symlinks=True)
    share = target / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(HERE / "linux" / "phr-desktop.desktop", share / "applications")
    (share / "metainfo").mkdir()
    shutil.copy2(HERE / "linux" / f"{APP_ID}.metainfo.xml", share / "metainfo")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(HERE / "linux" / "phr-desktop-mime.xml", share / "mime/packages/phr-desktop.xml")
    icons = ROOT / "resources" / "icons"
    hicolor = share / "icons" / "hicolor"
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(icons / "phr-desktop.svg", hicolor / "scalable/apps/phr-desktop.svg")
    for size in ICON_SIZES:
        png = icons / f"phr-desktop-{size}.png"
        for kind, name in (("apps", "phr-desktop"), ("mimetypes", "application-x-phrshare")):
            folder = hicolor / f"{size}x{size}" / kind
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(png, folder / f"{name}.png")
    shutil.copy2(HERE / "linux" / "install.sh", target / "install.sh")
    (target / "install.sh").chmod(0o755)


def linux_package() -> Path:
    name = f"phr-desktop-{__version__}-linux-{machine()}"
    archive = DIST / f"{name}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / name
        linux_tree(BUNDLE, tree)
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(tree, arcname=name)
    return archive


def validate_linux_metadata() -> None:
    """desktop-file-validate and appstreamcli, where installed (Debian: desktop-file-utils,
    appstream); a missing tool is reported, not an error."""
    checks = (
        ("desktop-file-validate", [str(HERE / "linux" / "phr-desktop.desktop")]),
        (
            "appstreamcli",
            ["validate", "--no-net", str(HERE / "linux" / f"{APP_ID}.metainfo.xml")],
        ),
    )
    for tool, arguments in checks:
        found = shutil.which(tool)
        if not found:
            log(f"{tool} not installed: skipped")
            continue
        result = subprocess.run([found, *arguments], capture_output=True, text=True)
        output = (result.stdout + result.stderr).strip()
        log(f"{tool}: {'ok' if result.returncode == 0 else 'FAILED'} {output}".rstrip())
        if result.returncode != 0:
            raise SystemExit(f"{tool} rejected the Linux metadata")


# --- macOS and Windows (written to their formats; built only on those systems) ---------------


def macos_package() -> Path:
    app = DIST / "phr-desktop.app"
    dmg = DIST / f"phr-desktop-{__version__}-macos-{machine()}.dmg"
    command = ["hdiutil", "create", "-volname", "phr-desktop", "-srcfolder", str(app), "-ov"]
    subprocess.run([*command, "-format", "UDZO", str(dmg)], check=True)
    return dmg


def find_iscc() -> str | None:
    """Inno Setup 6's compiler: on the PATH or where its installer puts it."""
    found = shutil.which("iscc")
    if found:
        return found
    for variable in ("ProgramFiles(x86)", "ProgramFiles"):
        candidate = Path(os.environ.get(variable, "")) / "Inno Setup 6" / "ISCC.exe"
        if candidate.is_file():
            return str(candidate)
    return None


def windows_package() -> Path:
    iscc = find_iscc()
    if iscc:
        subprocess.run(
            [
                iscc,
                f"/DAppVersion={__version__}",
                f"/DSourceDir={BUNDLE}",
                f"/DOutputDir={DIST}",
                f"/DIconFile={ROOT / 'build' / 'packaging' / 'phr-desktop.ico'}",
                str(HERE / "windows" / "phr-desktop.iss"),
            ],
            check=True,
        )
        return DIST / f"phr-desktop-{__version__}-windows-x64-setup.exe"
    log("Inno Setup (iscc) not found: writing a .zip of the bundle instead of an installer")
    base = DIST / f"phr-desktop-{__version__}-windows-{machine()}"
    return Path(shutil.make_archive(str(base), "zip", DIST, "phr-desktop"))


# --- self-test --------------------------------------------------------------------------------


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    seconds = time.perf_counter() - started
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        print(output, file=sys.stderr)
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}")
    return seconds, output


def self_test(installed_bin: Path) -> dict[str, float]:
    """--version (start-up alone) three times, the best kept; then --self-test; then phr."""
    app = str(installed_bin / f"phr-desktop{EXE}")
    cli = str(installed_bin / f"phr{EXE}")
    # phr-desktop.exe is a windowed program: Windows gives it no stdout, only an exit code.
    windowed = sys.platform == "win32"
    version_times = []
    for _ in range(3):
        seconds, output = timed([app, "--version"])
        version_times.append(seconds)
    if not windowed and output != f"phr-desktop {__version__}":
        raise SystemExit(f"--version printed {output!r}")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    self_test_seconds, output = timed([app, "--self-test"], env)
    if not windowed:
        log(output.splitlines()[-1])
    cli_seconds, output = timed([cli, "--version"])
    if output != f"phr {__version__}":
        raise SystemExit(f"phr --version printed {output!r}")
    with tempfile.TemporaryDirectory() as data:
        timed([cli, "--data-dir", data, "profile", "list"])
    return {
        "phr-desktop --version": min(version_times),
        "phr-desktop --self-test": self_test_seconds,
        "phr --version": cli_seconds,
    }


def install_and_self_test(archive: Path) -> dict[str, float]:
    """Unpack the tarball, run install.sh into a temporary prefix, and test what it installed."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="tar")
        (unpacked,) = Path(tmp).iterdir()
        prefix = Path(tmp) / "prefix"
        subprocess.run(
            ["sh", str(unpacked / "install.sh"), "--prefix", str(prefix)],
            check=True,
            env=dict(os.environ, HOME=tmp),
            stdout=subprocess.DEVNULL,
        )
        desktop = prefix / "share/applications/phr-desktop.desktop"
        exec_line = next(x for x in desktop.read_text().splitlines() if x.startswith("Exec="))
        if f'"{prefix}/lib/phr-desktop/phr-desktop" %f' not in exec_line:
            raise SystemExit(f"install.sh wrote {exec_line!r}")
        times = self_test(prefix / "bin")
        subprocess.run(
            ["sh", str(unpacked / "install.sh"), "--prefix", str(prefix), "--uninstall"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if (prefix / "lib" / "phr-desktop").exists() or desktop.exists():
            raise SystemExit("install.sh --uninstall left files behind")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="after building, run the built app's --version and --self-test (on Linux: from "
        "the tarball, installed with install.sh into a temporary folder)",
    )
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    args = parser.parse_args()

    build_seconds = run_pyinstaller(args.clean)
    if sys.platform.startswith("linux"):
        saved = strip_debug_info(BUNDLE)
        log(f"stripped {saved / 1e6:.0f} MB of debug information")
        validate_linux_metadata()
        package = linux_package()
    elif sys.platform == "darwin":
        package = macos_package()
    elif sys.platform == "win32":
        package = windows_package()
    else:
        raise SystemExit(f"no package format for {sys.platform}")
    size, files = folder_size(BUNDLE)
    log(f"PyInstaller took {build_seconds:.0f} s")
    log(f"bundle {BUNDLE}: {size / 1e6:.0f} MB in {files} files")
    log(f"package {package}: {package.stat().st_size / 1e6:.0f} MB")

    if args.self_test:
        if sys.platform.startswith("linux"):
            times = install_and_self_test(package)
        else:
            times = self_test(BUNDLE)
        for what, seconds in times.items():
            log(f"{what}: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
