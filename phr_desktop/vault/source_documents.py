"""The sources data comes from (a file import, a SMART connection, …) and the files received
from them, each kept byte for byte once per content: the part of RecordStore that is not about
resources and records."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from phr_desktop.vault.database import Connection
from phr_desktop.vault.prepared import PackedDocument, pack_document
from phr_desktop.vault.timestamps import now_iso


class SourceDocuments:
    """Part of RecordStore (its base): sources, and the documents received from them."""

    conn: Connection

    def ensure_source(self, kind: str, name: str, detail: dict[str, Any] | None = None) -> int:
        row = self.conn.execute(
            "SELECT id FROM sources WHERE kind = ? AND name = ?", (kind, name)
        ).fetchone()
        if row:
            return int(row[0])
        cur = self.conn.execute(
            "INSERT INTO sources (kind, name, detail, created_at) VALUES (?, ?, ?, ?)",
            (kind, name, orjson.dumps(detail or {}).decode(), now_iso()),
        )
        return int(cur.lastrowid or 0)

    def add_document(
        self,
        source_id: int | None,
        filename: str,
        content_type: str,
        data: bytes,
        parse_error: str | None = None,
    ) -> int:
        """Keep a received file byte for byte (once per content); returns its id."""
        return self.add_packed_document(
            source_id, filename, content_type, pack_document(data), parse_error
        )

    def add_packed_document(
        self,
        source_id: int | None,
        filename: str,
        content_type: str,
        document: PackedDocument,
        parse_error: str | None = None,
    ) -> int:
        """add_document for a file hashed and compressed beforehand (on a worker process)."""
        row = self.conn.execute(
            "SELECT id FROM source_documents WHERE sha256 = ?", (document.sha256,)
        ).fetchone()
        if row:
            if parse_error is None:
                self.conn.execute(
                    "UPDATE source_documents SET parse_error = NULL, source_id = "
                    "coalesce(source_id, ?) WHERE id = ?",
                    (source_id, row[0]),
                )
            return int(row[0])
        cur = self.conn.execute(
            "INSERT INTO source_documents (source_id, filename, content_type, sha256, size, "
            "compression, data, received_at, parse_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id, filename, content_type, document.sha256, document.size,
                document.compression, document.data, now_iso(), parse_error,
            ),
        )  # fmt: skip
        return int(cur.lastrowid or 0)

    def document_bytes(self, sha256: str) -> bytes | None:
        """A received file exactly as it arrived, or None if there is none with that hash."""
        row = self.conn.execute(
            "SELECT compression, data FROM source_documents WHERE sha256 = ?", (sha256,)
        ).fetchone()
        if row is None:
            return None
        compression, data = row
        return zlib.decompress(data) if compression == "zlib" else bytes(data)
