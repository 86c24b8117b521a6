"""An unlocked profile and the use cases on it: what the UI and CLI call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phr_desktop.services.auto_backup import AutoBackup
from phr_desktop.services.connection_status import ConnectionStatus, connection_statuses
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.manual_entry import ManualEntries
from phr_desktop.services.output_files import write_output_bytes
from phr_desktop.services.person import PersonService
from phr_desktop.services.record_reader import MilestoneView, RecordReader
from phr_desktop.services.search_history import SearchHistory
from phr_desktop.services.tasks import CancelToken, ProgressCallback, no_progress
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault import fact_links
from phr_desktop.vault.audit import AuditEntry, ChainReport
from phr_desktop.vault.backup_copy import verify_backup
from phr_desktop.vault.database import transaction
from phr_desktop.vault.errors import VaultDamaged
from phr_desktop.vault.files import make_private_dir
from phr_desktop.vault.queries import RecordFilter
from phr_desktop.vault.storage_errors import storage_errors
from phr_desktop.vault.store import RecordStore
from phr_desktop.vault.stored_record import StoredRecord
from phr_desktop.vault.vault import DB_NAME, HEADER_NAME, Vault

if TYPE_CHECKING:
    from phr_desktop.services.connections import ConnectionService
    from phr_desktop.services.importing import ImportReport

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
        if fact_links.links_pending(vault.conn):  # records from before schema 9: link them once
            self.reindex()
        # Built now: it counts the changes made from here on.
        self.auto_backup = AutoBackup(self)

    @property
    def connections(self) -> ConnectionService:
        # Imported on first use: the HTTP and OAuth stack costs ~0.2 s of start-up otherwise.
        from phr_desktop.services.connections import ConnectionService

        return ConnectionService(self)

    def connection_statuses(self) -> list[ConnectionStatus]:
        """The providers' states, read without importing the sync stack (see `connections`)."""
        return connection_statuses(self.vault.conn)

    @property
    def entries(self) -> ManualEntries:
        return ManualEntries(self)

    @property
    def person(self) -> PersonService:
        """The profile's person: who every import and sync is checked against."""
        return PersonService(self)

    @property
    def search_history(self) -> SearchHistory:
        """The quick search's recent searches, kept in this profile's vault."""
        return SearchHistory(self.vault.conn, self.write_lock)

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if not self.vault.closed:
            self.auto_backup.on_close()
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
        same_person: bool = False,
    ) -> ImportReport:
        # Imported here: the importers (lxml, the C-CDA and FHIR readers) are not needed to
        # open and show a record, and cost ~0.15 s of CPU at start.
        from phr_desktop.services.importing import import_paths

        outcome = "Files not finished were rolled back; nothing stored before was changed."
        with storage_errors("import", outcome, self.vault.profile_dir):
            return import_paths(
                self, paths, source_name=source_name, progress=progress,
                cancel=cancel or CancelToken(), same_person=same_person,
            )  # fmt: skip

    def reindex(self) -> int:
        with transaction(self.vault.conn):
            return self.store.rebuild_records(normalise_resource)

    # --- one fact once ------------------------------------------------------------------------

    def split_records(self, record_id: int, other_id: int) -> None:
        """ "These are different": never shown as one fact again (a reindex keeps it)."""
        self.record(record_id)
        self.record(other_id)
        with transaction(self.vault.conn):
            fact_links.split(self.vault.conn, record_id, other_id)
            self.vault.audit.append("records_split")

    def undo_split(self, record_id: int, other_id: int) -> bool:
        with transaction(self.vault.conn):
            undone = fact_links.unsplit(self.vault.conn, record_id, other_id)
            self.vault.audit.append("records_split_undone")
        return undone

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
        """Write an encrypted, consistent copy of the profile (database + header) to `folder`,
        and check it opens with the data key before calling it done."""
        if folder.exists() and any(folder.iterdir()):
            raise ServiceError(
                f"{folder} is not empty; choose a new or empty folder for the backup."
            )
        with storage_errors(
            f"write the backup in {folder}", "The profile was not changed.", folder
        ):
            make_private_dir(folder)
            # The header first: its audit anchor can then never be ahead of the copied chain.
            header = (self.vault.profile_dir / HEADER_NAME).read_bytes()
            self.vault.backup(folder / DB_NAME)
            write_output_bytes(folder / HEADER_NAME, header)
            try:
                verify_backup(folder, self.vault.data_key)
            except VaultDamaged as exc:
                raise ServiceError(
                    f"The backup written in {folder} does not check out, so do not rely on it "
                    f"({exc}). The profile was not changed; try again, or use another disk."
                ) from None
            self.vault.audit.append("backup")
        return folder

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        return self.vault.audit.entries(limit)

    def verify_audit(self) -> ChainReport:
        return self.vault.audit.verify()
