"""Which scopes to ask for, and which resource types a granted scope lets us read."""

from __future__ import annotations

from phr_desktop.smart.discovery import SmartConfiguration

SYNC_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "DiagnosticReport",
    "DocumentReference",
    "AllergyIntolerance",
    "Immunization",
    "Encounter",
)
_BASE = "launch/patient openid fhirUser offline_access"


def requested_scope(config: SmartConfiguration) -> str:
    """SMART v2 (`patient/*.rs`) when the server advertises it, else v1 (`patient/*.read`)."""
    return f"{_BASE} {'patient/*.rs' if config.smart_v2 else 'patient/*.read'}"


def _reads(permission: str) -> bool:
    if permission in ("read", "*"):
        return True
    # v2 permissions are letters from "cruds"; a query string may follow ("rs?category=...").
    letters = permission.split("?", 1)[0]
    return bool(letters) and set(letters) <= set("cruds") and "r" in letters and "s" in letters


def readable_types(granted_scope: str) -> tuple[str, ...]:
    """The sync types the granted scope lets us read, in sync order."""
    types: set[str] = set()
    for scope in granted_scope.split():
        context, _, rest = scope.partition("/")
        if context not in ("patient", "user") or "." not in rest:
            continue
        rtype, _, permission = rest.partition(".")
        if _reads(permission):
            types.update(SYNC_TYPES if rtype == "*" else (rtype,))
    return tuple(t for t in SYNC_TYPES if t in types)
