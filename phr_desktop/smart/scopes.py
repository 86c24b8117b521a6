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
    "ImagingStudy",  # the study's description only; images are never fetched
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


def category_limits(granted_scope: str) -> dict[str, tuple[str, ...]]:
    """Types the patient let us read only in some categories (SMART v2 granular scopes, which
    US Core 6+ servers offer for Observation and Condition: `patient/Observation.rs?category=
    http://terminology.hl7.org/CodeSystem/observation-category|laboratory`), with those
    categories as granted. A type also granted without a limit is not in the answer."""
    limited: dict[str, list[str]] = {}
    unlimited: set[str] = set()
    for scope in granted_scope.split():
        context, _, rest = scope.partition("/")
        if context not in ("patient", "user") or "." not in rest:
            continue
        rtype, _, permission = rest.partition(".")
        if not _reads(permission):
            continue
        query = permission.partition("?")[2]
        key, _, value = query.partition("=")
        if not query:
            unlimited.add(rtype)
        elif key == "category" and value and "&" not in value:
            limited.setdefault(rtype, []).append(value)
        else:
            unlimited.add(rtype)  # a limit we cannot search by: ask plainly, the server filters
    if "*" in unlimited:
        return {}
    return {t: tuple(dict.fromkeys(c)) for t, c in limited.items() if t not in unlimited}


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
