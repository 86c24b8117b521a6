"""Write the synthetic AATD demo patient as two FHIR R4 collection Bundles.

Margaret Ellen Doyle (born 1968-04-12) is invented for phr-desktop: COPD in 2013, alpha-1
antitrypsin deficiency (Pi*ZZ) in 2014, Prolastin-C then Zemaira augmentation, 2013-2025.
`resources/demo/riverside-pulmonary-epic.json` is the pulmonology record (Epic) and
`resources/demo/lakeside-hepatology-cerner.json` the hepatology record (Cerner). Two resources
are deliberately non-conformant (see `ODD_RESOURCE_IDS`) for the data-quality feature.

Deterministic (fixed seed, no clock, no network, stdlib only):
    python tools/make_demo.py [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from demo_texts import (  # the note and report texts, beside this script
    CT_2014_CONCLUSION,
    CT_2014_REPORT,
    CT_2019_CONCLUSION,
    CT_2019_REPORT,
    DISCHARGE_2016_08,
    HEPATOLOGY_2014_06_19,
    HEPATOLOGY_2023_08_17,
    NOTE_2013_03_14,
    NOTE_2014_03_13,
    NOTE_2015_04_16,
    NOTE_2016_11_10,
    NOTE_2019_12_05,
    NOTE_2022_03_03,
    NOTE_2025_06_12,
    US_2018_CONCLUSION,
    US_2018_REPORT,
)

JSON = dict[str, Any]

SEED = 19680412
EXPORTED_AT = "2025-11-01T12:00:00Z"

RIVERSIDE = "Riverside Pulmonary (Epic)"
LAKESIDE = "Lakeside Hepatology (Cerner)"
RIVERSIDE_FILE = "riverside-pulmonary-epic.json"
LAKESIDE_FILE = "lakeside-hepatology-cerner.json"

# Planted on purpose: real EHR exports contain such resources and the app must flag, not drop,
# them. Everything else in the two files validates against the fhir.resources R4B models.
ODD_RESOURCE_IDS: dict[str, str] = {
    "lh-obs-alt-2020-11": "Observation without the required status element",
    "lh-cond-gerd": 'Condition whose onsetDateTime is the impossible date "2019-13-45"',
}

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DIAG_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
LAKESIDE_LOCAL = "https://fhir.lakeside-medical.example.org/CodeSystem/local-result-codes"

PATIENT_NAME = "Margaret Ellen Doyle"
BIRTH_DATE = "1968-04-12"

PULMONOLOGIST = "Daniel R. Okafor, MD"
HOSPITALIST = "Priya Raman, MD"
ED_PHYSICIAN = "Hannah Kowalczyk, MD"
CHEST_RADIOLOGIST = "Martin A. Feld, MD"
HEPATOLOGIST = "Elena M. Vasquez, MD"
SURGEON = "Thomas J. Brennan, MD"
US_RADIOLOGIST = "Sarah Lindqvist, MD"

RIVERSIDE_CLINIC = "Riverside Pulmonary Associates"
RIVERSIDE_HOSPITAL = "Riverside Medical Center"
LAKESIDE_CLINIC = "Lakeside Hepatology Associates"
LAKESIDE_HOSPITAL = "Lakeside Medical Center"

# (date, FEV1 L, FVC L): one visit a season or a year. 2014-10 -> 2015-04 is the >10 % fall that
# prompted augmentation; afterwards the decline slows to about 40-50 mL a year.
SPIROMETRY: list[tuple[str, str, str]] = [
    ("2013-03-14", "2.02", "3.18"),
    ("2013-09-12", "1.98", "3.15"),
    ("2014-03-13", "1.93", "3.12"),
    ("2014-10-09", "1.87", "3.08"),
    ("2015-04-16", "1.64", "2.90"),
    ("2015-10-15", "1.62", "2.89"),
    ("2016-04-14", "1.59", "2.87"),
    ("2016-11-10", "1.52", "2.80"),
    ("2017-05-11", "1.50", "2.79"),
    ("2017-11-09", "1.48", "2.78"),
    ("2018-05-10", "1.46", "2.77"),
    ("2019-05-09", "1.42", "2.74"),
    ("2020-09-10", "1.37", "2.70"),
    ("2021-06-10", "1.34", "2.68"),
    ("2022-06-09", "1.29", "2.64"),
    ("2023-06-08", "1.25", "2.61"),
    ("2024-06-13", "1.21", "2.58"),
    ("2025-06-12", "1.17", "2.55"),
]
# (date, DLCO mL/min/mmHg, % predicted)
DLCO: list[tuple[str, str, int]] = [
    ("2013-03-14", "15.9", 72),
    ("2015-04-16", "13.8", 63),
    ("2019-05-09", "12.6", 59),
    ("2023-06-08", "11.4", 55),
]
# (date, mg/dL, encounter date or None, note)
AAT_LEVELS: list[tuple[str, int, str | None, str]] = [
    ("2014-01-30", 22, None, "Diagnostic level."),
    ("2015-04-16", 24, "2015-04-16", "Baseline before augmentation."),
    ("2015-10-15", 82, "2015-10-15", "Trough, drawn before the weekly Prolastin-C infusion."),
    ("2017-05-11", 86, "2017-05-11", "Trough, drawn before the weekly Prolastin-C infusion."),
    ("2019-05-09", 79, "2019-05-09", "Trough, drawn before the weekly Prolastin-C infusion."),
    ("2020-09-10", 94, "2020-09-10", "Trough, drawn before the weekly Zemaira infusion."),
    ("2022-06-09", 97, "2022-06-09", "Trough, drawn before the weekly Zemaira infusion."),
    ("2024-06-13", 91, "2024-06-13", "Trough, drawn before the weekly Zemaira infusion."),
]
# (date, ALT U/L, AST U/L, total bilirubin mg/dL)
LIVER_PANELS: list[tuple[str, int, int, str]] = [
    ("2014-06-19", 34, 29, "0.7"),
    ("2014-12-18", 38, 33, "0.6"),
    ("2018-02-15", 52, 44, "1.1"),
    ("2020-11-12", 33, 30, "0.6"),
    ("2023-08-17", 37, 36, "0.8"),
    ("2025-03-20", 35, 34, "0.7"),
]
# Extra Riverside clinic visits without spirometry: (date, reason)
EXTRA_VISITS: list[tuple[str, str]] = [
    ("2019-12-05", "Augmentation therapy review (payer formulary change)"),
    ("2022-03-03", "Follow-up after emergency visit for COPD exacerbation"),
]
# Vital signs that the clinic notes quote, so that notes and observations agree.
QUOTED_VITALS: dict[str, JSON] = {
    "2013-03-14": {
        "systolic": 118,
        "diastolic": 76,
        "pulse": 82,
        "spo2": 96,
        "weight": Decimal("71.2"),
    },
    "2022-03-03": {"spo2": 94},
}
WEEKDAY_THURSDAY = 3


# ---------------------------------------------------------------- time and coding helpers


def _nth_sunday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def _utc_offset(day: date) -> timedelta:
    """US Central time (both practices are in Springfield, IL), DST rules of 2007 onwards."""
    dst = _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)
    return timedelta(hours=-5 if dst else -6)


def at(day: str, hhmm: str) -> str:
    """A local FHIR dateTime with its UTC offset, e.g. 2014-01-30T09:40:00-06:00."""
    parsed = datetime.fromisoformat(f"{day}T{hhmm}")
    return parsed.replace(tzinfo=timezone(_utc_offset(parsed.date()))).isoformat()


def instant(day: str, hhmm: str) -> str:
    """The same local moment as a UTC instant, the form of meta.lastUpdated."""
    moment = datetime.fromisoformat(at(day, hhmm)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shift(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def age_on(day: str) -> float:
    return (date.fromisoformat(day) - date.fromisoformat(BIRTH_DATE)).days / 365.25


def coding(system: str, code: str, display: str | None = None) -> JSON:
    out: JSON = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: JSON, text: str | None = None) -> JSON:
    out: JSON = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def quantity(value: Any, unit: str, code: str | None = None) -> JSON:
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def category(system: str, code: str, display: str) -> list[JSON]:
    return [concept(coding(system, code, display))]


def interpretation(flag: str) -> list[JSON]:
    names = {"L": "Low", "H": "High", "N": "Normal"}
    return [concept(coding(INTERPRETATION, flag, names[flag]))]


def text_attachment(text: str, title: str, created: str) -> JSON:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {
        "contentType": "text/plain",
        "language": "en-US",
        "data": data,
        "title": title,
        "creation": created,
    }


def ref(resource_type: str, rid: str, display: str | None = None) -> JSON:
    out: JSON = {"reference": f"{resource_type}/{rid}"}
    if display:
        out["display"] = display
    return out


# ---------------------------------------------------------------- sources


@dataclass
class Source:
    """One EHR's export: the resources it holds, each stamped with where it came from."""

    name: str
    prefix: str
    base_url: str
    bundle_id: str
    encounter_id_system: str
    resources: list[JSON] = field(default_factory=list)

    @property
    def patient(self) -> JSON:
        return ref("Patient", f"{self.prefix}-patient", PATIENT_NAME)

    def add(self, resource: JSON, updated: str) -> JSON:
        rid = resource["id"]
        if any(r["id"] == rid for r in self.resources):
            raise ValueError(f"duplicate id {rid}")
        ordered: JSON = {
            "resourceType": resource.pop("resourceType"),
            "id": resource.pop("id"),
            "meta": {"versionId": "1", "lastUpdated": updated, "source": self.name},
        }
        ordered.update(resource)
        self.resources.append(ordered)
        return ordered

    def bundle(self) -> JSON:
        return {
            "resourceType": "Bundle",
            "id": self.bundle_id,
            "meta": {"versionId": "1", "lastUpdated": EXPORTED_AT, "source": self.name},
            "type": "collection",
            "timestamp": EXPORTED_AT,
            "entry": [
                {"fullUrl": f"{self.base_url}{r['resourceType']}/{r['id']}", "resource": r}
                for r in self.resources
            ],
        }


