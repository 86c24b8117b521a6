"""Reads about a record beyond its own row (its sources, raw resource, attachments and indexed
text) and the patient's notes on it: what the record's detail pane and the exports ask by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from phr_desktop.vault.database import Connection
from phr_desktop.vault.timestamps import now_iso

# Ids per `IN (...)` query when reading raw bodies in bulk: well under SQLite's bound on
# parameters, and few enough bodies (a few MB) to hold at once.
RAW_BODY_BATCH = 500


class RecordDetails:
    """Part of RecordQueries (its base): the reads and notes of records named by id."""

    conn: Connection

    def attachments(self, record_id: int) -> list[tuple[int, str, str, int]]:
        """(id, file name, content type, size) of the files attached to a record."""
        return list(
            self.conn.execute(
                "SELECT a.id, a.filename, a.content_type, a.size FROM attachments a "
                "LEFT JOIN records r ON r.raw_id = a.raw_id "
                "WHERE a.record_id = ?1 OR r.id = ?1 ORDER BY a.id",
                (record_id,),
            )
        )

    def attachment_data(self, attachment_id: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT data FROM attachments WHERE id = ?", (attachment_id,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def origins_of(self, record_ids: Sequence[int]) -> dict[int, str]:
        """Each record's own source ("Imported files (alice.xml)"), not its fact's."""
        out: dict[int, str] = {}
        for start in range(0, len(record_ids), 500):
            chunk = list(record_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for rid, name, filename in self.conn.execute(
                "SELECT r.id, s.name, d.filename FROM records r "
                "JOIN sources s ON s.id = r.source_id "
                "LEFT JOIN raw_resources w ON w.id = r.raw_id "
                "LEFT JOIN source_documents d ON d.id = w.document_id "
                f"WHERE r.id IN ({marks})",
                chunk,
            ):
                out[rid] = f"{name} ({filename})" if filename else name
        return out

    def sources_of(self, record_ids: Sequence[int]) -> dict[int, list[str]]:
        """Every source of each of these records' facts: the source's name, and for a file
        the file's name ("Imported files (alice.xml)"), in the order they arrived."""
        shown_of: dict[int, int] = {}
        for start in range(0, len(record_ids), 500):
            chunk = list(record_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            shown_of.update(
                self.conn.execute(
                    f"SELECT id, coalesce(same_as, id) FROM records WHERE id IN ({marks})", chunk
                ).fetchall()
            )
        shown_ids = sorted(set(shown_of.values()))
        found: dict[int, list[str]] = {}
        for start in range(0, len(shown_ids), 500):
            chunk = shown_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT coalesce(r.same_as, r.id), s.name, d.filename FROM records r "
                "JOIN sources s ON s.id = r.source_id "
                "LEFT JOIN raw_resources w ON w.id = r.raw_id "
                "LEFT JOIN source_documents d ON d.id = w.document_id "
                f"WHERE r.id IN ({marks}) OR r.same_as IN ({marks}) ORDER BY r.id",
                (*chunk, *chunk),
            )
            for shown, name, filename in rows:
                label = f"{name} ({filename})" if filename else name
                names = found.setdefault(shown, [])
                if label not in names:
                    names.append(label)
        return {rid: found.get(shown_of.get(rid, rid), []) for rid in record_ids}

    def record_text(self, record_id: int) -> str:
        """The record's own text as indexed for search (a document's text, a note's body…)."""
        row = self.conn.execute(
            "SELECT body FROM search_index WHERE rowid = ?", (record_id,)
        ).fetchone()
        return str(row[0] or "") if row else ""

    def raw_body(self, record_id: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT w.body FROM records r JOIN raw_resources w ON w.id = r.raw_id WHERE r.id = ?",
            (record_id,),
        ).fetchone()
        return bytes(row[0]) if row else None

    def raw_bodies(self, record_ids: Sequence[int]) -> dict[int, bytes]:
        """Raw bodies of many records by id, one query per `RAW_BODY_BATCH` ids: an export of
        100k records once issued 85,595 one-row queries. Unknown ids are left out."""
        found: dict[int, bytes] = {}
        for start in range(0, len(record_ids), RAW_BODY_BATCH):
            chunk = record_ids[start : start + RAW_BODY_BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT r.id, w.body FROM records r JOIN raw_resources w ON w.id = r.raw_id "
                f"WHERE r.id IN ({marks})",
                tuple(chunk),
            )
            found.update((int(rid), bytes(body)) for rid, body in rows)
        return found

    def raw_body_and_source(self, record_id: int) -> tuple[bytes, str, dict[str, Any]] | None:
        """The record's raw resource with its source's kind and detail (a SMART source's
        `fhir_base`, say)."""
        row = self.conn.execute(
            "SELECT w.body, s.kind, s.detail FROM records r "
            "JOIN raw_resources w ON w.id = r.raw_id JOIN sources s ON s.id = w.source_id "
            "WHERE r.id = ?",
            (record_id,),
        ).fetchone()
        if row is None:
            return None
        try:
            detail = orjson.loads(row[2] or "{}")
        except orjson.JSONDecodeError:
            detail = {}
        return bytes(row[0]), str(row[1]), detail if isinstance(detail, dict) else {}

    # --- the patient's own notes ------------------------------------------------------------

    def add_note(self, record_id: int | None, text: str) -> int:
        stamp = now_iso()
        cur = self.conn.execute(
            "INSERT INTO notes (record_id, text, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (record_id, text, stamp, stamp),
        )
        if record_id is not None:
            self._reindex_notes(record_id)
        return int(cur.lastrowid or 0)

    def notes(self, record_id: int) -> list[tuple[int, str, str]]:
        return list(
            self.conn.execute(
                "SELECT id, text, created_at FROM notes WHERE record_id = ? ORDER BY id",
                (record_id,),
            )
        )

    def _reindex_notes(self, record_id: int) -> None:
        self.conn.execute(
            "UPDATE search_index SET notes = (SELECT coalesce(group_concat(text, ' '), '') "
            "FROM notes WHERE record_id = ?1) WHERE rowid = ?1",
            (record_id,),
        )
