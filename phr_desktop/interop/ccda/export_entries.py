"""C-CDA R2.1 entry templates, one builder per record kind, each pointing at its narrative row.

Each builder writes the clinical statement under an `<entry>` and returns nothing; the record's
raw FHIR resource supplies what the normalised record does not keep (components, ranges, lots).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import codes_of, display_of, first_of
from phr_desktop.domain.records import PartialDate, parse_partial_date
from phr_desktop.interop.ccda.export_values import (
    ACT_CODE_OID,
    LOINC_OID,
    SNOMED_OID,
    coded,
    stable_uid,
    sub,
    template,
    time_element,
)
from phr_desktop.interop.export_data import ExportRecord

R21 = "2015-08-01"
R20 = "2014-06-09"

EntryBuilder = Callable[[etree._Element, ExportRecord, str], None]


def entry_id(parent: etree._Element, rec: ExportRecord, suffix: str = "") -> None:
    source = rec.record.source_system or "phr-desktop"
    sub(
        parent,
        "id",
        root=stable_uid("source", source),
        extension=f"{rec.record.resource_type}/{rec.record.resource_id}{suffix}",
    )


def text_ref(parent: etree._Element, ref: str) -> None:
    sub(sub(parent, "text"), "reference", value=f"#{ref}")


def author_participation(parent: etree._Element, when: object) -> None:
    """An Author Participation (4.119) dated `when` (a FHIR date): when the source recorded,
    ordered or stated the fact, which is not when it began. Who is not known here."""
    date = parse_partial_date(when) if isinstance(when, str) else None
    if date is None:
        return
    author = sub(parent, "author")
    template(author, "2.16.840.1.113883.10.20.22.4.119")
    time_element(author, "time", date, interval=False)
    sub(sub(author, "assignedAuthor"), "id", nullFlavor="NI")


def fhir_period(raw: dict[str, Any], *names: str) -> tuple[Any, Any]:
    for name in names:
        value = raw.get(name)
        if isinstance(value, dict):
            return parse_partial_date(value.get("start")), parse_partial_date(value.get("end"))
        if isinstance(value, str):
            return parse_partial_date(value), None
    return None, None


# --- problems ------------------------------------------------------------------------------


_CONDITION_STATUS = {  # clinicalStatus → (concern act statusCode, SNOMED CT status value)
    "active": ("active", "55561003", "Active"),
    "recurrence": ("active", "55561003", "Active"),
    "relapse": ("active", "55561003", "Active"),
    "inactive": ("completed", "73425007", "Inactive"),
    "remission": ("completed", "73425007", "Inactive"),
    "resolved": ("completed", "413322009", "Resolved"),
}


def refuted(raw: dict[str, Any]) -> bool:
    """The source says the patient does NOT have this (verificationStatus refuted): negationInd."""
    return any(c.code == "refuted" for c in codes_of(raw.get("verificationStatus")))


def onset_of(raw: dict[str, Any]) -> Any:
    """The onset the source gave, and only that: a recorded date is not an onset."""
    onset, _ = fhir_period(raw, "onsetPeriod", "onsetDateTime")
    return onset


def _concern_status(raw: dict[str, Any]) -> tuple[str, str, str]:
    """(concern act statusCode, SNOMED status code, its name) from FHIR clinicalStatus."""
    clinical = next(iter(codes_of(raw.get("clinicalStatus"))), None)
    return _CONDITION_STATUS.get(
        clinical.code if clinical and clinical.code else "", ("active", "", "")
    )


def _concern_observation(
    entry: etree._Element,
    rec: ExportRecord,
    ref: str,
    template_root: str,
    concern_status: str,
    onset: PartialDate | None,
    end: PartialDate | None,
) -> etree._Element:
    """A Problem or Allergy Concern Act around its one observation (returned, to be filled):
    the act's status says whether the concern is tracked; a completed one needs an end
    (CONF:1198-10085), so it is marked ended even where FHIR keeps no date for it."""
    act = sub(entry, "act", classCode="ACT", moodCode="EVN")
    template(act, template_root)
    template(act, template_root, R21)
    entry_id(act, rec, "#concern")
    sub(act, "code", code="CONC", codeSystem="2.16.840.1.113883.5.6", displayName="Concern")
    text_ref(act, ref)
    sub(act, "statusCode", code=concern_status)
    active = concern_status == "active"
    time_element(act, "effectiveTime", onset, None if active else end, ended=not active)
    author_participation(act, rec.raw.get("recordedDate"))
    rel = sub(act, "entryRelationship", typeCode="SUBJ")
    return sub(
        rel,
        "observation",
        classCode="OBS",
        moodCode="EVN",
        negationInd="true" if refuted(rec.raw) else None,
    )


def problem_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    concern_status, status_code, status_name = _concern_status(raw)
    _, abatement = fhir_period(raw, "onsetPeriod", "onsetDateTime")
    abatement = abatement or parse_partial_date(raw.get("abatementDateTime"))
    onset = onset_of(raw)
    obs = _concern_observation(
        entry, rec, ref, "2.16.840.1.113883.10.20.22.4.3", concern_status, onset, abatement
    )
    template(obs, "2.16.840.1.113883.10.20.22.4.4")
    template(obs, "2.16.840.1.113883.10.20.22.4.4", R21)
    entry_id(obs, rec)
    sub(obs, "code", code="55607006", codeSystem=SNOMED_OID, displayName="Problem")
    text_ref(obs, ref)
    sub(obs, "statusCode", code="completed")
    time_element(obs, "effectiveTime", onset, abatement)
    coded(obs, "value", record.codes, record.title, xsi_type="CD")
    if status_code:
        status_observation(obs, "2.16.840.1.113883.10.20.22.4.6", status_code, status_name)


def status_observation(
    parent: etree._Element, template_root: str, code: str, name: str, value_type: str = "CD"
) -> None:
    """The Problem or Allergy Status Observation: the clinical status in SNOMED CT, which a
    reader takes over the concern act's statusCode (that says whether the concern is tracked)."""
    rel = sub(parent, "entryRelationship", typeCode="REFR")
    obs = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(obs, template_root)
    template(obs, template_root, "2019-06-20")
    sub(obs, "code", code="33999-4", codeSystem=LOINC_OID, codeSystemName="LOINC",
        displayName="Status")  # fmt: skip
    sub(obs, "statusCode", code="completed")
    sub(obs, "value", xsi_type=value_type, code=code, codeSystem=SNOMED_OID,
        codeSystemName="SNOMED CT", displayName=name)  # fmt: skip


