"""Plain-data views of domain objects, for `--json` output and the UI. The shapes are stable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from phr_desktop.domain.records import RecordKind
from phr_desktop.services.session import MilestoneView
from phr_desktop.services.share_opening import ShareView
from phr_desktop.services.shared_with import SharedIn
from phr_desktop.vault.stored_record import StoredRecord

# Every record kind, as `--kind` takes them and `--json` gives them.
RECORD_KINDS: tuple[str, ...] = tuple(kind.value for kind in RecordKind)


def record_to_dict(
    stored: StoredRecord,
    sources: list[str] | None = None,
    shared_in: Sequence[SharedIn] | None = None,
) -> dict[str, Any]:
    """A record's stable JSON shape. `sources`: every source of the record's fact (one fact
    once), when the caller has them; `shared_in`: the shares that held it (given by callers
    that read the sharing history, [] otherwise)."""
    r = stored.record
    value, rr = r.value, r.reference_range
    out: dict[str, Any] = {
        "id": stored.id,
        "kind": r.kind.value,
        "category": r.category,
        "title": r.title,
        "date": r.effective.text if r.effective else None,
        "date_precision": r.effective.precision.value if r.effective else None,
        "value": value.value if value else None,
        "value_text": value.text if value else None,
        "unit": value.unit if value else None,
        "reference_range": ({"low": rr.low, "high": rr.high, "text": rr.text} if rr else None),
        "interpretation": r.interpretation,
        "codes": [{"system": c.system, "code": c.code, "display": c.display} for c in r.codes],
        "tags": sorted(r.tags),
        "status": r.status,
        "source_system": r.source_system,
        "facility": r.facility,
        "resource_type": r.resource_type,
        "resource_id": r.resource_id,
        "quality": list(r.quality),
        "sensitivity": stored.sensitivity,
        "source_sensitivity": r.sensitivity,
        "shared_in": [
            {k: v for k, v in s.to_dict().items() if k != "created_at"} for s in shared_in or ()
        ],
    }
    if sources is not None:
        out["sources"] = sources
    return out


def milestone_to_dict(view: MilestoneView) -> dict[str, Any]:
    m = view.milestone
    return {
        "kind": m.kind.value,
        "date": m.date.text,
        "date_precision": m.date.precision.value,
        "title": m.title,
        "detail": m.detail,
        "record_ids": list(view.record_ids),
    }


def timeline_to_dicts(buckets: list[tuple[str, str | None, str, int]]) -> list[dict[str, Any]]:
    """Year → month → counts per kind, newest first."""
    years: dict[str, dict[str | None, dict[str, int]]] = {}
    for year, month, kind, count in buckets:
        years.setdefault(year, {}).setdefault(month, {})[kind] = count
    return [
        {
            "year": year,
            "total": sum(sum(k.values()) for k in months.values()),
            "months": [
                {"month": month, "total": sum(kinds.values()), "kinds": kinds}
                for month, kinds in months.items()
            ],
        }
        for year, months in years.items()
    ]


def share_view_to_dict(view: ShareView) -> dict[str, Any]:
    """`phr share open --json`: the banner's facts, then the records (read-only)."""
    return {
        "signer": {
            "fingerprint": view.signer_fingerprint,
            "patient_name": view.patient_name,
            "confirmed": view.signer_confirmed,
        },
        "recipient": view.recipient,
        "share_id": view.share_id,
        "issued_at": view.issued_at.isoformat(),
        "not_before": view.not_before.isoformat(),
        "expires_at": view.expires_at.isoformat(),
        "record_count": view.record_count,
        "recipient_type": view.recipient_type,
        "view_only": not view.allow_save,
        "records": [
            {
                "kind": r.kind.value,
                "title": r.title,
                "date": r.effective.text if r.effective else None,
                "value": r.value.value if r.value else None,
                "value_text": r.value.text if r.value else None,
                "unit": r.value.unit if r.value else None,
                "resource_type": r.resource_type,
                "resource_id": r.resource_id,
            }
            for r in view.records_newest_first()
        ],
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "record": a.owner_title,
            }
            for a in view.attachments
        ],
    }
