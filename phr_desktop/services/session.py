"""An unlocked profile and the use cases on it: what the UI and CLI call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.importing import ImportReport, import_paths
from phr_desktop.services.manual_entry import ManualEntries
from phr_desktop.services.output_files import write_output_bytes
from phr_desktop.services.record_reader import MilestoneView, RecordReader
from phr_desktop.services.tasks import CancelToken, ProgressCallback, no_progress
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.audit import AuditEntry, ChainReport
from phr_desktop.vault.database import transaction
from phr_desktop.vault.files import make_private_dir
from phr_desktop.vault.queries import RecordFilter, StoredRecord
from phr_desktop.vault.storage_errors import storage_errors
from phr_desktop.vault.store import RecordStore
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

if TYPE_CHECKING:
    from phr_desktop.services.connections import ConnectionService

__all__ = ["CheckReport", "MilestoneView", "RecordFilter", "Session", "StoredRecord"]


@dataclass(frozen=True)
class CheckReport:
    cipher_version: str
    schema_version: int
    problems: list[str]
    audit: ChainReport

    @property
    def ok(self) -> bool:
        return not self.problems and self.audit.ok


class Session(RecordReader):
    """An unlocked profile: every read of `RecordReader`, and the writes that are the patient's."""

    where = "in this profile"

    def __init__(self, profile_name: str, vault: Vault) -> None:
        super().__init__(vault.conn)
        self.profile_name = profile_name
        self.vault = vault
        self.store = RecordStore(vault.conn)
        # Sync stores pages on this thread while its workers may renew tokens: one writer.
        self.write_lock = threading.Lock()
        # One sync at a time, whoever starts it (the Sync button, the automatic sync).
        self.sync_lock = threading.Lock()

    @property
    def connections(self) -> ConnectionService:
        # Imported on first use: the HTTP and OAuth stack costs ~0.2 s of start-up otherwise.
        from phr_desktop.services.connections import ConnectionService

        return ConnectionService(self)

    @property
    def entries(self) -> ManualEntries:
        return ManualEntries(self)

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self.vault.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def change_passphrase(self, new_passphrase: str) -> None:
        self.vault.change_passphrase(new_passphrase)

    def remember_on_device(self) -> None:
        self.vault.remember_on_device()

    def forget_on_device(self) -> None:
        self.vault.forget_on_device()

    # --- import -----------------------------------------------------------------------------

    def import_paths(
        self,
        paths: Sequence[Path],
        *,
        source_name: str | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportReport:
        outcome = "Files not finished were rolled back; nothing stored before was changed."
        with storage_errors("import", outcome, self.vault.profile_dir):
            return import_paths(
                self,
                paths,
                source_name=source_name,
                progress=progress,
                cancel=cancel or CancelToken(),
            )

    def reindex(self) -> int:
        with transaction(self.vault.conn):
            return self.store.rebuild_records(normalise_resource)

    # --- the patient's own notes --------------------------------------------------------------

    def add_note(self, record_id: int | None, text: str) -> int:
        if not text.strip():
            raise ServiceError("A note needs some text.")
        if record_id is not None:
            self.record(record_id)
        with transaction(self.vault.conn):
            return self.queries.add_note(record_id, text.strip())

    # --- maintenance --------------------------------------------------------------------------

    def check(self) -> CheckReport:
        conn = self.vault.conn
        return CheckReport(
            cipher_version=str(conn.execute("PRAGMA cipher_version").fetchone()[0]),
            schema_version=int(conn.execute("PRAGMA user_version").fetchone()[0]),
            problems=self.vault.integrity_problems(),
            audit=self.vault.audit.verify(),
        )

    def backup(self, folder: Path) -> Path:
        """Write an encrypted, consistent copy of the profile (database + header) to `folder`."""
        if folder.exists() and any(folder.iterdir()):
            raise ServiceError(
                f"{folder} is not empty; choose a new or empty folder for the backup."
            )
        with storage_errors(
            f"write the backup in {folder}", "The profile was not changed.", folder
        ):
            make_private_dir(folder)
            self.vault.backup(folder / DB_NAME)
            write_output_bytes(
                folder / HEADER_NAME, (self.vault.profile_dir / HEADER_NAME).read_bytes()
            )
            self.vault.audit.append("backup")
        return folder

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        return self.vault.audit.entries(limit)

    def verify_audit(self) -> ChainReport:
        return self.vault.audit.verify()
