"""A patient's profile with a note and an attached file, and shares made from it: what the
clinician-side viewer tests open."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.sharing import PRESETS, CreatedShare, ShareSelection, create_share
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.queries import RecordFilter
from tests.conftest import DEMO_DIR, PASSPHRASE

NOTE = "Felt breathless on the stairs that week"
SCAN = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SCAN_NAME = "spirometry-2024.pdf"


@dataclass(frozen=True)
class SharedProfile:
    session: Session
    noted_title: str  # the record that carries NOTE
    upload_id: int  # the uploaded document that carries SCAN


@contextmanager
def shared_profile(folder: Path) -> Iterator[SharedProfile]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        session, _recovery = Profiles(folder / "data").create("pat", PASSPHRASE)
        with session:
            session.import_paths(sorted(DEMO_DIR.glob("*.json")))
            aat = session.records(RecordFilter(tag="aatd", kinds=("lab_result",)))[0]
            session.add_note(aat.id, NOTE)
            (folder / SCAN_NAME).write_bytes(SCAN)
            upload_id = session.entries.upload_document(
                folder / SCAN_NAME, "Spirometry print-out", "2024-03-02"
            )
            yield SharedProfile(session, aat.record.title, upload_id)


def make_share(profile: SharedProfile, output: Path, **options: Any) -> CreatedShare:
    """The pulmonologist preset plus the uploaded print-out, with its file."""
    selection = ShareSelection(
        any_of=PRESETS["pulmonologist"].any_of, record_ids=(profile.upload_id,)
    )
    options.setdefault("attachments", True)
    return create_share(profile.session, output, selection, "Dr Lung, pulmonology", **options)


class WriteWatch:
    """Every file opened for writing by Python code while `watching` (a process audit hook;
    SQLite's own files are caught by the folder checks instead)."""

    def __init__(self) -> None:
        self.paths: list[str] | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.paths is None or event != "open":
            return
        path, _mode, flags = args
        if isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            self.paths.append(str(path))

    @contextmanager
    def watching(self) -> Iterator[list[str]]:
        self.paths = []
        try:
            yield self.paths
        finally:
            self.paths = None


WRITES = WriteWatch()


def empty_home(monkeypatch: pytest.MonkeyPatch, root: Path) -> list[Path]:
    """Point HOME, the XDG folders and TMPDIR at empty folders; returns them to check later."""
    import tempfile

    folders = []
    for name in ("HOME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        folder = root / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))
        folders.append(folder)
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return folders


def files_under(folders: list[Path]) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*")]
