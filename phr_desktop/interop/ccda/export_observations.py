"""C-CDA R2.1 observation entries: results and vital signs in organizers, social history.

Like export_entries, each builder writes one record under an `<entry>`, pointing at its
narrative row; a FHIR Observation's components become the organizer's observations.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from phr_desktop.domain.codes import LOINC, SNOMED, canonical_system, codes_of, display_of
from phr_desktop.domain.records import Code
from phr_desktop.interop.ccda.export_entries import R20, R21, entry_id, fhir_period, text_ref
from phr_desktop.interop.ccda.export_values import (
    LOINC_OID,
    SNOMED_OID,
    coded,
    known_codes,
    number_text,
    quantity_attrs,
    sub,
    template,
    time_element,
    ts_value,
)
from phr_desktop.interop.export_data import ExportRecord

SMOKING_STATUS = "72166-2"  # LOINC "Tobacco smoking status"

# --- results and vital signs ---------------------------------------------------------------


def result_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    _organizer(entry, rec, ref, "2.16.840.1.113883.10.20.22.4.1", "2.16.840.1.113883.10.20.22.4.2")


def vital_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    _organizer(
        entry, rec, ref, "2.16.840.1.113883.10.20.22.4.26", "2.16.840.1.113883.10.20.22.4.27"
    )


def _organizer(
    entry: etree._Element, rec: ExportRecord, ref: str, organizer_tid: str, observation_tid: str
) -> None:
    raw, record = rec.raw, rec.record
    vital = organizer_tid.endswith(".26")
    org = sub(entry, "organizer", classCode="CLUSTER" if vital else "BATTERY", moodCode="EVN")
    template(org, organizer_tid)
    template(org, organizer_tid, R21)
    entry_id(org, rec, "#organizer")
    if vital:
        sub(org, "code", code="46680005", codeSystem=SNOMED_OID, displayName="Vital signs")
    else:
        coded(org, "code", record.codes, record.title)
    sub(org, "statusCode", code="completed")
    # The span the panel covers; a Result Organizer's interval needs both ends
    # (CONF:1198-32489), which for one observation time are the same.
    when = ts_value(record.effective)
    span = sub(org, "effectiveTime")
    for end in ("low", "high"):
        sub(span, end, value=when, nullFlavor=None if when else "UNK")
    components = [c for c in raw.get("component") or () if isinstance(c, dict)]
    has_own_value = any(k.startswith("value") for k in raw) or record.resource_type != "Observation"
    parts: list[tuple[dict[str, Any], str]] = [(raw, "")] if has_own_value or not components else []
    parts += [(c, f"#component-{n}") for n, c in enumerate(components)]
    for part, suffix in parts:
        obs = sub(sub(org, "component"), "observation", classCode="OBS", moodCode="EVN")
        template(obs, observation_tid)
        template(obs, observation_tid, R20 if vital else R21)
        entry_id(obs, rec, suffix)
        if part is raw:
            coded(obs, "code", record.codes, record.title)
        else:
            coded(obs, "code", codes_of(part.get("code")), display_of(part.get("code")) or None)
        text_ref(obs, ref)
        sub(obs, "statusCode", code="completed")
        time_element(obs, "effectiveTime", record.effective, interval=False)
        if not _value(obs, part, rec):
            # Results and vital signs must carry a value (CONF:1198-7143, 1198-7305).
            sub(obs, "value", xsi_type="ST", nullFlavor="NI")
        for interpretation in part.get("interpretation") or ():
            codes = _interpretation_codes(interpretation)
            if codes:  # CONF:1098-32886: a code from the value set, or no element at all
                coded(obs, "interpretationCode", codes)
        _reference_ranges(obs, part)


_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# The same codes under older names (v2 table 0078's H, L, N… are ObservationInterpretation's).
_INTERPRETATION_ALIASES = frozenset(
    {
        _INTERPRETATION,
        "http://hl7.org/fhir/v3/ObservationInterpretation",
        "urn:oid:2.16.840.1.113883.5.83",
        "http://terminology.hl7.org/CodeSystem/v2-0078",
        "http://hl7.org/fhir/v2/0078",
    }
)


def _interpretation_codes(concept: Any) -> list[Code]:
    """An interpretation's ObservationInterpretation codes; none for one known only as text
    ("Extreme High" with a nulled code), which the narrative row shows instead."""
    return [
        Code(_INTERPRETATION, c.code, c.display)
        for c in codes_of(concept)
        if c.code and canonical_system(c.system) in _INTERPRETATION_ALIASES
    ]


def _value(obs: etree._Element, part: dict[str, Any], rec: ExportRecord) -> bool:
    """The observation's value in the closest CDA type; False when it has none."""
    quantity = part.get("valueQuantity")
    attrs = None
    if isinstance(quantity, dict) and not quantity.get("comparator"):
        attrs = quantity_attrs(quantity)  # "< 0.3" is no PQ of 0.3: it is written as text below
    if attrs:
        sub(obs, "value", xsi_type="PQ", **attrs)
        return True
    concept = part.get("valueCodeableConcept")
    if isinstance(concept, dict):
        coded(obs, "value", codes_of(concept), display_of(concept) or None, xsi_type="CD")
        return True
    text = None
    if isinstance(quantity, dict):
        number = number_text(quantity.get("value"))
        text = " ".join(x for x in (quantity.get("comparator"), number, quantity.get("unit")) if x)
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in part:
            text = str(part[key])
    if text is None and part is rec.raw:
        if rec.record.value and rec.record.value.text:
            text = rec.record.value.text
        elif isinstance(part.get("conclusion"), str):
            text = part["conclusion"]
    if text:
        sub(obs, "value", text, xsi_type="ST")
        return True
    return False