# --- allergies -----------------------------------------------------------------------------

_ALLERGY_TYPES = {
    "medication": ("416098002", "Allergy to drug"),
    "food": ("414285001", "Allergy to food"),
    "environment": ("426232007", "Environmental allergy"),
}


_SEVERITIES = {
    "mild": ("255604002", "Mild"),
    "moderate": ("6736007", "Moderate"),
    "severe": ("24484000", "Severe"),
}


def allergy_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    concern_status, status_code, status_name = _concern_status(raw)
    onset = onset_of(raw)
    # FHIR keeps no date for when an allergy stopped being a concern.
    obs = _concern_observation(
        entry, rec, ref, "2.16.840.1.113883.10.20.22.4.30", concern_status, onset, None
    )
    template(obs, "2.16.840.1.113883.10.20.22.4.7")
    template(obs, "2.16.840.1.113883.10.20.22.4.7", R20)
    entry_id(obs, rec)
    sub(obs, "code", code="ASSERTION", codeSystem=ACT_CODE_OID)
    text_ref(obs, ref)
    sub(obs, "statusCode", code="completed")
    time_element(obs, "effectiveTime", onset)
    category = first_of(raw.get("category"))
    type_code, type_name = _ALLERGY_TYPES.get(
        category if isinstance(category, str) else "",
        ("420134006", "Propensity to adverse reactions"),
    )
    sub(
        obs,
        "value",
        xsi_type="CD",
        code=type_code,
        codeSystem=SNOMED_OID,
        codeSystemName="SNOMED CT",
        displayName=type_name,
    )
    role = sub(sub(obs, "participant", typeCode="CSM"), "participantRole", classCode="MANU")
    entity = sub(role, "playingEntity", classCode="MMAT")
    coded(entity, "code", record.codes, record.title)
    sub(entity, "name", record.title)
    if status_code:
        # An Allergy Status value is a CE (CONF:1198-7322).
        status_observation(
            obs, "2.16.840.1.113883.10.20.22.4.28", status_code, status_name, value_type="CE"
        )
    for n, reaction in enumerate(r for r in raw.get("reaction") or () if isinstance(r, dict)):
        for m, manifestation in enumerate(
            c for c in reaction.get("manifestation") or () if isinstance(c, dict)
        ):
            _reaction(obs, rec, f"#reaction-{n}-{m}", manifestation, reaction.get("severity"))