# ---------------------------------------------------------------- patient


def add_patient(src: Source, mrn_system: str, mrn: str, updated: str) -> None:
    src.add(
        {
            "resourceType": "Patient",
            "id": f"{src.prefix}-patient",
            "identifier": [
                {
                    "use": "usual",
                    "type": concept(coding(IDENTIFIER_TYPE, "MR", "Medical record number")),
                    "system": mrn_system,
                    "value": mrn,
                }
            ],
            "active": True,
            "name": [
                {
                    "use": "official",
                    "text": PATIENT_NAME,
                    "family": "Doyle",
                    "given": ["Margaret", "Ellen"],
                }
            ],
            "telecom": [
                {"system": "phone", "value": "(217) 555-0143", "use": "home"},
                {"system": "phone", "value": "(217) 555-0187", "use": "mobile"},
                {"system": "email", "value": "margaret.doyle@example.com"},
            ],
            "gender": "female",
            "birthDate": BIRTH_DATE,
            "address": [
                {
                    "use": "home",
                    "type": "both",
                    "line": ["1427 Willow Bend Road"],
                    "city": "Springfield",
                    "state": "IL",
                    "postalCode": "62704",
                    "country": "US",
                }
            ],
            "maritalStatus": concept(coding(MARITAL, "M", "Married"), text="Married"),
            "contact": [
                {
                    "relationship": [
                        concept(coding(CONTACT_ROLE, "C", "Emergency Contact")),
                        concept(coding(ROLE_CODE, "HUSBAND", "husband"), text="Husband"),
                    ],
                    "name": {
                        "text": "Patrick J. Doyle",
                        "family": "Doyle",
                        "given": ["Patrick", "J."],
                    },
                    "telecom": [{"system": "phone", "value": "(217) 555-0162", "use": "mobile"}],
                }
            ],
            "communication": [
                {
                    "language": concept(
                        coding("urn:ietf:bcp:47", "en-US", "English (United States)")
                    ),
                    "preferred": True,
                }
            ],
            "generalPractitioner": [{"display": "Karen L. Whitfield, MD"}],
        },
        updated,
    )


# ---------------------------------------------------------------- encounters


def add_encounter(
    src: Source,
    rid: str,
    klass: tuple[str, str],
    start: str,
    end: str,
    *,
    kind: str,
    reason: JSON,
    provider: str,
    location: str,
    clinician: str,
    hospitalization: JSON | None = None,
    diagnosis: str | None = None,
) -> None:
    resource: JSON = {
        "resourceType": "Encounter",
        "id": rid,
        "identifier": [
            {"system": src.encounter_id_system, "value": str(zlib.crc32(rid.encode()) + 10**9)}
        ],
        "status": "finished",
        "class": coding(ACT_CODE, klass[0], klass[1]),
        "type": [concept(text=kind)],
        "subject": src.patient,
        "participant": [{"individual": {"display": clinician}}],
        "period": {"start": start, "end": end},
        "reasonCode": [reason],
    }
    if diagnosis:
        resource["diagnosis"] = [{"condition": ref("Condition", diagnosis), "rank": 1}]
    if hospitalization:
        resource["hospitalization"] = hospitalization
    resource["location"] = [{"location": {"display": location}}]
    resource["serviceProvider"] = {"display": provider}
    src.add(resource, instant(end[:10], "23:00"))


def clinic_visit(src: Source, day: str, hhmm: str, reason: str) -> str:
    rid = f"{src.prefix}-enc-{day}"
    start = datetime.fromisoformat(f"{day}T{hhmm}")
    end = (start + timedelta(minutes=40)).strftime("%H:%M")
    if src.prefix == "rp":
        provider, location, clinician = (
            RIVERSIDE_CLINIC,
            "Riverside Pulmonary Clinic, Suite 300",
            PULMONOLOGIST,
        )
    else:
        provider, location, clinician = (
            LAKESIDE_CLINIC,
            "Lakeside Medical Center, Liver Clinic (Suite 210)",
            HEPATOLOGIST,
        )
    add_encounter(
        src,
        rid,
        ("AMB", "ambulatory"),
        at(day, hhmm),
        at(day, end),
        kind="Office Visit",
        reason=concept(text=reason),
        provider=provider,
        location=location,
        clinician=clinician,
    )
    return rid


# ---------------------------------------------------------------- observations


def observation(
    src: Source,
    rid: str,
    kind: tuple[str, str],
    code: JSON,
    when: str,
    *,
    encounter: str | None = None,
    issued: str | None = None,
    performer: str | None = None,
    status: str | None = "final",
    **rest: Any,
) -> JSON:
    resource: JSON = {"resourceType": "Observation", "id": rid}
    if status is not None:
        resource["status"] = status
    resource["category"] = category(OBS_CATEGORY, *kind)
    resource["code"] = code
    resource["subject"] = src.patient
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    resource["effectiveDateTime"] = when
    if issued:
        resource["issued"] = issued
    if performer:
        resource["performer"] = [{"display": performer}]
    resource.update(rest)
    updated = issued or instant(when[:10], "18:00")
    return src.add(resource, updated)


VITALS = ("vital-signs", "Vital Signs")
LAB = ("laboratory", "Laboratory")
PFT = ("procedure", "Procedure")
IMAGING = ("imaging", "Imaging")


