"""A sync's attachments: the files its stored DocumentReferences and DiagnosticReports point
at, fetched into the vault after their pages are committed."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from phr_desktop.smart.attachments import attachment_links, fetchable
from phr_desktop.smart.errors import SyncError
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.sync_report import SyncReport
from phr_desktop.vault.connections import StoredConnection
from phr_desktop.vault.database import Connection, transaction
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import IncomingResource

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = ("DocumentReference", "DiagnosticReport")


def fetch_attachments(
    conn: Connection,
    client: FhirClient,
    write_lock: threading.Lock,
    connection: StoredConnection,
    items: Sequence[IncomingResource],
    report: SyncReport,
) -> None:
    """Fetch the files these stored resources point at, under the connection's FHIR base, once
    each: network requests, so called outside the pages' transaction, each file stored in a
    transaction of its own; the others are counted as links (never requested)."""
    base = connection.fhir_base
    for item in items:
        for link in attachment_links(item.resource):
            if not fetchable(link, base):
                # No request leaves the machine for it: the Files tab shows it as a link.
                report.attachments_external += 1
                continue
            raw = conn.execute(
                "SELECT w.id, r.id FROM raw_resources w LEFT JOIN records r ON r.raw_id = w.id "
                "WHERE w.source_id = ? AND w.resource_type = ? AND w.resource_id = ? "
                "AND w.is_current = 1",
                (connection.source_id, item.resource_type, item.resource_id),
            ).fetchone()
            if (
                raw is None
                or conn.execute(
                    "SELECT 1 FROM attachments WHERE raw_id = ? AND filename = ?",
                    (raw[0], link.url),
                ).fetchone()
            ):
                continue
            try:
                fetched = client.get_binary(link.url, MAX_ATTACHMENT_BYTES, link.content_type)
            except SyncError:
                report.attachments_skipped += 1
                continue
            if fetched is None:
                report.attachments_skipped += 1  # over the size cap, stopped while reading
                continue
            data, content_type = fetched
            with write_lock, transaction(conn):
                conn.execute(
                    "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, "
                    "sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        raw[0], raw[1], link.url, content_type, len(data),
                        hashlib.sha256(data).hexdigest(), data, now_iso(),
                    ),
                )  # fmt: skip
            report.attachments += 1
