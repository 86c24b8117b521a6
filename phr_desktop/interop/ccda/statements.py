"""C-CDA clinical statements for the entry mappers: finding an entry's statement and the ones
nested in it, and the FHIR resource skeleton every mapper starts from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.values import (
    Narrative,
    attr,
    child,
    children,
    identifiers,
    resource_id,
    template_roots,
    v,
)

_CLINICAL_ENTRY_TAGS = (
    "observation",
    "act",
    "organizer",
    "substanceAdministration",
    "supply",
    "procedure",
    "encounter",
)


@dataclass
class Context:
    """What every entry mapper needs: the narrative, the patient, the document's own name."""

    narrative: Narrative
    patient_ref: dict[str, str]
    meta: dict[str, Any]


# One section's entry mapper: its clinical statement in, FHIR resources (as dicts) out.
Mapper = Callable[[etree._Element, Context], Iterator[dict[str, Any]]]

# Section Time Range Observation (C-CDA R2.1 Companion Guide): the period a section covers, said
# about the section, not the patient; as a record it would be a lab result named "Clinical data".
_SECTION_TIME_RANGE = ("2.16.840.1.113883.10.20.22.4.201", "82607-3")


def clinical_statement(entry: etree._Element) -> etree._Element | None:
    """The entry's act, observation, organizer…; None when it has none about the patient."""
    for el in entry:
        if isinstance(el.tag, str) and el.tag in {v(t) for t in _CLINICAL_ENTRY_TAGS}:
            return None if _describes_section(el) else el
    return None


def _describes_section(el: etree._Element) -> bool:
    template, loinc = _SECTION_TIME_RANGE
    return template in template_roots(el) or attr(child(el, "code"), "code") == loinc


def nested_statements(
    el: etree._Element, tag: str, template: str | None = None
) -> list[etree._Element]:
    """Clinical statements under entryRelationship/component, optionally of one template."""
    out = []
    for rel in (*children(el, "entryRelationship"), *children(el, "component")):
        for inner in children(rel, tag):
            if template is None or template in template_roots(inner):
                out.append(inner)
    return out


def resource_base(
    resource_type: str, el: etree._Element, ctx: Context, salt: str = ""
) -> dict[str, Any]:
    """The resource's type, stable id (from the statement), meta and identifiers."""
    out: dict[str, Any] = {
        "resourceType": resource_type,
        "id": resource_id(resource_type, el, salt),
        "meta": ctx.meta,
    }
    ids = identifiers(el)
    if ids:
        out["identifier"] = ids
    return out


def negated(el: etree._Element) -> bool:
    return el.get("negationInd") == "true"


def status_code(el: etree._Element) -> str | None:
    return attr(child(el, "statusCode"), "code")


def statement_text(el: etree._Element, ctx: Context) -> str | None:
    """The statement's own text, resolved into the section's narrative when it points there."""
    return ctx.narrative.resolve(child(el, "text"))


def set_nonempty(out: dict[str, Any], key: str, value: Any) -> None:
    """FHIR has no empty elements: set `key` only when there is something to say."""
    if value:
        out[key] = value


def text_concept(text: str | None) -> dict[str, Any] | None:
    """A CodeableConcept of text only, for a statement that names its subject but codes nothing."""
    return {"text": text} if text else None


def titled(code: dict[str, Any] | None, el: etree._Element, ctx: Context) -> dict[str, Any] | None:
    """`code` with a human text: its own (displayName, originalText), else the statement's
    text in the narrative, else the name the document gives the same code elsewhere. Many
    vendors code an entry (LOINC, RxNorm) without a displayName and name it only in the
    section's table or in another entry: without this it would be called "LOINC 5767-9"."""
    if not code or code.get("text"):
        return code
    set_nonempty(code, "text", statement_text(el, ctx))
    for coding in code.get("coding", []):
        if not code.get("text"):
            set_nonempty(
                code, "text", ctx.narrative.code_name(coding.get("system"), coding["code"])
            )
    return code
