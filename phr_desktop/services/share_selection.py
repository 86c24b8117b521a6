"""What a share holds: the patient's choice of records (filters, hand-picked ids, presets), how
many records that is at each sensitivity level, and how long the share lasts."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.sensitivity import SensitivityCounts, sensitivity_counts
from phr_desktop.services.shared_with import restricted_ids
from phr_desktop.vault.queries import RecordFilter

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

DEFAULT_EXPIRY = "30d"
MAX_EXPIRY = timedelta(days=366)


@dataclass(frozen=True)
class ShareSelection:
    """What to share: records matching the filter (kinds AND dates AND tag), plus hand-picked
    ids, plus every record matched by any of `any_of` (presets are built from these)."""

    kinds: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    tag: str | None = None
    record_ids: tuple[int, ...] = ()
    any_of: tuple[RecordFilter, ...] = ()
    preset: str | None = None

    @property
    def has_filter(self) -> bool:
        return bool(self.kinds or self.since or self.until or self.tag)

    def describe(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("preset", self.preset),
                ("kinds", list(self.kinds)),
                ("since", self.since),
                ("until", self.until),
                ("tag", self.tag),
                ("hand_picked", len(self.record_ids)),
            )
            if v
        }


PRESETS: dict[str, ShareSelection] = {
    # Everything a new pulmonologist needs: the AATD work-up, lung function, augmentation,
    # liver follow-up, and the current lists (problems, medicines, allergies, vaccines).
    "pulmonologist": ShareSelection(
        preset="pulmonologist",
        any_of=(
            *(RecordFilter(tag=t) for t in ("aatd", "lung_function", "augmentation", "liver")),
            RecordFilter(kinds=("problem", "medication", "allergy", "immunization")),
        ),
    ),
}


_DURATION = re.compile(r"^\s*(\d+)\s*([dhs])\s*$")


def parse_expiry(text: str | None, now: datetime) -> datetime:
    """`30d`, `12h`, `45s`, or a date `YYYY-MM-DD` (valid to the end of that day, UTC)."""
    text = (text or DEFAULT_EXPIRY).strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(seconds=amount)
        )
        until = now + delta
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ServiceError(
                f"Expiry {text!r} is not understood; use 30d, 12h, 45s or a date YYYY-MM-DD."
            ) from None
        until = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
    if until <= now:
        raise ServiceError("The expiry is not in the future.")
    if until - now > MAX_EXPIRY:
        raise ServiceError("A share can last at most a year; choose an earlier expiry.")
    return until


def select_ids(
    session: Session, selection: ShareSelection, include_restricted: bool = False
) -> list[int]:
    """The chosen ids; restricted records only when explicitly included (hand-picked ones
    too: picking a record while it was revealed does not include it by accident)."""
    ids: set[int] = set(selection.record_ids)
    for f in selection.any_of:
        ids.update(session.record_ids(replace(f, include_restricted=include_restricted)))
    if selection.has_filter or not (selection.record_ids or selection.any_of):
        ids.update(
            session.record_ids(
                RecordFilter(
                    kinds=selection.kinds,
                    since=selection.since,
                    until=selection.until,
                    tag=selection.tag,
                    include_restricted=include_restricted,
                )
            )
        )
    if not include_restricted and selection.record_ids:
        ids.difference_update(restricted_ids(session, selection.record_ids))
    return sorted(ids)


def count_selection(
    session: Session, selection: ShareSelection, include_restricted: bool = False
) -> int:
    """How many records `create_share` would seal for this choice (the patient's own details
    travel in every share and are not counted, as in `CreatedShare.record_count`)."""
    ids = set(select_ids(session, selection, include_restricted))
    if not ids:
        return 0
    return len(ids.difference(session.record_ids(RecordFilter(kinds=("patient",)))))


def count_selection_by_sensitivity(
    session: Session, selection: ShareSelection
) -> SensitivityCounts:
    """What a share of this choice would hold at each level, restricted ones included: the
    app's "include N restricted records" checkbox and the sensitive count come from here."""
    ids = select_ids(session, selection, include_restricted=True)
    patient = set(session.record_ids(RecordFilter(kinds=("patient",), include_restricted=True)))
    return sensitivity_counts(session, [i for i in ids if i not in patient])