def add_vitals(
    src: Source,
    day: str,
    hhmm: str,
    encounter: str,
    *,
    systolic: int,
    diastolic: int,
    pulse: int,
    spo2: int,
    weight: Decimal | None,
    suffix: str = "",
) -> None:
    when = at(day, hhmm)
    tag = f"{day}{suffix}"
    observation(
        src,
        f"{src.prefix}-obs-bp-{tag}",
        VITALS,
        concept(
            coding(LOINC, "85354-9", "Blood pressure panel with all children optional"),
            text="Blood pressure",
        ),
        when,
        encounter=encounter,
        component=[
            {
                "code": concept(coding(LOINC, "8480-6", "Systolic blood pressure")),
                "valueQuantity": quantity(systolic, "mmHg", "mm[Hg]"),
            },
            {
                "code": concept(coding(LOINC, "8462-4", "Diastolic blood pressure")),
                "valueQuantity": quantity(diastolic, "mmHg", "mm[Hg]"),
            },
        ],
    )
    observation(
        src,
        f"{src.prefix}-obs-hr-{tag}",
        VITALS,
        concept(coding(LOINC, "8867-4", "Heart rate"), text="Pulse"),
        when,
        encounter=encounter,
        valueQuantity=quantity(pulse, "beats/minute", "/min"),
    )
    observation(
        src,
        f"{src.prefix}-obs-spo2-{tag}",
        VITALS,
        concept(
            coding(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
            text="SpO2 (room air)",
        ),
        when,
        encounter=encounter,
        valueQuantity=quantity(spo2, "%"),
    )
    if weight is not None:
        observation(
            src,
            f"{src.prefix}-obs-weight-{tag}",
            VITALS,
            concept(coding(LOINC, "29463-7", "Body weight"), text="Weight"),
            when,
            encounter=encounter,
            valueQuantity=quantity(weight, "kg"),
        )


def predicted_fev1(day: str) -> Decimal:
    """GLI-2012-like prediction for a 163 cm woman, linearised over ages 44-58."""
    return Decimal("2.74") - Decimal("0.0225") * (Decimal(str(round(age_on(day), 2))) - 45)


def add_spirometry(src: Source, day: str, fev1: str, fvc: str, encounter: str) -> None:
    when = at(day, "09:30")
    lab = "Riverside Pulmonary Function Laboratory"
    month = day[:7]
    fev1_value = Decimal(fev1)
    percent = int((100 * fev1_value / predicted_fev1(day)).quantize(Decimal("1")))
    ratio = int((100 * fev1_value / Decimal(fvc)).quantize(Decimal("1")))
    note = [{"text": "Post-bronchodilator (albuterol 400 mcg). ATS/ERS acceptable, grade A."}]
    fev1_id = f"{src.prefix}-obs-fev1-{month}"
    observation(
        src,
        fev1_id,
        PFT,
        concept(coding(LOINC, "20150-9", "FEV1"), text="FEV1"),
        when,
        encounter=encounter,
        performer=lab,
        valueQuantity=quantity(fev1_value, "L"),
        note=note,
    )
    observation(
        src,
        f"{src.prefix}-obs-fev1pp-{month}",
        PFT,
        concept(coding(LOINC, "20152-5", "FEV1 measured/predicted"), text="FEV1 % predicted"),
        when,
        encounter=encounter,
        performer=lab,
        valueQuantity=quantity(percent, "%"),
        interpretation=interpretation("L" if percent < 80 else "N"),
        derivedFrom=[ref("Observation", fev1_id)],
    )
    observation(
        src,
        f"{src.prefix}-obs-fvc-{month}",
        PFT,
        concept(coding(LOINC, "19870-5", "FVC"), text="FVC"),
        when,
        encounter=encounter,
        performer=lab,
        valueQuantity=quantity(Decimal(fvc), "L"),
    )
    observation(
        src,
        f"{src.prefix}-obs-fev1fvc-{month}",
        PFT,
        concept(coding(LOINC, "19926-5", "FEV1/FVC"), text="FEV1/FVC"),
        when,
        encounter=encounter,
        performer=lab,
        valueQuantity=quantity(ratio, "%"),
        interpretation=interpretation("L"),
        referenceRange=[{"low": quantity(70, "%"), "text": "Obstruction if below 70 %"}],
    )


def aat_range() -> list[JSON]:
    return [
        {
            "low": quantity(100, "mg/dL"),
            "high": quantity(200, "mg/dL"),
            "text": "100-200 mg/dL",
        }
    ]


def add_liver_panel(src: Source, day: str, alt: int, ast: int, bilirubin: str) -> None:
    when = at(day, "10:05")
    issued = instant(day, "15:20")
    encounter = f"{src.prefix}-enc-{day}"
    lab = "Lakeside Medical Center Laboratory"
    alt_id = f"{src.prefix}-obs-alt-{day[:7]}"
    observation(
        src,
        alt_id,
        LAB,
        concept(
            coding(
                LOINC,
                "1742-6",
                "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
            ),
            text="ALT",
        ),
        when,
        encounter=encounter,
        issued=issued,
        performer=lab,
        # The planted data-quality case: this one arrives without its required status.
        status=None if alt_id in ODD_RESOURCE_IDS else "final",
        valueQuantity=quantity(alt, "U/L"),
        interpretation=interpretation("H" if alt > 35 else "N"),
        referenceRange=[
            {"low": quantity(7, "U/L"), "high": quantity(35, "U/L"), "text": "7-35 U/L"}
        ],
    )
    observation(
        src,
        f"{src.prefix}-obs-ast-{day[:7]}",
        LAB,
        concept(
            coding(
                LOINC,
                "1920-8",
                "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
            ),
            text="AST",
        ),
        when,
        encounter=encounter,
        issued=issued,
        performer=lab,
        valueQuantity=quantity(ast, "U/L"),
        interpretation=interpretation("H" if ast > 35 else "N"),
        referenceRange=[
            {"low": quantity(13, "U/L"), "high": quantity(35, "U/L"), "text": "13-35 U/L"}
        ],
    )
    observation(
        src,
        f"{src.prefix}-obs-bilirubin-{day[:7]}",
        LAB,
        concept(
            coding(LOINC, "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
            text="Bilirubin, total",
        ),
        when,
        encounter=encounter,
        issued=issued,
        performer=lab,
        valueQuantity=quantity(Decimal(bilirubin), "mg/dL"),
        interpretation=interpretation("N"),
        referenceRange=[
            {
                "low": quantity(Decimal("0.2"), "mg/dL"),
                "high": quantity(Decimal("1.2"), "mg/dL"),
                "text": "0.2-1.2 mg/dL",
            }
        ],
    )


def elastography(src: Source, day: str, kpa: str, iqr_percent: int) -> None:
    value = Decimal(kpa)
    observation(
        src,
        f"{src.prefix}-obs-elastography-{day[:7]}",
        IMAGING,
        concept(
            coding(LAKESIDE_LOCAL, "FIBROSCAN-LSM", "Liver stiffness, transient elastography"),
            text="Liver stiffness by transient elastography (FibroScan)",
        ),
        at(day, "10:40"),
        encounter=f"{src.prefix}-enc-{day}",
        issued=instant(day, "11:30"),
        performer=HEPATOLOGIST,
        valueQuantity=quantity(value, "kPa"),
        interpretation=interpretation("H" if value >= Decimal("7.1") else "N"),
        referenceRange=[
            {
                "high": quantity(Decimal("7.0"), "kPa"),
                "text": "Below 7.0 kPa: no significant fibrosis expected",
            }
        ],
        method=concept(text="Vibration-controlled transient elastography, M probe, fasting"),
        note=[{"text": f"10 valid measurements, IQR/median {iqr_percent} %."}],
    )


# ---------------------------------------------------------------- conditions


def condition(
    src: Source,
    rid: str,
    code: JSON,
    *,
    onset: str | None,
    recorded: str,
    kind: str = "problem-list-item",
    clinical: str = "active",
    abatement: str | None = None,
    encounter: str | None = None,
    recorder: str | None = None,
    evidence: list[str] | None = None,
    note: str | None = None,
) -> None:
    kind_names = {
        "problem-list-item": "Problem List Item",
        "encounter-diagnosis": "Encounter Diagnosis",
    }
    resource: JSON = {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": concept(coding(CONDITION_CLINICAL, clinical)),
        "verificationStatus": concept(coding(CONDITION_VERIFICATION, "confirmed")),
        "category": category(CONDITION_CATEGORY, kind, kind_names[kind]),
        "code": code,
        "subject": src.patient,
    }
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    resource["recordedDate"] = recorded
    if recorder:
        resource["recorder"] = {"display": recorder}
    if evidence:
        resource["evidence"] = [{"detail": [ref("Observation", obs) for obs in evidence]}]
    if note:
        resource["note"] = [{"text": note}]
    src.add(resource, instant(recorded[:10], "17:00"))


# ---------------------------------------------------------------- medications


def augmentation_days(first_month: str, last_month: str) -> Iterator[str]:
    """The first weekly infusion of each month (infusions are given on Thursdays)."""
    year, month = (int(part) for part in first_month.split("-"))
    while f"{year:04d}-{month:02d}" <= last_month:
        day = date(year, month, 1)
        day += timedelta(days=(WEEKDAY_THURSDAY - day.weekday()) % 7)
        if day.isoformat() == "2016-08-04":
            # Held while she was an inpatient; resumed at home the next Thursday.
            day += timedelta(days=7)
        yield day.isoformat()
        month += 1
        if month == 13:
            year, month = year + 1, 1


def alpha1_pi(product_text: str) -> JSON:
    # RxNorm 535 is the ingredient (alpha 1-antitrypsin); the brand is carried in the text.
    return concept(coding(RXNORM, "535"), text=product_text)


def iv_route() -> JSON:
    return concept(coding(SNOMED, "47625008", "Intravenous route"), text="Intravenous")


def weekly_60_mg_per_kg(start: str, end: str | None) -> list[JSON]:
    bounds: JSON = {"start": start}
    if end:
        bounds["end"] = end
    return [
        {
            "text": "60 mg/kg intravenously once weekly",
            "timing": {
                "repeat": {"boundsPeriod": bounds, "frequency": 1, "period": 1, "periodUnit": "wk"}
            },
            "route": iv_route(),
            "doseAndRate": [{"doseQuantity": quantity(60, "mg/kg")}],
        }
    ]


def medication_request(
    src: Source,
    rid: str,
    medication: JSON,
    *,
    status: str,
    authored: str,
    dosage: list[JSON],
    reason: str | None = None,
    encounter: str | None = None,
    requester: str = PULMONOLOGIST,
    updated: str | None = None,
    **rest: Any,
) -> None:
    resource: JSON = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": src.patient,
    }
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    resource["authoredOn"] = authored
    resource["requester"] = {"display": requester}
    if reason:
        resource["reasonReference"] = [ref("Condition", reason)]
    resource["dosageInstruction"] = dosage
    resource.update(rest)
    src.add(resource, updated or instant(authored[:10], "16:00"))


def short_course(text: str, route: JSON, dose: JSON, per_day: int, days: int, start: str) -> JSON:
    return {
        "text": text,
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": start, "end": shift(start, days - 1)},
                "frequency": per_day,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "route": route,
        "doseAndRate": [{"doseQuantity": dose}],
    }


def oral() -> JSON:
    return concept(coding(SNOMED, "26643006", "Oral route"), text="Oral")


def add_medications(src: Source) -> None:
    medication_request(
        src,
        "rp-medreq-tiotropium",
        concept(
            coding(RXNORM, "485032"),
            text="Tiotropium 18 mcg inhalation capsule (Spiriva HandiHaler)",
        ),
        status="active",
        authored=at("2013-03-14", "10:05"),
        encounter="rp-enc-2013-03-14",
        reason="rp-cond-copd",
        dosage=[
            {
                "text": "Inhale the contents of 1 capsule once daily",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "route": concept(text="Inhalation"),
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "capsule"}}],
            }
        ],
    )
    medication_request(
        src,
        "rp-medreq-albuterol",
        concept(
            coding(RXNORM, "435", "albuterol"),
            text="Albuterol HFA 90 mcg/actuation inhaler",
        ),
        status="active",
        authored=at("2013-03-14", "10:06"),
        encounter="rp-enc-2013-03-14",
        reason="rp-cond-copd",
        dosage=[
            {
                "text": "Inhale 2 puffs every 4-6 hours as needed for shortness of breath",
                "asNeededBoolean": True,
                "route": concept(text="Inhalation"),
                "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "puff"}}],
            }
        ],
    )
    medication_request(
        src,
        "rp-medreq-prolastin-c",
        alpha1_pi("Prolastin-C Liquid 60 mg/kg IV weekly"),
        status="stopped",
        authored=at("2015-05-07", "14:10"),
        encounter="rp-enc-2015-04-16",
        reason="rp-cond-aatd",
        dosage=weekly_60_mg_per_kg("2015-06-04", "2019-12-26"),
        updated=instant("2019-12-27", "09:00"),
        statusReason=concept(text="Payer formulary change; switched to Zemaira from 2020-01-02"),
        note=[
            {"text": "Home infusion via Riverside Home Infusion. IgA 182 mg/dL (not deficient)."}
        ],
    )
    medication_request(
        src,
        "rp-medreq-zemaira",
        alpha1_pi("Zemaira 60 mg/kg IV weekly"),
        status="active",
        authored=at("2019-12-05", "11:20"),
        encounter="rp-enc-2019-12-05",
        reason="rp-cond-aatd",
        dosage=weekly_60_mg_per_kg("2020-01-02", None),
        priorPrescription=ref("MedicationRequest", "rp-medreq-prolastin-c"),
    )
    courses = [
        (
            "rp-medreq-prednisone-2016-08",
            concept(coding(RXNORM, "8640", "prednisone"), text="Prednisone 40 mg oral tablet"),
            short_course(
                "40 mg by mouth once daily for 2 days to complete a 5-day steroid course",
                oral(),
                quantity(40, "mg"),
                1,
                2,
                "2016-08-07",
            ),
            at("2016-08-07", "11:30"),
            HOSPITALIST,
            "rp-enc-inpatient-2016-08",
            "rp-cond-copd-exacerbation-2016-08",
        ),
        (
            "rp-medreq-azithromycin-2016-08",
            concept(
                coding(RXNORM, "18631", "azithromycin"), text="Azithromycin 500 mg oral tablet"
            ),
            short_course(
                "500 mg by mouth once daily for 3 days",
                oral(),
                quantity(500, "mg"),
                1,
                3,
                "2016-08-04",
            ),
            at("2016-08-04", "01:15"),
            HOSPITALIST,
            "rp-enc-inpatient-2016-08",
            "rp-cond-copd-exacerbation-2016-08",
        ),
        (
            "rp-medreq-prednisone-2022-02",
            concept(coding(RXNORM, "8640", "prednisone"), text="Prednisone 40 mg oral tablet"),
            short_course(
                "40 mg by mouth once daily for 5 days",
                oral(),
                quantity(40, "mg"),
                1,
                5,
                "2022-02-14",
            ),
            at("2022-02-14", "23:30"),
            ED_PHYSICIAN,
            "rp-enc-emergency-2022-02",
            "rp-cond-copd-exacerbation-2022-02",
        ),
        (
            "rp-medreq-doxycycline-2022-02",
            concept(
                coding(RXNORM, "3640", "doxycycline"), text="Doxycycline hyclate 100 mg capsule"
            ),
            short_course(
                "100 mg by mouth twice daily for 5 days",
                oral(),
                quantity(100, "mg"),
                2,
                5,
                "2022-02-14",
            ),
            at("2022-02-14", "23:31"),
            ED_PHYSICIAN,
            "rp-enc-emergency-2022-02",
            "rp-cond-copd-exacerbation-2022-02",
        ),
    ]
    for rid, medication, dosage, authored, requester, encounter, reason in courses:
        medication_request(
            src,
            rid,
            medication,
            status="completed",
            authored=authored,
            dosage=[dosage],
            requester=requester,
            encounter=encounter,
            reason=reason,
            updated=instant(shift(authored[:10], 7), "08:00"),
        )


