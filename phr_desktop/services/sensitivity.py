"""Sensitivity use cases: the patient labels records, reveals restricted ones for the session
(the passphrase asked again), and sees how many sensitive or restricted records a share or
export would hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phr_desktop.domain.sensitivity import LEVELS, Sensitivity
from phr_desktop.services.errors import ServiceError
from phr_desktop.vault import sensitivity as vault_sensitivity
from phr_desktop.vault.database import transaction
from phr_desktop.vault.errors import VaultError

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = [
    "LEVELS",
    "Sensitivity",
    "SensitivityCounts",
    "hide_restricted",
    "label_records",
    "patient_label",
    "restricted_revealed",
    "reveal_restricted",
    "sensitivity_counts",
    "sensitivity_summary",
]


@dataclass(frozen=True)
class SensitivityCounts:
    """How many records of a choice are at each level (what a share or export says)."""

    normal: int = 0
    sensitive: int = 0
    restricted: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"normal": self.normal, "sensitive": self.sensitive, "restricted": self.restricted}


def label_records(session: Session, record_ids: Iterable[int], level: str | None) -> int:
    """Set the patient's own sensitivity on these records ("source" or None: back to what the
    source said). The audit log gets the level and how many, never which records."""
    if level == "source":
        level = None
    with session.write_lock, transaction(session.vault.conn):
        try:
            count = vault_sensitivity.set_label(session.vault.conn, record_ids, level)
        except VaultError as exc:
            raise ServiceError(str(exc)) from None
        session.vault.audit.append("label", sensitivity=level or "source", records=count)
    return count


def reveal_restricted(session: Session, passphrase: str) -> None:
    """Show restricted records in every view until the session ends or `hide_restricted`;
    only with the profile's passphrase (VaultError when it is wrong, counted like an unlock)."""
    session.vault.confirm_passphrase(passphrase)
    session.queries.reveal_restricted = True
    session.vault.audit.append("reveal_restricted")


def patient_label(session: Session, record_id: int) -> str | None:
    """The level the patient set on a record, or None when the source's level applies."""
    row = session.vault.conn.execute(
        "SELECT sensitivity FROM record_labels WHERE record_id = ?", (record_id,)
    ).fetchone()
    return str(row[0]) if row else None


def hide_restricted(session: Session) -> None:
    session.queries.reveal_restricted = False


def restricted_revealed(session: Session) -> bool:
    return session.queries.reveal_restricted


def sensitivity_counts(session: Session, record_ids: Sequence[int]) -> SensitivityCounts:
    counts = vault_sensitivity.count_by_sensitivity(session.vault.conn, record_ids)
    return SensitivityCounts(**{level: counts.get(level, 0) for level in LEVELS})


def sensitivity_summary(counts: SensitivityCounts, restricted_included: bool) -> str:
    """What a share or export says about its sensitive and restricted records."""
    held = f"It holds {counts.sensitive} record(s) marked sensitive"
    if restricted_included:
        return f"{held} and {counts.restricted} restricted record(s), included as you asked."
    if counts.restricted:
        return (
            f"{held}; {counts.restricted} restricted record(s) were left out "
            "(--include-restricted includes them)."
        )
    return f"{held} and no restricted records."
