"""What an emergency clinician needs first, picked out of the export data.

Pure selection: the page/wallet layouts and the FHIR document in the QR code both read these
facts, so what is printed and what is scanned never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from phr_desktop.domain.aatd import AatdPack, normalise_text
from phr_desktop.domain.milestones import fev1_results
from phr_desktop.domain.no_known_allergy import is_no_known_allergy
from phr_desktop.domain.records import Code, Record, RecordKind
from phr_desktop.interop.export_data import ExportData, ExportRecord

_INACTIVE = frozenset(
    {"inactive", "resolved", "remission", "refuted", "entered-in-error", "stopped", "completed"}
)


def number(value: float) -> str:
    """A measured value without a spurious ".0" (22.0 -> "22", 1.17 -> "1.17")."""
    return f"{value:g}"


_MED_ORDERS = frozenset({"MedicationRequest", "MedicationStatement"})
# AllergyIntolerance.verificationStatus that say the allergy is not there.
_NOT_AN_ALLERGY = frozenset({"refuted", "entered-in-error"})
# What the summary says when no source says anything about allergies, so that it is never
# read as "no known allergies".
NO_ALLERGY_INFORMATION = "no allergy information recorded"
_EMERGENCY_RELATIONSHIPS = frozenset({"C", "EP", "ECON"})


@dataclass(frozen=True)
class Item:
    """One line of the summary, with the codes and sources it came from."""

    text: str
    detail: str = ""
    codes: tuple[Code, ...] = ()
    sources: tuple[str, ...] = ()
    date: str = ""


@dataclass(frozen=True)
class Measurement:
    value: float
    unit: str
    date: str  # YYYY-MM-DD, or as precise as the source was
    source: str
    codes: tuple[Code, ...] = ()
    detail: str = ""  # e.g. "47 % predicted"

    @property
    def text(self) -> str:
        extra = f", {self.detail}" if self.detail else ""
        return f"{number(self.value)} {self.unit} ({self.date}{extra})"


@dataclass(frozen=True)
class Contact:
    name: str
    relationship: str
    phones: tuple[str, ...]


@dataclass(frozen=True)
class EmergencyFacts:
    name: str
    birth_date: str | None
    gender: str | None
    genotype: str | None
    aatd: Item | None
    other_problems: tuple[Item, ...]
    augmentation: Item | None
    medications: tuple[Item, ...]  # current, augmentation excluded
    allergies: tuple[Item, ...]  # current allergies and intolerances
    # A source's "no known allergies", only when no current allergy is recorded anywhere:
    # an allergy from one source is never hidden by another's "none".
    no_known_allergies: Item | None
    fev1_baseline: Measurement | None
    fev1_latest: Measurement | None
    aat_latest: Measurement | None
    care_team: tuple[str, ...]
    emergency_contacts: tuple[Contact, ...]
    sources: tuple[str, ...]
    generated_at: str


def emergency_facts(data: ExportData) -> EmergencyFacts:
    pack = data.pack
    records = [r.record for r in data.records]
    patient: dict[str, Any] = data.patient.raw if data.patient else {}
    aatd, problems = _problems(data.records, pack)
    augmentation, meds = _medications(data.records, pack)
    baseline, latest = _fev1(records, pack)
    allergies, no_known = _allergies(data.records)
    return EmergencyFacts(
        name=data.patient_name,
        birth_date=patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None,
        gender=patient.get("gender") if isinstance(patient.get("gender"), str) else None,
        genotype=_genotype(records, pack),
        aatd=aatd,
        other_problems=problems,
        augmentation=augmentation,
        medications=meds,
        allergies=allergies,
        no_known_allergies=None if allergies else no_known,
        fev1_baseline=baseline,
        fev1_latest=latest,
        aat_latest=_latest_aat(records, pack),
        care_team=_care_team(data),
        emergency_contacts=_contacts(patient),
        sources=tuple(sorted({r.source_system for r in records if r.source_system})),
        generated_at=data.generated_at,
    )


def _is_current(r: Record) -> bool:
    return (r.status or "active").strip().lower() not in _INACTIVE


def _pretty(titles: Iterable[str]) -> str:
    """Prefer a title that is not shouted in capitals (EHRs differ on this)."""
    titles = list(titles)
    return next((t for t in titles if not t.isupper()), titles[0])


def _merged(records: list[ExportRecord]) -> Item:
    """One item for the same thing recorded by several sources (newest date kept)."""
    codes: dict[tuple[str | None, str | None], Code] = {}
    for r in records:
        for c in r.record.codes:
            codes.setdefault((c.system, c.code), c)
    dates = [r.record.effective.text[:10] for r in records if r.record.effective]
    return Item(
        text=_pretty([r.record.title for r in records]),
        codes=tuple(codes.values()),
        sources=tuple(dict.fromkeys(r.record.source_system or "" for r in records if r)),
        date=max(dates) if dates else "",
    )


def _problems(
    records: Iterable[ExportRecord], pack: AatdPack
) -> tuple[Item | None, tuple[Item, ...]]:
    aatd: list[ExportRecord] = []
    groups: dict[str, list[ExportRecord]] = {}
    for r in records:
        rec = r.record
        if rec.kind is not RecordKind.PROBLEM or not _is_current(rec):
            continue
        if pack.is_aatd_diagnosis(rec.codes, rec.title):
            aatd.append(r)
        else:
            groups.setdefault(normalise_text(rec.title), []).append(r)
    others = tuple(_merged(g) for g in groups.values())
    return (_merged(aatd) if aatd else None), others


def _genotype(records: list[Record], pack: AatdPack) -> str | None:
    """The newest genotype/phenotype result, else one named in a diagnosis title."""
    found: list[tuple[str, str]] = []
    for r in records:
        text = r.value.text if r.value and r.value.text else None
        if r.kind is RecordKind.LAB_RESULT and text:
            genotype = pack.genotype_of(text)
            if genotype:
                found.append((r.effective.sort_key if r.effective else "", genotype))
    if found:
        return max(found)[1]
    for r in records:
        if r.kind is RecordKind.PROBLEM and pack.is_aatd_diagnosis(r.codes, r.title):
            genotype = pack.genotype_of(r.title)
            if genotype:
                return genotype
    return None


def _medications(
    records: Iterable[ExportRecord], pack: AatdPack
) -> tuple[Item | None, tuple[Item, ...]]:
    current: dict[str, list[ExportRecord]] = {}
    last_augmentation: ExportRecord | None = None
    for r in records:
        rec = r.record
        if rec.kind is not RecordKind.MEDICATION:
            continue
        is_aug = pack.is_augmentation(rec.codes, rec.title)
        if is_aug and (
            last_augmentation is None
            or (rec.effective and last_augmentation.record.effective is None)
            or (
                rec.effective
                and last_augmentation.record.effective
                and rec.effective.sort_key >= last_augmentation.record.effective.sort_key
            )
        ):
            last_augmentation = r
        if rec.resource_type in _MED_ORDERS and _is_current(rec):
            current.setdefault(normalise_text(rec.title), []).append(r)
    augmentation: Item | None = None
    meds: list[Item] = []
    for group in current.values():
        item = _merged(group)
        dose = next(
            (g.record.value.text for g in group if g.record.value and g.record.value.text), ""
        )
        item = Item(item.text, dose or "", item.codes, item.sources, item.date)
        if pack.is_augmentation(item.codes, item.text):
            augmentation = augmentation or item
        else:
            meds.append(item)
    if last_augmentation is not None:
        rec = last_augmentation.record
        brand = pack.augmentation_brand(rec.codes, rec.title)
        when = rec.effective.text[:10] if rec.effective else "date not recorded"
        latest = f"last recorded {when}"
        if augmentation is None:
            augmentation = Item(
                brand or rec.title, latest, rec.codes, (rec.source_system or "",), when
            )
        else:
            detail = "; ".join(p for p in (augmentation.detail, latest) if p)
            augmentation = Item(
                augmentation.text, detail, augmentation.codes, augmentation.sources, when
            )
    return augmentation, tuple(meds)


def _allergies(records: Iterable[ExportRecord]) -> tuple[tuple[Item, ...], Item | None]:
    """(current allergies, one per substance; the sources' "no known allergies", if any)."""
    groups: dict[str, list[ExportRecord]] = {}
    none_known: list[ExportRecord] = []
    for r in records:
        if r.record.kind is not RecordKind.ALLERGY or not _is_current(r.record):
            continue
        raw = r.raw  # parsed for allergies only: a handful of records
        verification = _code_of(raw.get("verificationStatus"))
        if verification in _NOT_AN_ALLERGY:
            continue
        if is_no_known_allergy(raw.get("code")):
            none_known.append(r)
        else:
            groups.setdefault(normalise_text(r.record.title), []).append(r)
    out = []
    for group in groups.values():
        item = _merged(group)
        reactions = [g.record.value.text for g in group if g.record.value and g.record.value.text]
        reaction = _pretty(reactions) if reactions else ""
        out.append(Item(_cap(item.text), reaction, item.codes, item.sources, item.date))
    no_known = None
    if none_known:
        merged = _merged(none_known)
        no_known = Item(_cap(merged.text), "", merged.codes, merged.sources, merged.date)
    return tuple(out), no_known


def allergy_status(entry: ExportRecord) -> str | None:
    """An allergy's status as a reader needs it: "refuted" or "entered in error" when the
    source says it is not there, else its clinical status."""
    verification = _code_of(entry.raw.get("verificationStatus"))
    if verification in _NOT_AN_ALLERGY:
        return str(verification).replace("-", " ")
    return entry.record.status


def _code_of(concept: Any) -> str | None:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    first = codings[0] if isinstance(codings, list) and codings else None
    return first.get("code") if isinstance(first, dict) else None


def allergy_lines(facts: EmergencyFacts) -> tuple[Item, ...]:
    """What the summary lists under Allergies: the allergies, else the sources' "no known
    allergies"; empty (say NO_ALLERGY_INFORMATION) when no source says anything."""
    if facts.allergies:
        return facts.allergies
    return (facts.no_known_allergies,) if facts.no_known_allergies is not None else ()


def _cap(text: str) -> str:
    return text.capitalize() if text.isupper() else text


def _fev1(records: list[Record], pack: AatdPack) -> tuple[Measurement | None, Measurement | None]:
    """Baseline (the first) and latest FEV1 of the series the latest result belongs to."""
    results = fev1_results(records, pack)
    if not results:
        return None, None
    series = [r for r in results if r.series == results[-1].series]

    def measured(index: int, ml: float) -> Measurement:
        rec = records[index]
        day = rec.effective.text[:10] if rec.effective else ""
        detail = ""
        for other in records:
            if (
                other.effective
                and other.effective.text[:10] == day
                and other.value
                and other.value.value is not None
                and pack.is_fev1_percent_predicted(other.codes)
            ):
                detail = f"{number(other.value.value)} % predicted"
        return Measurement(
            round(ml / 1000, 2), "L", day, rec.source_system or "", rec.codes, detail
        )

    return measured(series[0].index, series[0].ml), measured(series[-1].index, series[-1].ml)


def _latest_aat(records: list[Record], pack: AatdPack) -> Measurement | None:
    levels = [
        r
        for r in records
        if r.kind is RecordKind.LAB_RESULT
        and r.value
        and r.value.value is not None
        and pack.is_aat_level(r.codes)
    ]
    if not levels:
        return None
    latest = max(levels, key=lambda r: r.effective.sort_key if r.effective else "")
    assert latest.value is not None and latest.value.value is not None
    return Measurement(
        latest.value.value,
        latest.value.unit or "",
        latest.effective.text[:10] if latest.effective else "date not recorded",
        latest.source_system or "",
        latest.codes,
    )


def _display(value: Any) -> str:
    return value.get("display", "") if isinstance(value, dict) else ""


def _care_team(data: ExportData) -> tuple[str, ...]:
    """Clinicians seen, newest first, with their organisation and last visit."""
    seen: dict[str, tuple[str, str]] = {}
    for r in reversed(data.records):
        if r.record.resource_type != "Encounter":
            continue
        org = _display(r.raw.get("serviceProvider"))
        when = r.record.effective.text[:10] if r.record.effective else ""
        for participant in r.raw.get("participant") or []:
            name = _display(participant.get("individual")) if isinstance(participant, dict) else ""
            if name and name not in seen:
                seen[name] = (org, when)
    lines = [
        f"{name}, {org} (last visit {when})" if org else f"{name} (last visit {when})"
        for name, (org, when) in seen.items()
    ]
    patient = data.patient.raw if data.patient else {}
    for gp in patient.get("generalPractitioner") or []:
        name = _display(gp)
        if name and name not in seen:
            lines.append(f"{name} (primary care)")
    return tuple(lines)


def _contacts(patient: dict[str, Any]) -> tuple[Contact, ...]:
    contacts: list[tuple[bool, Contact]] = []
    for c in patient.get("contact") or []:
        if not isinstance(c, dict):
            continue
        codes = {
            coding.get("code")
            for rel in c.get("relationship") or []
            for coding in (rel.get("coding") or [])
            if isinstance(coding, dict)
        }
        labels = [
            rel.get("text") or (rel.get("coding") or [{}])[0].get("display", "")
            for rel in c.get("relationship") or []
        ]
        labels = [label for label in labels if label and "emergency" not in label.lower()]
        name_obj = c.get("name") or {}
        name = (
            name_obj.get("text")
            or " ".join([*(name_obj.get("given") or []), name_obj.get("family") or ""]).strip()
        )
        org = _display(c.get("organization"))
        phones = tuple(
            t["value"]
            for t in c.get("telecom") or []
            if isinstance(t, dict) and t.get("value") and t.get("system") in (None, "phone", "sms")
        )
        if name or org or phones:
            contact = Contact(name or org or "Name not recorded", ", ".join(labels), phones)
            contacts.append((bool(codes & _EMERGENCY_RELATIONSHIPS), contact))
    contacts.sort(key=lambda pair: not pair[0])  # emergency contacts first, order kept
    return tuple(c for _, c in contacts)
