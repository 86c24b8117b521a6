"""How to search a server for each resource type: plain `patient`, or once per category.

US Core makes `patient`+`category` the search every server SHALL take for Observation (and
Epic refuses Observation, Condition and DocumentReference searches without `category`: 400
"A required search parameter is missing: category"), while most servers also take `patient`
alone. The server's CapabilityStatement and its first refused search say which it needs; the
answer is remembered per connection (`SearchRules`, kept in `connections.smart_config`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

# The categories a server may require, in the order searched. Observation: the US Core
# categories (`clinical-test`, US Core 6+, is where pulmonary function tests live).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Observation": (
        "laboratory", "vital-signs", "social-history", "survey", "sdoh", "exam", "imaging",
        "procedure", "therapy", "activity", "clinical-test",
    ),
    "Condition": ("problem-list-item", "encounter-diagnosis", "health-concern"),
    # US Core's DocumentReference category value set has one code; notes are all under it.
    "DocumentReference": ("clinical-note",),
}  # fmt: skip

# What a patient would call each type's data, for "which data is missing" messages.
TYPE_LABELS: dict[str, str] = {
    "Patient": "your demographics",
    "Condition": "problems and diagnoses",
    "Observation": "lab results, vital signs and other observations",
    "MedicationRequest": "prescriptions",
    "MedicationStatement": "medication lists",
    "Procedure": "procedures",
    "DiagnosticReport": "test reports",
    "DocumentReference": "clinical notes and documents",
    "AllergyIntolerance": "allergies",
    "Immunization": "immunizations",
    "Encounter": "visits",
    "ImagingStudy": "imaging studies",
}

# Statuses a server answers when it will not take a search as asked (bad or missing
# parameters): another strategy may work. 403 (scope) and 404/405/501 (no such search) end it.
REFUSED_AS_ASKED = frozenset({400, 422})

_COMBINATION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)
_STORED_KEY = "search_rules"


@dataclass(frozen=True)
class Search:
    """One search of a sync: a type's plain `patient` search, or one category of it."""

    resource_type: str
    category: str | None = None

    @property
    def key(self) -> str:
        """The name its checkpoint is kept under (a sync_state row)."""
        if self.category is None:
            return self.resource_type
        return f"{self.resource_type}?category={self.category}"

    def first_url(self, patient: str, page_size: int, since: str | None) -> str:
        if self.resource_type == "Patient":
            return f"Patient/{patient}"  # a read: every server takes it, not every one a search
        params = {"patient": patient}
        if self.category is not None:
            params["category"] = self.category
        params["_count"] = str(page_size)
        if since:
            # `ge`, not `gt`: Oracle Health refuses `gt` for some types (MedicationRequest
            # takes only ge/le), every server takes `ge`, and the overlap makes them equal.
            params["_lastUpdated"] = f"ge{since}"
        return f"{self.resource_type}?{urlencode(params)}"

    @staticmethod
    def from_key(key: str) -> Search:
        rtype, _, category = key.partition("?category=")
        return Search(rtype, category or None)


@dataclass
class SearchRules:
    """What this connection's server was found to need, remembered between syncs."""

    by_category: set[str] = field(default_factory=set)  # types searched once per category
    no_last_updated: set[str] = field(default_factory=set)  # types synced in full each time
    capabilities_read: bool = False

    @staticmethod
    def from_config(smart_config: dict[str, Any]) -> SearchRules:
        stored = smart_config.get(_STORED_KEY)
        if not isinstance(stored, dict):
            return SearchRules()
        return SearchRules(
            by_category={t for t in stored.get("by_category", []) if t in CATEGORIES},
            no_last_updated=set(stored.get("no_last_updated", [])),
            capabilities_read=bool(stored.get("capabilities_read")),
        )

    def into_config(self, smart_config: dict[str, Any]) -> dict[str, Any]:
        return {
            **smart_config,
            _STORED_KEY: {
                "by_category": sorted(self.by_category),
                "no_last_updated": sorted(self.no_last_updated),
                "capabilities_read": self.capabilities_read,
            },
        }

    def searches(self, resource_type: str) -> list[Search]:
        if resource_type in self.by_category:
            return [Search(resource_type, c) for c in CATEGORIES[resource_type]]
        return [Search(resource_type)]

    def describe(self) -> dict[str, str]:
        """{type: how it is searched} for the types that differ from a plain search."""
        out = {t: "per category" for t in sorted(self.by_category)}
        for rtype in sorted(self.no_last_updated):
            out[rtype] = f"{out[rtype]}, in full" if rtype in out else "in full"
        return out


def may_search_by_category(resource_type: str) -> bool:
    return resource_type in CATEGORIES


def _combinations(resource: dict[str, Any]) -> list[set[str]]:
    combos = []
    for ext in resource.get("extension") or []:
        if not isinstance(ext, dict) or ext.get("url") != _COMBINATION:
            continue
        required = {
            str(inner.get("valueString"))
            for inner in ext.get("extension") or []
            if isinstance(inner, dict) and inner.get("url") == "required"
        }
        if required:
            combos.append(required)
    return combos


def types_needing_category(statement: Any) -> set[str]:
    """The types a CapabilityStatement says cannot be searched by patient alone: `category` is
    a search parameter, and every declared parameter combination with the patient also has
    `category` (or the type lists no `patient` parameter at all)."""
    if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
        return set()
    found: set[str] = set()
    for rest in statement.get("rest") or []:
        if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource") or []:
            if not isinstance(resource, dict) or resource.get("type") not in CATEGORIES:
                continue
            params = {
                str(p.get("name"))
                for p in resource.get("searchParam") or []
                if isinstance(p, dict) and p.get("name")
            }
            if "category" not in params:
                continue
            with_patient = [c for c in _combinations(resource) if c & {"patient", "subject"}]
            by_patient = bool(params & {"patient", "subject"})
            if (with_patient and all("category" in c for c in with_patient)) or not by_patient:
                found.add(str(resource["type"]))
    return found


def missing_data_message(resource_type: str, why: Iterable[str]) -> str:
    """`failed` detail: which data did not arrive and the server's reasons."""
    label = TYPE_LABELS.get(resource_type, resource_type)
    # "the server refused it (400: …)" from each search: the status and the server's words.
    bare = (
        w.removeprefix("the server refused it").strip().removeprefix("(").removesuffix(")")
        for w in why
    )
    reasons = "; ".join(dict.fromkeys(bare)) or "no reason given"
    return (
        f"{label} not fetched: the server refused every way of searching for them ({reasons}). "
        "What was stored before is kept; the next sync tries again."
    )
