"""C-CDA R2.1 Social History entries: smoking status and other social history observations.

Like export_entries, each builder writes one record under an `<entry>`, pointing at its
narrative row; values are written as the Results section writes them (export_results).
"""

from __future__ import annotations

from lxml import etree

from phr_desktop.domain.codes import LOINC, SNOMED, canonical_system, codes_of, display_of
from phr_desktop.domain.records import Code
from phr_desktop.interop.ccda.export_entries import R20, R21, entry_id, fhir_period, text_ref
from phr_desktop.interop.ccda.export_results import observation_value
from phr_desktop.interop.ccda.export_values import (
    LOINC_OID,
    coded,
    known_codes,
    sub,
    template,
    time_element,
)
from phr_desktop.interop.export_data import ExportRecord

SMOKING_STATUS = "72166-2"  # LOINC "Tobacco smoking status"

# --- social history ------------------------------------------------------------------------


def is_social_history(rec: ExportRecord) -> bool:
    categories = {c.code for concept in rec.raw.get("category") or () for c in codes_of(concept)}
    return rec.record.resource_type == "Observation" and "social-history" in categories


def social_history_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    smoking = _smoking_status_value(rec)
    # The template's statusCode is always "completed": an observation the source says was not
    # made (cancelled, as the importer reads negationInd) says so by negationInd.
    not_made = record.status == "cancelled"
    obs = sub(entry, "observation", classCode="OBS", moodCode="EVN",
              negationInd="true" if not_made else None)  # fmt: skip
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
    observation_value(obs, raw, rec)


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