def add_infusions(src: Source, weight_on: dict[str, Decimal]) -> None:
    products = [
        ("prolastin-c", "Prolastin-C Liquid", "2015-06", "2019-12", "rp-medreq-prolastin-c"),
        ("zemaira", "Zemaira", "2020-01", "2025-10", "rp-medreq-zemaira"),
    ]
    for slug, product, first, last, request in products:
        for day in augmentation_days(first, last):
            kg = weight_on[day[:4]]
            # Rounded to whole 1 g vials, as home-infusion pharmacies dispense it.
            dose_mg = int((kg * 60 / 1000).quantize(Decimal("1"))) * 1000
            src.add(
                {
                    "resourceType": "MedicationAdministration",
                    "id": f"rp-medadmin-{slug}-{day[:7]}",
                    "status": "completed",
                    "medicationCodeableConcept": alpha1_pi(
                        f"{product} (alpha1-proteinase inhibitor, human)"
                    ),
                    "subject": src.patient,
                    "effectiveDateTime": at(day, "10:00"),
                    "performer": [{"actor": {"display": "Riverside Home Infusion"}}],
                    "request": ref("MedicationRequest", request),
                    "dosage": {
                        "text": f"60 mg/kg ({dose_mg:,} mg) IV over 15-20 minutes",
                        "route": iv_route(),
                        "dose": quantity(60, "mg/kg"),
                    },
                },
                instant(day, "16:00"),
            )


