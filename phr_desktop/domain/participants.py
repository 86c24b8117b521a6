"""Who ordered, performed, read or recorded a record, by name, from the raw resource.

A reference names a person or organisation in one of three ways, tried in this order: its own
`display`, a resource `contained` in the record (`#id`), or a Practitioner, PractitionerRole or
Organization the same source sent separately (looked up by the caller's `find`). A reference
that none of these names is left out: an id means nothing to a patient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Roles in the order the record detail lists them.
ORDERED_BY = "Ordered by"
PERFORMED_BY = "Performed by"
INTERPRETED_BY = "Interpreted by"
RECORDED_BY = "Recorded by"
REPORTED_BY = "Reported by"
ROLES = (ORDERED_BY, PERFORMED_BY, INTERPRETED_BY, RECORDED_BY, REPORTED_BY)

# Where each role's references sit: (path to a reference or a list of them, role). A path step
# "*" walks every item of a list; the last step names the Reference element.
_PATHS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("requester",), ORDERED_BY),  # MedicationRequest, ServiceRequest
    (("referrer",), ORDERED_BY),  # ImagingStudy
    (("performer",), PERFORMED_BY),  # Observation, DiagnosticReport, MedicationRequest
    (("performer", "*", "actor"), PERFORMED_BY),  # Procedure, Immunization
    (("series", "*", "performer", "*", "actor"), PERFORMED_BY),  # ImagingStudy
    (("participant", "*", "individual"), PERFORMED_BY),  # Encounter
    (("interpreter",), INTERPRETED_BY),  # ImagingStudy
    (("resultsInterpreter",), INTERPRETED_BY),  # DiagnosticReport
    (("recorder",), RECORDED_BY),  # Condition, AllergyIntolerance, Procedure
    (("author",), RECORDED_BY),  # DocumentReference
    (("asserter",), REPORTED_BY),  # Condition, AllergyIntolerance, Procedure
    (("informationSource",), REPORTED_BY),  # MedicationStatement
)

NAMED_TYPES = ("Practitioner", "PractitionerRole", "Organization")

Finder = Callable[[str, str], Mapping[str, Any] | None]  # (resource type, id) → resource


@dataclass(frozen=True)
class Participant:
    role: str
    name: str


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _references(node: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    nodes = [node]
    for step in path:
        nxt: list[Any] = []
        for n in nodes:
            if step == "*":
                nxt.extend(n if isinstance(n, list) else [])
            elif isinstance(n, dict):
                nxt.append(n.get(step))
        nodes = nxt
    flat: list[Any] = []
    for n in nodes:
        flat.extend(n if isinstance(n, list) else [n])
    return [n for n in flat if isinstance(n, dict)]


def human_name(resource: Mapping[str, Any]) -> str | None:
    """A Practitioner's or Organization's name as written ("Dr Daniel R. Okafor")."""
    if _text(resource.get("name")):  # Organization
        return _text(resource.get("name"))
    names = resource.get("name")
    name = names[0] if isinstance(names, list) and names else None
    if not isinstance(name, dict):
        return None
    if _text(name.get("text")):
        return _text(name.get("text"))
    parts = [
        *(p for p in name.get("prefix") or [] if isinstance(p, str)),
        *(g for g in name.get("given") or [] if isinstance(g, str)),
        *([name["family"]] if isinstance(name.get("family"), str) else []),
        *(s for s in name.get("suffix") or [] if isinstance(s, str)),
    ]
    return " ".join(p.strip() for p in parts if p.strip()) or None


def _split(reference: str) -> tuple[str, str] | None:
    parts = reference.split("/_history", 1)[0].rstrip("/").split("/")
    return (parts[-2], parts[-1]) if len(parts) >= 2 else None


def _named(
    ref: Mapping[str, Any], contained: Mapping[str, Mapping[str, Any]], find: Finder | None
) -> str | None:
    if _text(ref.get("display")):
        return _text(ref.get("display"))
    reference = _text(ref.get("reference"))
    if reference is None:
        return None
    if reference.startswith("#"):
        found = contained.get(reference[1:])
        return human_name(found) if found else None
    split = _split(reference)
    if find is None or split is None or split[0] not in NAMED_TYPES:
        return None
    resource = find(*split)
    if resource is None:
        return None
    if split[0] == "PractitionerRole":  # the person, else the organisation, it stands for
        for key in ("practitioner", "organization"):
            inner = resource.get(key)
            if isinstance(inner, dict):
                name = _named(inner, {}, find)
                if name:
                    return name
        return None
    return human_name(resource)


def participants(resource: Mapping[str, Any], find: Finder | None = None) -> list[Participant]:
    """Everyone the resource names in a role, by name, each (role, name) once, in role order."""
    contained = {
        str(c["id"]): c
        for c in resource.get("contained") or []
        if isinstance(c, dict) and isinstance(c.get("id"), str)
    }
    found: list[Participant] = []
    for path, role in _PATHS:
        for ref in _references(resource, path):
            name = _named(ref, contained, find)
            if name and Participant(role, name) not in found:
                found.append(Participant(role, name))
    return sorted(found, key=lambda p: ROLES.index(p.role))
