"""The Windows version resource (Properties → Details) for phr-desktop.exe and phr.exe.

Written in PyInstaller's version-file format from `phr_desktop.__version__` by the spec, so
the version shown by Windows, the installer and `--version` can never disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = """\
# UTF-8
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers},
    prodvers={numbers},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
        StringStruct('CompanyName', 'phr-desktop'),
        StringStruct('FileDescription', {description!r}),
        StringStruct('FileVersion', {version!r}),
        StringStruct('InternalName', {name!r}),
        StringStruct('LegalCopyright', 'Apache-2.0 licence'),
        StringStruct('OriginalFilename', {filename!r}),
        StringStruct('ProductName', 'phr-desktop'),
        StringStruct('ProductVersion', {version!r})])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""

DESCRIPTIONS = {
    "phr-desktop": "phr-desktop: your health record, encrypted on this computer",
    "phr": "phr: the phr-desktop command line",
}


def version_numbers(version: str) -> tuple[int, int, int, int]:
    """'0.1.0' → (0, 1, 0, 0); a suffix such as 'rc1' or '.dev3' is dropped."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3]]
    while len(numbers) < 4:
        numbers.append(0)
    return (numbers[0], numbers[1], numbers[2], numbers[3])


def write_version_file(version: str, path: Path, name: str = "phr-desktop") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        TEMPLATE.format(
            numbers=version_numbers(version),
            version=version,
            name=name,
            filename=f"{name}.exe",
            description=DESCRIPTIONS[name],
        ),
        encoding="utf-8",
    )
    return str(path)