# ---------------------------------------------------------------- immunizations


def immunization(
    src: Source,
    rid: str,
    cvx: tuple[str, str],
    day: str,
    *,
    lot: str,
    performer: str,
    location: str,
    dose_number: int | None = None,
    series_doses: int | None = None,
    encounter: str | None = None,
    dose_ml: str = "0.5",
) -> None:
    resource: JSON = {
        "resourceType": "Immunization",
        "id": rid,
        "status": "completed",
        "vaccineCode": concept(coding(CVX, cvx[0], cvx[1]), text=cvx[1]),
        "patient": src.patient,
    }
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    resource.update(
        {
            "occurrenceDateTime": at(day, "11:00"),
            "primarySource": True,
            "location": {"display": location},
            "lotNumber": lot,
            "route": concept(
                coding(
                    "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                    "IM",
                    "Injection, intramuscular",
                )
            ),
            "doseQuantity": quantity(Decimal(dose_ml), "mL"),
            "performer": [{"actor": {"display": performer}}],
        }
    )
    if dose_number is not None:
        applied: JSON = {"doseNumberPositiveInt": dose_number}
        if series_doses is not None:
            applied["seriesDosesPositiveInt"] = series_doses
        resource["protocolApplied"] = [applied]
    src.add(resource, instant(day, "17:00"))


FLU_CVX = {
    "141": "Influenza, seasonal, injectable",
    "158": "influenza, injectable, quadrivalent",
    "140": "Influenza, seasonal, injectable, preservative free",
}
FLU_DAYS = [
    "2013-10-10", "2014-10-09", "2015-10-15", "2016-10-06", "2017-10-12", "2018-10-04",
    "2019-10-03", "2020-10-08", "2021-10-21", "2022-10-06", "2023-10-05", "2024-10-03",
    "2025-09-25",
]  # fmt: skip


def add_riverside_immunizations(src: Source, rng: random.Random, visits: set[str]) -> None:
    def lot() -> str:
        return f"{rng.choice('ABDFHKLMPRTUX')}{rng.randint(10000, 99999)}"

    clinic = "Riverside Pulmonary Clinic, Suite 300"
    nurse = "Riverside Pulmonary nursing staff"
    for day in FLU_DAYS:
        year = int(day[:4])
        code = "141" if year <= 2014 else "158" if year <= 2023 else "140"
        immunization(
            src,
            f"rp-imm-influenza-{year}",
            (code, FLU_CVX[code]),
            day,
            lot=lot(),
            performer=nurse,
            location=clinic,
            encounter=f"rp-enc-{day}" if day in visits else None,
        )
    immunization(
        src, "rp-imm-ppsv23-2013", ("33", "pneumococcal polysaccharide PPV23"), "2013-09-12",
        lot=lot(), performer=nurse, location=clinic, encounter="rp-enc-2013-09-12",
    )  # fmt: skip
    immunization(
        src, "rp-imm-pcv13-2016", ("133", "Pneumococcal conjugate PCV 13"), "2016-11-10",
        lot=lot(), performer=nurse, location=clinic, encounter="rp-enc-2016-11-10",
    )  # fmt: skip
    covid = ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose")
    for number, day in enumerate(["2021-02-11", "2021-03-04", "2021-10-21"], start=1):
        immunization(
            src,
            f"rp-imm-covid19-{day[:7]}",
            covid,
            day,
            lot=f"E{rng.randint(1000, 9999)}",
            performer="Riverside Health vaccination team",
            location="Riverside Health COVID-19 Vaccination Clinic",
            dose_number=number,
            series_doses=2 if number <= 2 else None,
            dose_ml="0.3",
        )


def add_lakeside_immunizations(src: Source, rng: random.Random) -> None:
    clinic = "Lakeside Medical Center, Liver Clinic (Suite 210)"
    nurse = "Lakeside Hepatology nursing staff"
    for number, day in enumerate(["2014-06-19", "2014-07-17", "2014-12-18"], start=1):
        immunization(
            src,
            f"lh-imm-hepb-{day[:7]}",
            ("43", "Hep B, adult"),
            day,
            lot=f"HB{rng.randint(100000, 999999)}",
            performer=nurse,
            location=clinic,
            dose_number=number,
            series_doses=3,
            encounter=f"lh-enc-{day}",
        )
    for number, day in enumerate(["2014-06-19", "2014-12-18"], start=1):
        immunization(
            src,
            f"lh-imm-hepa-{day[:7]}",
            ("52", "Hep A, adult"),
            day,
            lot=f"HA{rng.randint(100000, 999999)}",
            performer=nurse,
            location=clinic,
            dose_number=number,
            series_doses=2,
            encounter=f"lh-enc-{day}",
        )


# ---------------------------------------------------------------- allergies


def allergy(
    src: Source,
    rid: str,
    code: JSON,
    *,
    kind: str,
    criticality: str,
    recorded: str,
    manifestation: JSON,
    severity: str,
    onset: str,
    recorder: str,
    note: str | None = None,
) -> None:
    resource: JSON = {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "clinicalStatus": concept(coding(ALLERGY_CLINICAL, "active", "Active")),
        "verificationStatus": concept(coding(ALLERGY_VERIFICATION, "confirmed", "Confirmed")),
        "type": "allergy",
        "category": [kind],
        "criticality": criticality,
        "code": code,
        "patient": src.patient,
        "onsetString": onset,
        "recordedDate": recorded,
        "recorder": {"display": recorder},
        "reaction": [{"manifestation": [manifestation], "severity": severity}],
    }
    if note:
        resource["note"] = [{"text": note}]
    src.add(resource, instant(recorded[:10], "12:00"))


# ---------------------------------------------------------------- reports and documents


def diagnostic_report(
    src: Source,
    rid: str,
    code: JSON,
    day: str,
    hhmm: str,
    *,
    conclusion: str,
    text: str,
    title: str,
    radiologist: str,
    performer: str,
    conclusion_code: JSON | None = None,
    encounter: str | None = None,
) -> None:
    issued = instant(day, "16:45")
    resource: JSON = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "category": [
            concept(
                coding(DIAG_SERVICE, "RAD", "Radiology"),
                coding(OBS_CATEGORY, "imaging", "Imaging"),
                text="Imaging",
            )
        ],
        "code": code,
        "subject": src.patient,
    }
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    resource.update(
        {
            "effectiveDateTime": at(day, hhmm),
            "issued": issued,
            "performer": [{"display": performer}],
            "resultsInterpreter": [{"display": radiologist}],
            "conclusion": conclusion,
        }
    )
    if conclusion_code:
        resource["conclusionCode"] = [conclusion_code]
    resource["presentedForm"] = [text_attachment(text, title, at(day, "16:40"))]
    src.add(resource, issued)


NOTE_TYPES = {
    "progress": ("11506-3", "Progress note"),
    "hp": ("34117-2", "History and physical note"),
    "discharge": ("18842-5", "Discharge summary"),
}


