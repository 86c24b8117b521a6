"""C-CDA R2.1 Results and Vital Signs entries: a Result Organizer per report holding its
results, Vital Signs Organizers holding the vital signs taken together.

A FHIR Observation's components (a blood pressure's systolic and diastolic) become observations
of their own; values are written in the CDA type the importer reads back to the same value[x].
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from lxml import etree

from phr_desktop.domain.codes import canonical_system, codes_of, display_of
from phr_desktop.domain.records import Code
from phr_desktop.interop.ccda.export_entries import R20, R21, entry_id, fhir_period, text_ref
from phr_desktop.interop.ccda.export_values import (
    SNOMED_OID,
    coded,
    number_text,
    quantity_attrs,
    sub,
    template,
    time_element,
    ts_value,
)
from phr_desktop.interop.export_data import ExportRecord

# --- results and vital signs ---------------------------------------------------------------

RESULT_ORGANIZER = "2.16.840.1.113883.10.20.22.4.1"
RESULT_OBSERVATION = "2.16.840.1.113883.10.20.22.4.2"
VITALS_ORGANIZER = "2.16.840.1.113883.10.20.22.4.26"
VITAL_OBSERVATION = "2.16.840.1.113883.10.20.22.4.27"

# DiagnosticReport.status → Result Organizer statusCode (the importer reads "completed" back as
# final and anything else as partial).
_REPORT_STATUS = {
    "final": "completed",
    "amended": "completed",
    "corrected": "completed",
    "appended": "completed",
    "cancelled": "cancelled",
    "entered-in-error": "nullified",
}
# Observation.status → Result Observation statusCode (Result Status value set).
_OBSERVATION_STATUS = {"preliminary": "active", "registered": "active", "cancelled": "cancelled"}


class ResultGroups:
    """The Results section's entries: one Result Organizer per DiagnosticReport holding the
    results it lists (as the source's organizer held them), then each result no exported
    report lists, on its own.

    Found as the section's narrative rows go by (`see`: which results there are, by resource
    id) and then from the reports alone (`find`), so that no record is held meanwhile: only
    positions in the section and the results' ids.
    """

    def __init__(self) -> None:
        self._results: dict[str, int] = {}  # an Observation's resource id -> its position
        self._reports: list[int] = []  # the reports' positions, in order
        self._others: list[tuple[int, str]] = []  # (position, resource id) of the rest
        self._organizer_written = False

    @staticmethod
    def has_entries(records: Sequence[ExportRecord], reports: Sequence[ExportRecord]) -> bool:
        """Whether the section will hold an entry: any result (in a report's organizer, or on
        its own), or a report with a finding. Else its narrative says what there is and the
        section is null rather than wrongly empty (CONF:1198-7112)."""
        return len(reports) < len(records) or any(_has_finding(r) for r in reports)

    def see(self, position: int, rec: ExportRecord) -> None:
        resource_type, resource_id = rec.record.resource_type, rec.record.resource_id
        if resource_type == "DiagnosticReport":
            self._reports.append(position)
            return
        if resource_type == "Observation":
            self._results[resource_id] = position  # of two with one id, the later one
        self._others.append((position, resource_id))

    def find(self, reports: Iterable[ExportRecord]) -> Iterator[list[int]]:
        """The groups of positions, each report first; `reports` are the section's reports
        in its order. A result sits in one panel: the first report to list it."""
        taken: set[str] = set()
        for position, report in zip(self._reports, reports, strict=True):
            members = []
            for reference in report.raw.get("result") or ():
                target = reference.get("reference") if isinstance(reference, dict) else None
                member_id = str(target or "").rpartition("/")[2]
                member = self._results.get(member_id)
                if member is not None and member_id not in taken:
                    taken.add(member_id)
                    members.append(member)
            yield [position, *members]
        self._results.clear()
        for position, resource_id in self._others:
            if resource_id not in taken:
                yield [position]

    def write(
        self, section: etree._Element, group: list[ExportRecord], refs: dict[int, str]
    ) -> None:
        """A report as one Result Organizer holding its results.

        A result no report lists is a Result Observation of its own (an organizer for it would
        come back as a report nobody wrote), but for the first when no report has written an
        organizer: C-CDA wants at least one (CONF:1198-7112), so that result gets one, coded
        as itself. A report with neither results in the export nor a finding of its own has
        nothing to put in an organizer (CONF:1198-7124 wants a component): its narrative row
        says what it is.
        """
        head = group[0]
        members = group[1:]
        if head.record.resource_type != "DiagnosticReport":
            if self._organizer_written:
                for part, suffix in _observation_parts(head):
                    entry = sub(section, "entry", typeCode="DRIV")
                    _observation(entry, head, refs[head.id], part, suffix, RESULT_OBSERVATION)
                return
            members = [head]
            org = _result_organizer(section, head, suffix="#organizer")
        elif members or _has_finding(head):
            org = _result_organizer(section, head)
        else:
            return
        self._organizer_written = True
        for member in members:
            for part, suffix in _observation_parts(member):
                _observation(sub(org, "component"), member, refs[member.id], part, suffix,
                             RESULT_OBSERVATION)  # fmt: skip
        if not members:
            # A report whose results are not in this export, with a conclusion: that finding.
            _observation(sub(org, "component"), head, refs[head.id], head.raw, "#finding",
                         RESULT_OBSERVATION)  # fmt: skip


class VitalGroups:
    """The Vital Signs section's entries: vital signs taken at one time share one Vital Signs
    Organizer, as EHRs write them (found as the narrative rows go by, by position)."""

    def __init__(self) -> None:
        self._by_time: dict[str, list[int]] = {}

    @staticmethod
    def has_entries(records: Sequence[ExportRecord], reports: Sequence[ExportRecord]) -> bool:
        return bool(records)  # every group is an organizer

    def see(self, position: int, rec: ExportRecord) -> None:
        effective = rec.record.effective
        self._by_time.setdefault(effective.text if effective else "", []).append(position)

    def find(self, reports: Iterable[ExportRecord]) -> Iterator[list[int]]:
        yield from self._by_time.values()

    def write(
        self, section: etree._Element, group: list[ExportRecord], refs: dict[int, str]
    ) -> None:
        vital_group_entry(section, group, refs)


def _has_finding(report: ExportRecord) -> bool:
    return isinstance(report.raw.get("conclusion"), str) and bool(report.raw["conclusion"].strip())


def _result_organizer(section: etree._Element, head: ExportRecord, suffix: str = "") -> Any:
    entry = sub(section, "entry", typeCode="DRIV")
    org = sub(entry, "organizer", classCode="BATTERY", moodCode="EVN")
    template(org, RESULT_ORGANIZER)
    template(org, RESULT_ORGANIZER, R21)
    entry_id(org, head, suffix)
    coded(org, "code", head.record.codes, head.record.title)
    status = _REPORT_STATUS.get(head.record.status or "", "active")
    if head.record.resource_type == "Observation":
        status = "active" if head.record.status in _OBSERVATION_STATUS else "completed"
    sub(org, "statusCode", code=status)
    # The span the panel covers; a Result Organizer's interval needs both ends
    # (CONF:1198-32489), which for one report time are the same.
    start, end = fhir_period(head.raw, "effectivePeriod", "effectiveDateTime")
    start = start or head.record.effective
    span = sub(org, "effectiveTime")
    for name, edge in (("low", start), ("high", end or start)):
        value = ts_value(edge)
        sub(span, name, value=value, nullFlavor=None if value else "UNK")
    return org


def vital_group_entry(
    section: etree._Element, group: list[ExportRecord], refs: dict[int, str]
) -> None:
    entry = sub(section, "entry", typeCode="DRIV")
    org = sub(entry, "organizer", classCode="CLUSTER", moodCode="EVN")
    template(org, VITALS_ORGANIZER)
    template(org, VITALS_ORGANIZER, R21)
    entry_id(org, group[0], "#vitals")
    sub(org, "code", code="46680005", codeSystem=SNOMED_OID, codeSystemName="SNOMED CT",
        displayName="Vital signs")  # fmt: skip
    sub(org, "statusCode", code="completed")
    when = ts_value(group[0].record.effective)
    sub(org, "effectiveTime", value=when, nullFlavor=None if when else "UNK")
    for rec in group:
        for part, suffix in _observation_parts(rec):
            _observation(sub(org, "component"), rec, refs[rec.id], part, suffix,
                         VITAL_OBSERVATION)  # fmt: skip


def _observation_parts(rec: ExportRecord) -> list[tuple[dict[str, Any], str]]:
    """The record itself, and each FHIR component (a blood pressure's systolic and diastolic)
    as an observation of its own; a panel with components and no value of its own is only
    its components."""
    raw = rec.raw
    components = [c for c in raw.get("component") or () if isinstance(c, dict)]
    has_own_value = any(k.startswith("value") for k in raw) or not components
    parts: list[tuple[dict[str, Any], str]] = [(raw, "")] if has_own_value else []
    return parts + [(c, f"#component-{n}") for n, c in enumerate(components)]


def _observation(
    parent: etree._Element,
    rec: ExportRecord,
    ref: str,
    part: dict[str, Any],
    suffix: str,
    template_root: str,
) -> None:
    raw, record = rec.raw, rec.record
    vital = template_root == VITAL_OBSERVATION
    cancelled = (record.status == "cancelled") and part is raw
    obs = sub(parent, "observation", classCode="OBS", moodCode="EVN",
              negationInd="true" if cancelled and vital else None)  # fmt: skip
    template(obs, template_root)
    template(obs, template_root, R20 if vital else R21)
    entry_id(obs, rec, suffix)
    if part is raw:
        coded(obs, "code", record.codes, record.title)
    else:
        coded(obs, "code", codes_of(part.get("code")), display_of(part.get("code")) or None)
    text_ref(obs, ref)
    # A Vital Sign Observation's statusCode is "completed" (CONF:1098-7301).
    status = "completed" if vital else _OBSERVATION_STATUS.get(record.status or "", "completed")
    sub(obs, "statusCode", code=status)
    if isinstance(raw.get("effectivePeriod"), dict):
        start, end = fhir_period(raw, "effectivePeriod")
        time_element(obs, "effectiveTime", start or record.effective, end)
    else:
        time_element(obs, "effectiveTime", record.effective, interval=False)
    if not observation_value(obs, part, rec, vital=vital):
        if vital:
            # No measurement, yet the template wants a PQ with a UCUM unit (CONF:1098-7305,
            # 1098-31579): a null PQ in the unit the source named, else "1".
            quantity = part.get("valueQuantity") or {}
            unit = quantity_attrs({**quantity, "value": 0}) if isinstance(quantity, dict) else None
            sub(obs, "value", xsi_type="PQ", nullFlavor="NI", unit=(unit or {}).get("unit", "1"))
        else:
            # Results must carry a value (CONF:1198-7143): one not known (yet) says so.
            sub(obs, "value", xsi_type="ST", nullFlavor="NI")
    for interpretation in part.get("interpretation") or ():
        codes = _interpretation_codes(interpretation)
        if codes:  # CONF:1098-32886: a code, or no element at all
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
    """An interpretation's codes, ObservationInterpretation's first (v2 table 0078's H, L, N…
    are the same codes); none for one known only as text ("Extreme High" with a nulled code),
    which the narrative row shows instead."""
    codes = [c for c in codes_of(concept) if c.code]
    v3 = [
        Code(_INTERPRETATION, c.code, c.display)
        for c in codes
        if canonical_system(c.system) in _INTERPRETATION_ALIASES
    ]
    return v3 + [c for c in codes if canonical_system(c.system) not in _INTERPRETATION_ALIASES]


def observation_value(
    obs: etree._Element, part: dict[str, Any], rec: ExportRecord, *, vital: bool = False
) -> bool:
    """The observation's value in the CDA type the importer reads back to the same FHIR
    value[x] (PQ, CD, INT, BL, TS, IVL_PQ, else ST); False when it has none."""
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
    integer = part.get("valueInteger")
    if isinstance(integer, int) and not isinstance(integer, bool) and not vital:
        sub(obs, "value", xsi_type="INT", value=str(integer))
        return True
    flag = part.get("valueBoolean")
    if isinstance(flag, bool) and not vital:
        sub(obs, "value", xsi_type="BL", value="true" if flag else "false")
        return True
    when = ts_value(part["valueDateTime"]) if isinstance(part.get("valueDateTime"), str) else None
    if when and not vital:
        sub(obs, "value", xsi_type="TS", value=when)
        return True
    value_range = part.get("valueRange")
    if isinstance(value_range, dict) and not vital:
        low = quantity_attrs(value_range.get("low") or {})
        high = quantity_attrs(value_range.get("high") or {})
        if low or high:
            interval = sub(obs, "value", xsi_type="IVL_PQ")
            if low:
                sub(interval, "low", **low)
            if high:
                sub(interval, "high", **high)
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
