"""What the patient is told about backups: the last good one, and every reason to worry (none,
older than a week, a failed run, another computer's newer backup). Told, not hoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STALE_AFTER = timedelta(days=7)
TWO_COMPUTERS = (
    "Using one profile on two computers at once is not supported: changes made on one are "
    "not in the other's backups. Keep using one computer, or restore that backup here "
    "(File → Restore from backup…, or `phr vault restore`)."
)


@dataclass(frozen=True)
class LastBackup:
    path: Path
    made: datetime


@dataclass(frozen=True)
class BackupStatus:
    """What the dashboard, `phr vault check` and the settings dialog show."""

    folder: Path | None
    keep: int
    last_good: LastBackup | None
    failure: str | None
    elsewhere: str | None  # a newer backup made on another computer, named

    def warnings(self, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        out: list[str] = []
        if self.failure:
            out.append(f"The last backup failed: {self.failure}")
        if self.elsewhere:
            out.append(self.elsewhere)
        if self.last_good is None:
            where = (
                "Choose a backup folder in Settings → Automatic backups (or `phr vault "
                "auto-backup FOLDER`)."
                if self.folder is None
                else "One is made after the next change, or use File → Back up now…."
            )
            out.append(f"This profile has no backup yet. {where}")
        elif now - self.last_good.made > STALE_AFTER:
            days = (now - self.last_good.made).days
            out.append(
                f"The last good backup is {days} days old ({self.last_good.made:%Y-%m-%d}). "
                + (
                    "Automatic backups are off: turn them on in Settings → Automatic backups."
                    if self.folder is None
                    else f"Check that {self.folder} is there (a drive plugged in), or use "
                    "File → Back up now…."
                )
            )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder) if self.folder else None,
            "keep": self.keep,
            "last_good": (
                {"path": str(self.last_good.path), "made": self.last_good.made.isoformat()}
                if self.last_good
                else None
            ),
            "failure": self.failure,
            "elsewhere": self.elsewhere,
            "warnings": self.warnings(),
        }
