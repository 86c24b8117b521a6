"""An import's processes give large freed blocks (a file's bytes, its parse buffer, the
pickles between the processes) back to the system at once, instead of keeping the largest
file's high-water mark in their RSS for the rest of the import."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.services.child_python import python_output

# The child frees a 24 MiB block (glibc then serves blocks up to that size from its heap),
# allocates and frees a 16 MiB one, and reports how much of the 16 MiB left its RSS.
_CHILD = """
import sys
import os
import sys
from pathlib import Path

def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

if sys.argv[1] == "worker":
    from phr_desktop.services.import_prepare import start_worker
    start_worker()
if sys.argv[1] == "writer":
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault.keys import KdfParams
    folder = Path(sys.argv[2])
    session, _ = Profiles(folder / "data").create("m", "pw", kdf=KdfParams.minimum())
    record = folder / "patient.json"
    record.write_text('{"resourceType": "Patient", "id": "p1", "gender": "female"}')
    session.import_paths([record])
    session.close()
block = b"x" * (24 * 2**20)
del block
block = b"y" * (16 * 2**20)
held = rss_kib()
del block
print(held - rss_kib())
"""


def _returned_kib(entry: str, folder: Path) -> int:
    return int(python_output(_CHILD, entry, str(folder))[-1])


glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="mallopt's mmap threshold is glibc's",
)


@glibc_only
def test_the_import_worker_gives_a_freed_large_block_back_to_the_system(tmp_path: Path) -> None:
    assert _returned_kib("worker", tmp_path) >= 15 * 1024


@glibc_only
def test_the_importing_process_gives_a_freed_large_block_back_after_an_import(
    tmp_path: Path,
) -> None:
    assert _returned_kib("writer", tmp_path) >= 15 * 1024


@glibc_only
def test_without_it_glibc_keeps_the_freed_block_which_is_why_the_import_asks(
    tmp_path: Path,
) -> None:
    # The behaviour the import works around: were this to change, the setting would be moot.
    assert _returned_kib("plain", tmp_path) < 1024