def clinical_note(
    src: Source,
    rid: str,
    kind: str,
    day: str,
    *,
    title: str,
    text: str,
    author: str,
    custodian: str,
    encounter: str,
    period: JSON,
) -> None:
    loinc_code, display = NOTE_TYPES[kind]
    signed = instant(day, "17:10")
    src.add(
        {
            "resourceType": "DocumentReference",
            "id": rid,
            "status": "current",
            "docStatus": "final",
            "type": concept(coding(LOINC, loinc_code, display), text=title),
            "category": [concept(coding(DOC_CATEGORY, "clinical-note", "Clinical Note"))],
            "subject": src.patient,
            "date": signed,
            "author": [{"display": author}],
            "custodian": {"display": custodian},
            "description": title,
            "content": [{"attachment": text_attachment(text, title, at(day, "17:05"))}],
            "context": {"encounter": [ref("Encounter", encounter)], "period": period},
        },
        signed,
    )


def procedure(
    src: Source,
    rid: str,
    code: JSON,
    kind: JSON,
    *,
    performed: JSON,
    performer: str,
    location: str,
    reason: JSON,
    updated: str,
    encounter: str | None = None,
    report: str | None = None,
    **rest: Any,
) -> None:
    resource: JSON = {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "category": kind,
        "code": code,
        "subject": src.patient,
    }
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    resource.update(performed)
    resource["performer"] = [{"actor": {"display": performer}}]
    resource["location"] = {"display": location}
    resource["reasonCode"] = [reason]
    if report:
        resource["report"] = [ref("DiagnosticReport", report)]
    resource.update(rest)
    src.add(resource, updated)


# ---------------------------------------------------------------- the two records


def build_riverside(rng: random.Random) -> Source:
    src = Source(
        RIVERSIDE,
        "rp",
        "https://fhir.riverside-health.example.org/api/FHIR/R4/",
        "riverside-pulmonary-epic-export",
        "https://fhir.riverside-health.example.org/sid/csn",
    )
    add_patient(
        src,
        "https://fhir.riverside-health.example.org/sid/mrn",
        "E4471902",
        instant("2025-10-20", "09:15"),
    )
    visits = {day for day, _, _ in SPIROMETRY} | {day for day, _ in EXTRA_VISITS}
    reasons = dict(EXTRA_VISITS)
    reasons["2013-03-14"] = "New patient: exertional dyspnea (referred by primary care)"
    weights: dict[str, Decimal] = {}
    for day in sorted(visits):
        reason = reasons.get(day, "COPD and alpha-1 antitrypsin deficiency follow-up")
        encounter = clinic_visit(src, day, "09:00", reason)
        years = age_on(day) - age_on("2013-03-14")
        # Slow weight loss, low-normal SpO2 drifting down: the usual course of emphysema.
        weight = (Decimal("71.2") - Decimal(str(round(years * 0.6, 1)))
                  + Decimal(rng.randint(-4, 4)) / 10)  # fmt: skip
        vitals: JSON = {
            "systolic": 118 + int(years) + rng.randint(-4, 4),
            "diastolic": 76 + rng.randint(-3, 4),
            "pulse": 80 + int(years / 2) + rng.randint(-3, 4),
            "spo2": 96 - int(years / 3) + rng.randint(-1, 0),
            "weight": weight,
        }
        vitals.update(QUOTED_VITALS.get(day, {}))
        weights.setdefault(day[:4], vitals["weight"])
        add_vitals(src, day, "09:10", encounter, **vitals)
    for year in range(2013, 2026):
        # A year without a clinic visit takes the previous year's weight for dosing.
        if str(year) not in weights:
            weights[str(year)] = weights[str(year - 1)]

    for day, fev1, fvc in SPIROMETRY:
        add_spirometry(src, day, fev1, fvc, f"rp-enc-{day}")
    for day, value, percent in DLCO:
        observation(
            src,
            f"rp-obs-dlco-{day[:7]}",
            PFT,
            concept(coding(LOINC, "19911-7", "Diffusion capacity.carbon monoxide"), text="DLCO"),
            at(day, "09:50"),
            encounter=f"rp-enc-{day}",
            performer="Riverside Pulmonary Function Laboratory",
            valueQuantity=quantity(Decimal(value), "mL/min/mmHg", "mL/min/mm[Hg]"),
            interpretation=interpretation("L"),
            note=[{"text": f"{percent} % of predicted; hemoglobin-corrected."}],
        )

    for day, level, aat_encounter, note in AAT_LEVELS:
        observation(
            src,
            f"rp-obs-aat-{day[:7]}",
            LAB,
            concept(
                coding(LOINC, "1825-9", "Alpha 1 antitrypsin [Mass/volume] in Serum or Plasma"),
                text="Alpha-1 antitrypsin",
            ),
            at(day, "08:15"),
            encounter=aat_encounter,
            issued=instant(shift(day, 2), "13:00"),
            performer="Riverside Medical Center Laboratory (nephelometry)",
            valueQuantity=quantity(level, "mg/dL"),
            interpretation=interpretation("L" if level < 100 else "N"),
            referenceRange=aat_range(),
            note=[{"text": note}],
        )
    observation(
        src,
        "rp-obs-aat-phenotype-2014-01",
        LAB,
        concept(coding(LOINC, "32769-2", "Alpha 1 antitrypsin phenotype"), text="AAT phenotype"),
        at("2014-01-30", "08:15"),
        issued=instant("2014-02-14", "11:40"),
        performer="Riverside Medical Center Laboratory (isoelectric focusing)",
        valueString="Pi*ZZ",
        interpretation=[concept(coding(INTERPRETATION, "A", "Abnormal"))],
        note=[{"text": "Z band only; consistent with PI*ZZ, severe deficiency."}],
    )
    observation(
        src,
        "rp-obs-serpina1-genotype-2014-01",
        LAB,
        concept(text="SERPINA1 genotype (S and Z alleles)"),
        at("2014-01-30", "08:15"),
        issued=instant("2014-02-14", "11:41"),
        performer="Riverside Medical Center Laboratory (molecular)",
        valueString="ZZ: homozygous for the Z allele (rs28929474, p.Glu366Lys); S not detected",
        interpretation=[concept(coding(INTERPRETATION, "A", "Abnormal"))],
    )

    add_riverside_conditions(src)
    add_hospital_stays(src)
    add_medications(src)
    add_infusions(src, weights)
    add_riverside_imaging(src)
    add_riverside_notes(src)
    add_riverside_immunizations(src, rng, visits)
    allergy(
        src,
        "rp-allergy-penicillin",
        concept(coding(SNOMED, "91936005", "Allergy to penicillin"), text="Penicillin"),
        kind="medication",
        criticality="low",
        recorded=at("2013-03-14", "09:05"),
        manifestation=concept(coding(SNOMED, "247472004", "Hives"), text="Hives"),
        severity="moderate",
        onset="Teenage years",
        recorder=PULMONOLOGIST,
        note="Generalised hives after amoxicillin at about age 15; no airway involvement.",
    )
    return src


