"""How sensitive a record is: normal, sensitive (shown, but counted in every share and export)
or restricted (hidden until revealed, left out of shares and exports unless included).

A record's level comes from its source (FHIR `meta.security` confidentiality R or V means
restricted) unless the patient has set one, which wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

# HL7 v3 Confidentiality (FHIR R4 `meta.security` value set): R "restricted" and V "very
# restricted" are the codes a source uses to say a record needs more care than usual.
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
_RESTRICTED_CODES = frozenset({"R", "V"})


class Sensitivity(StrEnum):
    NORMAL = "normal"
    SENSITIVE = "sensitive"
    RESTRICTED = "restricted"


LEVELS: tuple[str, ...] = tuple(level.value for level in Sensitivity)


def sensitivity_from_source(resource: Mapping[str, Any]) -> Sensitivity:
    """Restricted when the resource's `meta.security` holds confidentiality R or V.

    The older system URI (`http://hl7.org/fhir/v3/Confidentiality`, R2/R3 era) and a coding
    without a system are read the same way: a source that marks a record restricted with a
    slightly wrong system still means it.
    """
    meta = resource.get("meta")
    security = meta.get("security") if isinstance(meta, Mapping) else None
    if not isinstance(security, list):
        return Sensitivity.NORMAL
    for coding in security:
        if not isinstance(coding, Mapping) or coding.get("code") not in _RESTRICTED_CODES:
            continue
        system = coding.get("system")
        if system is None or (isinstance(system, str) and system.endswith("Confidentiality")):
            return Sensitivity.RESTRICTED
    return Sensitivity.NORMAL
