"""What making a share returns: the file, the key, its fingerprint and what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from phr_desktop.services.sensitivity import SensitivityCounts


@dataclass(frozen=True)
class CreatedShare:
    id: str
    file: Path
    key: str  # 10 groups of 5 characters (share_key.py): what the clinician types or scans
    key_display: str  # the same, as printed
    expires_at: datetime
    fingerprint: str
    fingerprint_display: str
    record_count: int
    passcode: bool
    key_handed_out: bool
    attachment_count: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    label: str = ""
    patient_name: str = ""
    # The JWE content key as a JWK, for standard JOSE tools; None with a passcode (the content
    # key then also depends on it) or while the key is held back.
    key_jwk: dict[str, str] | None = None
    handout: Path | None = None
    html: Path | None = None  # the same share as one HTML file that opens in a browser
    recipient_type: str = "provider"
    allow_save: bool = True  # whether the clinician's viewer offers to save attached files
    sensitivity: SensitivityCounts = field(default_factory=SensitivityCounts)