def add_riverside_conditions(src: Source) -> None:
    condition(
        src,
        "rp-cond-copd",
        concept(
            coding(SNOMED, "13645005", "Chronic obstructive lung disease"),
            coding(ICD10_CM, "J44.9", "Chronic obstructive pulmonary disease, unspecified"),
            text="COPD",
        ),
        onset="2013-03-14",
        recorded=at("2013-03-14", "10:00"),
        encounter="rp-enc-2013-03-14",
        recorder=PULMONOLOGIST,
        evidence=["rp-obs-fev1fvc-2013-03"],
        note="Post-bronchodilator FEV1/FVC 64 %, FEV1 74 % predicted (GOLD 2).",
    )
    condition(
        src,
        "rp-cond-emphysema",
        concept(
            coding(SNOMED, "87433001", "Pulmonary emphysema"),
            coding(ICD10_CM, "J43.1", "Panlobular emphysema"),
            text="Panlobular emphysema, lower-lobe predominant",
        ),
        onset="2014-01-16",
        recorded=at("2014-03-13", "09:45"),
        encounter="rp-enc-2014-03-13",
        recorder=PULMONOLOGIST,
    )
    condition(
        src,
        "rp-cond-aatd",
        concept(
            coding(SNOMED, "30188007", "Alpha-1-antitrypsin deficiency"),
            coding(ICD10_CM, "E88.01", "Alpha-1-antitrypsin deficiency"),
            text="Alpha-1 antitrypsin deficiency, Pi*ZZ",
        ),
        onset="2014-03-13",
        recorded=at("2014-03-13", "09:40"),
        encounter="rp-enc-2014-03-13",
        recorder=PULMONOLOGIST,
        evidence=["rp-obs-aat-2014-01", "rp-obs-aat-phenotype-2014-01"],
        note="Serum AAT 22 mg/dL; phenotype Pi*ZZ (2014-02-14).",
    )
    condition(
        src,
        "rp-cond-former-smoker",
        concept(
            coding(ICD10_CM, "Z87.891", "Personal history of nicotine dependence"),
            text="Former smoker, 20 pack-years, quit November 2012",
        ),
        onset=None,
        recorded=at("2013-03-14", "09:20"),
        recorder=PULMONOLOGIST,
    )
    for month, onset, abated, encounter in [
        ("2016-08", "2016-07-30", "2016-08-24", "rp-enc-inpatient-2016-08"),
        ("2022-02", "2022-02-11", "2022-03-03", "rp-enc-emergency-2022-02"),
    ]:
        condition(
            src,
            f"rp-cond-copd-exacerbation-{month}",
            concept(
                coding(
                    ICD10_CM,
                    "J44.1",
                    "Chronic obstructive pulmonary disease with (acute) exacerbation",
                ),
                text="Acute exacerbation of COPD (rhinovirus)",
            ),
            kind="encounter-diagnosis",
            clinical="resolved",
            onset=onset,
            abatement=abated,
            recorded=at(shift(onset, 4 if month == "2016-08" else 3), "23:00"),
            encounter=encounter,
            recorder=HOSPITALIST if month == "2016-08" else ED_PHYSICIAN,
        )


def add_hospital_stays(src: Source) -> None:
    exacerbation = concept(
        coding(
            ICD10_CM, "J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation"
        ),
        text="COPD exacerbation",
    )
    add_encounter(
        src,
        "rp-enc-inpatient-2016-08",
        ("IMP", "inpatient encounter"),
        at("2016-08-03", "22:40"),
        at("2016-08-07", "13:15"),
        kind="Hospital Encounter",
        reason=exacerbation,
        provider=RIVERSIDE_HOSPITAL,
        location="Riverside Medical Center, 5 West (Medical)",
        clinician=HOSPITALIST,
        hospitalization={
            "admitSource": concept(text="Emergency department"),
            "dischargeDisposition": concept(text="Home"),
        },
        diagnosis="rp-cond-copd-exacerbation-2016-08",
    )
    add_vitals(
        src, "2016-08-03", "21:05", "rp-enc-inpatient-2016-08",
        systolic=138, diastolic=84, pulse=108, spo2=86, weight=None, suffix="-admission",
    )  # fmt: skip
    add_vitals(
        src, "2016-08-07", "10:30", "rp-enc-inpatient-2016-08",
        systolic=124, diastolic=78, pulse=88, spo2=92, weight=Decimal("67.4"),
        suffix="-discharge",
    )  # fmt: skip
    add_encounter(
        src,
        "rp-enc-emergency-2022-02",
        ("EMER", "emergency"),
        at("2022-02-14", "19:20"),
        at("2022-02-14", "23:55"),
        kind="Emergency",
        reason=exacerbation,
        provider=RIVERSIDE_HOSPITAL,
        location="Riverside Medical Center Emergency Department",
        clinician=ED_PHYSICIAN,
        hospitalization={"dischargeDisposition": concept(text="Home")},
        diagnosis="rp-cond-copd-exacerbation-2022-02",
    )
    add_vitals(
        src, "2022-02-14", "19:35", "rp-enc-emergency-2022-02",
        systolic=142, diastolic=88, pulse=104, spo2=89, weight=None, suffix="-triage",
    )  # fmt: skip


def add_riverside_imaging(src: Source) -> None:
    ct_code = concept(coding(LOINC, "24627-2", "CT Chest"), text="Chest CT")
    emphysema = concept(coding(SNOMED, "87433001", "Pulmonary emphysema"))
    for day, conclusion, text, reason in [
        ("2014-01-16", CT_2014_CONCLUSION, CT_2014_REPORT, "COPD at 45: emphysema pattern"),
        ("2019-05-16", CT_2019_CONCLUSION, CT_2019_REPORT, "Follow-up of AATD emphysema"),
    ]:
        month = day[:7]
        diagnostic_report(
            src,
            f"rp-dr-ct-chest-{month}",
            ct_code,
            day,
            "08:30",
            conclusion=conclusion,
            text=text,
            title=f"CT chest without contrast, {day}",
            radiologist=CHEST_RADIOLOGIST,
            performer="Riverside Medical Center Radiology",
            conclusion_code=emphysema,
        )
        procedure(
            src,
            f"rp-proc-ct-chest-{month}",
            concept(coding(SNOMED, "169069000", "CT of chest"), text="CT chest without contrast"),
            concept(coding(SNOMED, "363679005", "Imaging"), text="Imaging"),
            performed={"performedDateTime": at(day, "08:30")},
            performer="Riverside Medical Center Radiology",
            location="Riverside Medical Center, CT Suite 2",
            reason=concept(text=reason),
            updated=instant(day, "16:45"),
            report=f"rp-dr-ct-chest-{month}",
        )


def add_riverside_notes(src: Source) -> None:
    for rid, kind, day, title, text in [
        ("rp-doc-note-2013-03-14", "hp", "2013-03-14", "Pulmonary new patient consultation",
         NOTE_2013_03_14),
        ("rp-doc-note-2014-03-13", "progress", "2014-03-13", "Pulmonary progress note",
         NOTE_2014_03_13),
        ("rp-doc-note-2015-04-16", "progress", "2015-04-16", "Pulmonary progress note",
         NOTE_2015_04_16),
        ("rp-doc-note-2016-11-10", "progress", "2016-11-10", "Pulmonary progress note",
         NOTE_2016_11_10),
        ("rp-doc-note-2019-12-05", "progress", "2019-12-05", "Pulmonary progress note",
         NOTE_2019_12_05),
        ("rp-doc-note-2022-03-03", "progress", "2022-03-03", "Pulmonary progress note",
         NOTE_2022_03_03),
        ("rp-doc-note-2025-06-12", "progress", "2025-06-12", "Pulmonary progress note",
         NOTE_2025_06_12),
    ]:  # fmt: skip
        clinical_note(
            src,
            rid,
            kind,
            day,
            title=title,
            text=text,
            author=PULMONOLOGIST,
            custodian=RIVERSIDE_CLINIC,
            encounter=f"rp-enc-{day}",
            period={"start": at(day, "09:00"), "end": at(day, "09:40")},
        )
    clinical_note(
        src,
        "rp-doc-discharge-2016-08",
        "discharge",
        "2016-08-07",
        title="Hospital discharge summary",
        text=DISCHARGE_2016_08,
        author=HOSPITALIST,
        custodian=RIVERSIDE_HOSPITAL,
        encounter="rp-enc-inpatient-2016-08",
        period={"start": at("2016-08-03", "22:40"), "end": at("2016-08-07", "13:15")},
    )