def _reference_ranges(obs: etree._Element, part: dict[str, Any]) -> None:
    for reference in part.get("referenceRange") or ():
        if not isinstance(reference, dict):
            continue
        low = quantity_attrs(reference.get("low") or {})
        high = quantity_attrs(reference.get("high") or {})
        text = reference.get("text") if isinstance(reference.get("text"), str) else None
        if not (low or high or text):
            continue
        observation_range = sub(sub(obs, "referenceRange"), "observationRange")
        if text:
            sub(observation_range, "text", text)
        if low or high:
            interval = sub(observation_range, "value", xsi_type="IVL_PQ")
            if low:
                sub(interval, "low", **low)
            if high:
                sub(interval, "high", **high)
        else:
            # A range given only in words: the value is required (CONF:1198-32175), and "OTH"
            # says it is expressed otherwise, in the text above.
            sub(observation_range, "value", xsi_type="IVL_PQ", nullFlavor="OTH")


# --- social history ------------------------------------------------------------------------


def is_social_history(rec: ExportRecord) -> bool:
    categories = {c.code for concept in rec.raw.get("category") or () for c in codes_of(concept)}
    return rec.record.resource_type == "Observation" and "social-history" in categories


def social_history_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    smoking = _smoking_status_value(rec)
    obs = sub(entry, "observation", classCode="OBS", moodCode="EVN")
    if smoking is not None:
        template(obs, "2.16.840.1.113883.10.20.22.4.78")
        template(obs, "2.16.840.1.113883.10.20.22.4.78", R20)
    else:
        template(obs, "2.16.840.1.113883.10.20.22.4.38")
        template(obs, "2.16.840.1.113883.10.20.22.4.38", R21)
    entry_id(obs, rec)
    if smoking is not None:
        sub(
            obs,
            "code",
            code=SMOKING_STATUS,
            codeSystem=LOINC_OID,
            codeSystemName="LOINC",
            displayName="Tobacco smoking status",
        )
    else:
        _social_history_code(obs, record.codes, record.title)
    text_ref(obs, ref)
    sub(obs, "statusCode", code="completed")
    if smoking is not None:
        # Smoking status is an observation at one time: no low or high (CONF:1098-32894, -32896).
        time_element(obs, "effectiveTime", record.effective, interval=False)
        coded(
            obs,
            "value",
            smoking,
            display_of(raw.get("valueCodeableConcept")) or None,
            xsi_type="CD",
        )
        return
    if isinstance(raw.get("effectivePeriod"), dict):
        start, end = fhir_period(raw, "effectivePeriod")
        time_element(obs, "effectiveTime", start or record.effective, end)
    else:
        time_element(obs, "effectiveTime", record.effective, interval=False)
    _value(obs, raw, rec)


def _smoking_status_value(rec: ExportRecord) -> list[Code] | None:
    """The coded answer, SNOMED CT first, when the record is a smoking status whose answer the
    Smoking Status template can carry (a SNOMED CT code, CONF:1098-14817)."""
    if not any(
        c.code == SMOKING_STATUS and canonical_system(c.system) == LOINC for c in rec.record.codes
    ):
        return None
    answer = known_codes(codes_of(rec.raw.get("valueCodeableConcept")))
    snomed = [c for c in answer if canonical_system(c.system) == SNOMED]
    return snomed + [c for c in answer if c not in snomed] if snomed else None


def _social_history_code(obs: etree._Element, codes: tuple[Code, ...], title: str) -> None:
    """LOINC first; other codes as translations of nullFlavor OTH (CONF:1198-32951); with no
    code C-CDA knows, the record is a social history note in words: LOINC 29762-2."""
    known = known_codes(codes)
    loinc = [c for c in known if canonical_system(c.system) == LOINC]
    if loinc:
        coded(obs, "code", loinc + [c for c in known if c not in loinc], title)
    elif known:
        coded(obs, "code", known, title, translations_only=True)
    else:
        element = sub(
            obs,
            "code",
            code="29762-2",
            codeSystem=LOINC_OID,
            codeSystemName="LOINC",
            displayName="Social history Narrative",
        )
        sub(element, "originalText", title)
