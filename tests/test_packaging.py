"""packaging/: the per-OS files agree with each other and with the app, and install.sh works.

The bundle itself is built and run (`--self-test`) by `packaging/build.py --self-test`, which
CI runs on Linux; these tests check the files that need no build, in a second or two.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

from phr_desktop import __version__
from phr_desktop.interop.xml_safety import safe_parser

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
APP_ID = "io.github.phrdesktop.PhrDesktop"
MIME_TYPE = "application/x-phrshare"
ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(LINUX / "phr-desktop.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def xml(path: Path) -> etree._Element:
    return etree.parse(str(path), safe_parser()).getroot()


def test_desktop_entry_opens_phrshare_files_with_the_app_and_its_icon() -> None:
    entry = desktop_entry()
    assert entry["Exec"] == "phr-desktop %f"  # the file double-clicked, as one argument
    assert entry["MimeType"].split(";") == [MIME_TYPE, ""]
    assert entry["Icon"] == "phr-desktop"
    assert entry["Terminal"] == "false"
    # app.py calls setDesktopFileName("phr-desktop"): Wayland matches windows to this file.
    assert 'setDesktopFileName("phr-desktop")' in (ROOT / "phr_desktop" / "app.py").read_text()


def test_shared_mime_info_claims_the_phrshare_extension() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = xml(LINUX / "phr-desktop-mime.xml")
    (mime,) = root.findall("m:mime-type", ns)
    assert mime.get("type") == MIME_TYPE
    assert [g.get("pattern") for g in mime.findall("m:glob", ns)] == ["*.phrshare"]
    assert mime.find("m:icon", ns).get("name") == "application-x-phrshare"  # type: ignore[union-attr]


def test_appstream_metadata_names_this_version_the_launcher_and_the_type() -> None:
    root = xml(LINUX / f"{APP_ID}.metainfo.xml")
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == "phr-desktop.desktop"
    assert root.findtext("provides/mediatype") == MIME_TYPE
    assert root.find("releases/release").get("version") == __version__  # type: ignore[union-attr]


def test_macos_info_plist_declares_phrshare_and_high_dpi() -> None:
    with (PACKAGING / "macos" / "Info.plist").open("rb") as f:
        info = plistlib.load(f)
    assert info["CFBundleIdentifier"] == APP_ID
    assert info["CFBundleShortVersionString"] == __version__
    assert info["NSHighResolutionCapable"] is True
    (exported,) = info["UTExportedTypeDeclarations"]
    tags = exported["UTTypeTagSpecification"]
    assert tags["public.filename-extension"] == ["phrshare"]
    assert tags["public.mime-type"] == [MIME_TYPE]
    (document,) = info["CFBundleDocumentTypes"]
    assert document["LSItemContentTypes"] == [exported["UTTypeIdentifier"]]
    assert document["CFBundleTypeRole"] == "Viewer"


def test_windows_installer_associates_phrshare_with_the_app() -> None:
    iss = (PACKAGING / "windows" / "phr-desktop.iss").read_text(encoding="utf-8")
    assert r'Subkey: "Software\Classes\.phrshare"; ValueType: string; ValueName: ""; ' in iss
    assert r'ValueData: """{app}\phr-desktop.exe"" ""%1"""' in iss
    assert "ChangesAssociations=yes" in iss
    assert f'ValueData: "{MIME_TYPE}"' in iss


def test_windows_version_resource_carries_the_app_version(tmp_path: Path) -> None:
    version_info = load(PACKAGING / "windows" / "version_info.py")
    assert version_info.version_numbers("0.1.0") == (0, 1, 0, 0)
    assert version_info.version_numbers("1.2.3rc1") == (1, 2, 3, 0)
    path = Path(version_info.write_version_file(__version__, tmp_path / "v.txt", "phr"))
    text = path.read_text(encoding="utf-8")
    assert f"StringStruct('ProductVersion', '{__version__}')" in text
    assert "StringStruct('OriginalFilename', 'phr.exe')" in text
    # PyInstaller evaluates the file as one Python expression (its reader needs pefile, which
    # is installed only on Windows): it must at least parse as one, with the right numbers.
    expression = ast.parse(text, mode="eval").body
    assert isinstance(expression, ast.Call) and ast.unparse(expression.func) == "VSVersionInfo"
    assert f"filevers={version_info.version_numbers(__version__)}," in text


def test_every_icon_size_is_rendered_and_build_py_installs_them_all() -> None:
    icons = ROOT / "resources" / "icons"
    assert sorted(int(p.stem.rsplit("-", 1)[1]) for p in icons.glob("phr-desktop-*.png")) == (
        ICON_SIZES
    )
    assert list(load(PACKAGING / "build.py").ICON_SIZES) == ICON_SIZES
    assert list(load(PACKAGING / "make_icons.py").PNG_SIZES) == ICON_SIZES


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("desktop-file-validate", [str(LINUX / "phr-desktop.desktop")]),
        ("appstreamcli", ["validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")]),
    ],
)
def test_linux_metadata_passes_the_freedesktop_validators(tool: str, arguments: list[str]) -> None:
    found = shutil.which(tool)
    if not found:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils, appstream)")
    result = subprocess.run([found, *arguments], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="install.sh is for Linux")
def test_install_sh_puts_the_app_and_its_desktop_files_in_place_and_removes_them(
    tmp_path: Path,
) -> None:
    build = load(PACKAGING / "build.py")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("phr-desktop", "phr"):
        (bundle / name).write_text(f"#!/bin/sh\necho {name} stub\n")
        (bundle / name).chmod(0o755)
    tree = tmp_path / "unpacked"
    build.linux_tree(bundle, tree)
    prefix = tmp_path / "prefix with space"
    env = dict(os.environ, HOME=str(tmp_path))

    subprocess.run(["sh", str(tree / "install.sh"), "--prefix", str(prefix)], check=True, env=env)
    share = prefix / "share"
    launcher = prefix / "bin" / "phr-desktop"
    assert subprocess.run([launcher], capture_output=True, text=True).stdout == "phr-desktop stub\n"
    assert (prefix / "bin" / "phr").resolve() == prefix / "lib" / "phr-desktop" / "phr"
    desktop = (share / "applications" / "phr-desktop.desktop").read_text()
    assert f'Exec="{prefix}/lib/phr-desktop/phr-desktop" %f\n' in desktop
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "mime" / "packages" / "phr-desktop.xml").is_file()
    for size in ICON_SIZES:
        assert (share / f"icons/hicolor/{size}x{size}/apps/phr-desktop.png").is_file()
        assert (
            share / f"icons/hicolor/{size}x{size}/mimetypes/application-x-phrshare.png"
        ).is_file()
    assert (share / "icons/hicolor/scalable/apps/phr-desktop.svg").is_file()
    if shutil.which("update-mime-database"):  # the type is registered for *.phrshare
        globs = (share / "mime" / "globs2").read_text()
        assert f"{MIME_TYPE}:*.phrshare" in globs

    subprocess.run(
        ["sh", str(tree / "install.sh"), "--prefix", str(prefix), "--uninstall"],
        check=True,
        env=env,
        capture_output=True,
    )
    assert not launcher.exists() and not (prefix / "lib" / "phr-desktop").exists()
    assert not (share / "applications" / "phr-desktop.desktop").exists()
    assert not list(share.glob("icons/hicolor/*/*/phr-desktop.*"))
