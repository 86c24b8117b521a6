"""Which raw version of a resource is current: the versions a source has stored, looked up in
bulk, and whether an incoming version replaces the current one."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from phr_desktop.vault.database import Connection, id_chunks


@dataclass(frozen=True, slots=True)
class StoredVersion:
    raw_id: int
    sha256: str
    is_current: bool
    last_updated: str | None
    version: str | None


def stored_versions(
    conn: Connection, source_id: int, wanted: Set[tuple[str, str]]
) -> dict[tuple[str, str], list[StoredVersion]]:
    """Every stored raw version of the `wanted` resources of a source, by (type, id): one
    index lookup per resource id."""
    ids = sorted({rid for _, rid in wanted})
    found: dict[tuple[str, str], list[StoredVersion]] = {}
    for chunk in id_chunks(ids):
        marks = ",".join("?" * len(chunk))
        for rtype, rid, raw_id, sha, current, updated, version in conn.execute(
            "SELECT resource_type, resource_id, id, sha256, is_current, last_updated, "
            f"version_id FROM raw_resources WHERE source_id = ? AND resource_id IN ({marks})",
            (source_id, *chunk),
        ):
            if (rtype, rid) in wanted:
                found.setdefault((rtype, rid), []).append(
                    StoredVersion(raw_id, sha, bool(current), updated, version)
                )
    return found


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_newer(
    new_updated: str | None,
    new_version: str | None,
    current_updated: str | None,
    current_version: str | None,
) -> bool:
    """Whether an incoming version should replace the current one (ties go to the newcomer)."""
    new_at, old_at = _instant(new_updated), _instant(current_updated)
    if new_at and old_at and new_at != old_at:
        return new_at > old_at
    new_v, old_v = new_version or "", current_version or ""
    if new_v.isdigit() and old_v.isdigit() and new_v != old_v:
        return int(new_v) > int(old_v)
    return True