def _reaction(
    allergy: etree._Element, rec: ExportRecord, suffix: str, manifestation: Any, severity: Any
) -> None:
    rel = sub(allergy, "entryRelationship", typeCode="MFST", inversionInd="true")
    react = sub(rel, "observation", classCode="OBS", moodCode="EVN")
    template(react, "2.16.840.1.113883.10.20.22.4.9")
    template(react, "2.16.840.1.113883.10.20.22.4.9", R20)
    entry_id(react, rec, suffix)
    sub(react, "code", code="ASSERTION", codeSystem=ACT_CODE_OID)
    sub(react, "statusCode", code="completed")
    coded(react, "value", codes_of(manifestation), display_of(manifestation) or None, xsi_type="CD")
    if severity in _SEVERITIES:
        code, name = _SEVERITIES[severity]
        sev = sub(sub(react, "entryRelationship", typeCode="SUBJ", inversionInd="true"),
                  "observation", classCode="OBS", moodCode="EVN")  # fmt: skip
        template(sev, "2.16.840.1.113883.10.20.22.4.8")
        template(sev, "2.16.840.1.113883.10.20.22.4.8", R20)
        sub(sev, "code", code="SEV", codeSystem=ACT_CODE_OID, codeSystemName="ActCode",
            displayName="Severity Observation")  # fmt: skip
        sub(sev, "statusCode", code="completed")
        sub(sev, "value", xsi_type="CD", code=code, codeSystem=SNOMED_OID,
            codeSystemName="SNOMED CT", displayName=name)  # fmt: skip


# --- procedures and encounters -------------------------------------------------------------


# Procedure.status → the Procedure Activity's statusCode (ProcedureAct statusCode value set);
# "not-done" is said by negationInd, the others as the C-CDA on FHIR mapping reads them back.
_PROCEDURE_STATUS = {
    "completed": "completed",
    "in-progress": "active",
    "stopped": "aborted",
    "not-done": "completed",
    "preparation": "new",
    "on-hold": "held",
}


def procedure_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = fhir_period(raw, "performedPeriod", "performedDateTime")
    status = record.status or ""
    proc = sub(
        entry,
        "procedure",
        classCode="PROC",
        moodCode="EVN",
        negationInd="true" if status == "not-done" else None,
    )
    template(proc, "2.16.840.1.113883.10.20.22.4.14")
    template(proc, "2.16.840.1.113883.10.20.22.4.14", R20)
    entry_id(proc, rec)
    coded(proc, "code", record.codes, record.title)
    text_ref(proc, ref)
    code = _PROCEDURE_STATUS.get(status)
    sub(proc, "statusCode", code=code, nullFlavor=None if code else "UNK")
    time_element(proc, "effectiveTime", start or record.effective, end)


def encounter_entry(entry: etree._Element, rec: ExportRecord, ref: str) -> None:
    raw, record = rec.raw, rec.record
    start, end = fhir_period(raw, "period")
    enc = sub(entry, "encounter", classCode="ENC", moodCode="EVN")
    template(enc, "2.16.840.1.113883.10.20.22.4.49")
    template(enc, "2.16.840.1.113883.10.20.22.4.49", R21)
    entry_id(enc, rec)
    encounter_codes = tuple(c for concept in raw.get("type") or () for c in codes_of(concept))
    coded(enc, "code", encounter_codes, record.title)
    text_ref(enc, ref)
    sub(enc, "statusCode", code="completed" if record.status == "finished" else "active")
    time_element(enc, "effectiveTime", start or record.effective, end)


__all__ = [
    "EntryBuilder",
    "allergy_entry",
    "author_participation",
    "encounter_entry",
    "entry_id",
    "fhir_period",
    "problem_entry",
    "procedure_entry",
    "text_ref",
]