def build_lakeside(rng: random.Random) -> Source:
    src = Source(
        LAKESIDE,
        "lh",
        "https://fhir.lakeside-medical.example.org/r4/lakeside/",
        "lakeside-hepatology-cerner-export",
        "https://fhir.lakeside-medical.example.org/sid/fin",
    )
    add_patient(
        src,
        "https://fhir.lakeside-medical.example.org/sid/mrn",
        "00738215",
        instant("2025-03-20", "15:02"),
    )
    visits = [
        ("2014-06-19", "Liver evaluation: alpha-1 antitrypsin deficiency Pi*ZZ"),
        ("2014-07-17", "Nurse visit: hepatitis B vaccine dose 2"),
        ("2014-12-18", "Follow-up, vaccination and baseline elastography"),
        ("2018-02-15", "Right upper quadrant pain; gallstones on ultrasound"),
        ("2020-11-12", "Annual liver follow-up"),
        ("2023-08-17", "Liver follow-up with elastography"),
        ("2025-03-20", "Annual liver follow-up"),
    ]
    for day, reason in visits:
        encounter = clinic_visit(src, day, "10:00", reason)
        if day != "2014-07-17":
            years = age_on(day) - age_on("2014-06-19")
            add_vitals(
                src,
                day,
                "10:05",
                encounter,
                systolic=120 + int(years) + rng.randint(-4, 4),
                diastolic=77 + rng.randint(-3, 3),
                pulse=82 + int(years / 2) + rng.randint(-3, 3),
                spo2=95 - int(years / 3) + rng.randint(-1, 0),
                weight=Decimal("70.1") - Decimal(str(round(years * 0.6, 1))),
            )
    for day, alt, ast, bilirubin in LIVER_PANELS:
        add_liver_panel(src, day, alt, ast, bilirubin)
    elastography(src, "2014-12-18", "5.6", 12)
    elastography(src, "2023-08-17", "7.8", 14)

    condition(
        src,
        "lh-cond-aatd",
        concept(
            coding(ICD10_CM, "E88.01", "Alpha-1-antitrypsin deficiency"),
            coding(SNOMED, "30188007", "Alpha-1-antitrypsin deficiency"),
            text="ALPHA-1 ANTITRYPSIN DEFICIENCY (PI*ZZ)",
        ),
        onset="2014-02-14",
        recorded=at("2014-06-19", "10:30"),
        encounter="lh-enc-2014-06-19",
        recorder=HEPATOLOGIST,
    )
    condition(
        src,
        "lh-cond-gallstones",
        concept(
            coding(
                ICD10_CM, "K80.20", "Calculus of gallbladder without cholecystitis without"
                " obstruction",
            ),
            text="SYMPTOMATIC CHOLELITHIASIS",
        ),
        clinical="resolved",
        onset="2018-02-06",
        abatement="2018-04-10",
        recorded=at("2018-02-15", "10:30"),
        encounter="lh-enc-2018-02-15",
        recorder=HEPATOLOGIST,
    )  # fmt: skip
    # The planted data-quality case: an impossible onset date, as sometimes typed into an EHR.
    condition(
        src,
        "lh-cond-gerd",
        concept(
            coding(SNOMED, "235595009", "Gastroesophageal reflux disease"),
            coding(ICD10_CM, "K21.9", "Gastro-esophageal reflux disease without esophagitis"),
            text="GERD",
        ),
        onset="2019-13-45",
        recorded=at("2020-11-12", "10:25"),
        encounter="lh-enc-2020-11-12",
        recorder=HEPATOLOGIST,
        note="Heartburn for about a year; omeprazole 20 mg daily started by primary care.",
    )

    diagnostic_report(
        src,
        "lh-dr-us-abdomen-2018-02",
        concept(
            coding(LAKESIDE_LOCAL, "US-ABD-RUQ", "US abdomen limited, right upper quadrant"),
            text="Ultrasound abdomen, right upper quadrant (liver and gallbladder)",
        ),
        "2018-02-06",
        "13:10",
        conclusion=US_2018_CONCLUSION,
        text=US_2018_REPORT,
        title="US abdomen limited (RUQ), 2018-02-06",
        radiologist=US_RADIOLOGIST,
        performer="Lakeside Medical Center Imaging",
    )
    add_encounter(
        src,
        "lh-enc-surgery-2018-04-10",
        ("AMB", "ambulatory"),
        at("2018-04-10", "06:15"),
        at("2018-04-10", "15:40"),
        kind="Outpatient Surgery",
        reason=concept(text="Laparoscopic cholecystectomy for symptomatic cholelithiasis"),
        provider=LAKESIDE_HOSPITAL,
        location="Lakeside Medical Center, Ambulatory Surgery Center",
        clinician=SURGEON,
        diagnosis="lh-cond-gallstones",
    )
    procedure(
        src,
        "lh-proc-cholecystectomy-2018-04",
        concept(
            coding(SNOMED, "45595009", "Laparoscopic cholecystectomy"),
            text="Laparoscopic cholecystectomy",
        ),
        concept(coding(SNOMED, "387713003", "Surgical procedure"), text="Surgical procedure"),
        performed={
            "performedPeriod": {
                "start": at("2018-04-10", "07:45"),
                "end": at("2018-04-10", "09:05"),
            }
        },
        performer=SURGEON,
        location="Lakeside Medical Center, Ambulatory Surgery Center, OR 4",
        reason=concept(text="Symptomatic cholelithiasis"),
        updated=instant("2018-04-10", "16:00"),
        encounter="lh-enc-surgery-2018-04-10",
        reasonReference=[ref("Condition", "lh-cond-gallstones")],
        outcome=concept(text="Successful; discharged home the same day"),
        note=[
            {
                "text": "General anesthesia; latex-free setup. Liver smooth with sharp edges, "
                "no gross nodularity. Pathology: chronic cholecystitis with cholesterol stones."
            }
        ],
    )
    for rid, day, text in [
        ("lh-doc-note-2014-06-19", "2014-06-19", HEPATOLOGY_2014_06_19),
        ("lh-doc-note-2023-08-17", "2023-08-17", HEPATOLOGY_2023_08_17),
    ]:
        clinical_note(
            src,
            rid,
            "hp" if day == "2014-06-19" else "progress",
            day,
            title="Hepatology consultation" if day == "2014-06-19" else "Hepatology progress note",
            text=text,
            author=HEPATOLOGIST,
            custodian=LAKESIDE_CLINIC,
            encounter=f"lh-enc-{day}",
            period={"start": at(day, "10:00"), "end": at(day, "10:40")},
        )
    add_lakeside_immunizations(src, rng)
    allergy(
        src,
        "lh-allergy-penicillin",
        concept(coding(SNOMED, "91936005", "Allergy to penicillin"), text="PENICILLIN"),
        kind="medication",
        criticality="low",
        recorded=at("2014-06-19", "10:02"),
        manifestation=concept(coding(SNOMED, "247472004", "Hives"), text="HIVES"),
        severity="moderate",
        onset="Adolescence",
        recorder="Lakeside Hepatology nursing staff",
    )
    allergy(
        src,
        "lh-allergy-latex",
        concept(coding(SNOMED, "300916003", "Latex allergy"), text="LATEX"),
        kind="environment",
        criticality="low",
        recorded=at("2018-03-29", "14:20"),
        manifestation=concept(text="Contact dermatitis (hand rash with latex gloves)"),
        severity="mild",
        onset="2009",
        recorder="Lakeside pre-anesthesia clinic",
        note="Reported at pre-operative assessment; latex-free OR requested.",
    )
    return src


# ---------------------------------------------------------------- output


_DECIMAL_TOKEN = "@@decimal:"
_DECIMAL_PATTERN = re.compile(r'"@@decimal:(-?[0-9]+(?:\.[0-9]+)?)@@"')


def _tokenise_decimals(value: Any) -> Any:
    """Decimals are written as their exact literal (1.50 stays 1.50), unlike floats."""
    if isinstance(value, Decimal):
        return f"{_DECIMAL_TOKEN}{value}@@"
    if isinstance(value, dict):
        return {key: _tokenise_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tokenise_decimals(item) for item in value]
    return value


def render(bundle: JSON) -> str:
    text = json.dumps(_tokenise_decimals(bundle), indent=1, ensure_ascii=False)
    return _DECIMAL_PATTERN.sub(r"\1", text) + "\n"


def build() -> dict[str, str]:
    """File name -> JSON text of both demo bundles."""
    rng = random.Random(SEED)
    riverside = build_riverside(rng)
    lakeside = build_lakeside(rng)
    return {
        RIVERSIDE_FILE: render(riverside.bundle()),
        LAKESIDE_FILE: render(lakeside.bundle()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the phr-desktop demo patient.")
    default_out = Path(__file__).resolve().parent.parent / "resources" / "demo"
    parser.add_argument("--out", type=Path, default=default_out, help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in build().items():
        (args.out / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.out / name} ({len(text.encode('utf-8')):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
