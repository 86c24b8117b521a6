"""The demo patient (resources/demo): what the demo, the tests and the screenshots rely on."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "resources" / "demo"
RIVERSIDE = "riverside-pulmonary-epic.json"
LAKESIDE = "lakeside-hepatology-cerner.json"
SOURCES = {RIVERSIDE: "Riverside Pulmonary (Epic)", LAKESIDE: "Lakeside Hepatology (Cerner)"}
PREFIXES = {RIVERSIDE: "rp", LAKESIDE: "lh"}

# Deliberately non-conformant, for the data-quality feature; everything else must validate.
ODD_IDS = {"lh-obs-alt-2020-11", "lh-cond-gerd"}

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

JSON = dict[str, Any]


@cache
def raw(name: str) -> str:
    return (DEMO / name).read_text(encoding="utf-8")


@cache
def bundle(name: str) -> JSON:
    return json.loads(raw(name))


def resources(name: str | None = None, kind: str | None = None) -> list[JSON]:
    names = [name] if name else list(SOURCES)
    return [
        entry["resource"]
        for n in names
        for entry in bundle(n)["entry"]
        if kind is None or entry["resource"]["resourceType"] == kind
    ]


def by_id(rid: str) -> JSON:
    (found,) = [r for r in resources() if r["id"] == rid]
    return found


def has_code(concept: JSON | None, system: str, code: str) -> bool:
    return any(
        c.get("system") == system and c.get("code") == code
        for c in (concept or {}).get("coding", [])
    )


def observations(code: str, name: str | None = None) -> list[JSON]:
    found = [r for r in resources(name, "Observation") if has_code(r["code"], LOINC, code)]
    return sorted(found, key=lambda r: r["effectiveDateTime"])


def day_of(value: str) -> date:
    return date.fromisoformat(value[:10])


def clinical_dates(resource: JSON) -> Iterator[str]:
    """The dates a timeline would place this resource at."""
    for key in (
        "effectiveDateTime",
        "occurrenceDateTime",
        "performedDateTime",
        "onsetDateTime",
        "authoredOn",
        "date",
    ):
        if isinstance(resource.get(key), str):
            yield resource[key]
    for key in ("period", "performedPeriod"):
        if isinstance(resource.get(key), dict):
            yield from (v for v in resource[key].values() if isinstance(v, str))


def decoded(attachment: JSON) -> str:
    assert attachment["contentType"] == "text/plain"
    return base64.b64decode(attachment["data"]).decode("utf-8")


def augmentation_start() -> date:
    admins = resources(RIVERSIDE, "MedicationAdministration")
    return min(day_of(r["effectiveDateTime"]) for r in admins)


# ---------------------------------------------------------------- shape and provenance


@pytest.mark.parametrize("name", list(SOURCES))
def test_each_file_is_a_collection_bundle_of_full_url_entries(name: str) -> None:
    doc = bundle(name)
    assert doc["resourceType"] == "Bundle"
    assert doc["type"] == "collection"
    assert doc["entry"]
    for entry in doc["entry"]:
        res = entry["resource"]
        assert entry["fullUrl"].startswith("https://")
        assert entry["fullUrl"].endswith(f"/{res['resourceType']}/{res['id']}")


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_resource_names_its_source_system_exactly(name: str) -> None:
    instant = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    for res in [bundle(name), *resources(name)]:
        meta = res["meta"]
        assert meta["source"] == SOURCES[name], res["id"]
        assert meta["versionId"] == "1", res["id"]
        assert instant.match(meta["lastUpdated"]), res["id"]
        assert meta["lastUpdated"] <= bundle(name)["timestamp"], res["id"]


def test_resource_ids_are_unique_stable_and_prefixed_by_source() -> None:
    ids = [r["id"] for r in resources()]
    assert len(ids) == len(set(ids))
    for name, prefix in PREFIXES.items():
        assert all(r["id"].startswith(f"{prefix}-") for r in resources(name))


def test_the_same_person_appears_once_in_each_file() -> None:
    riverside = resources(RIVERSIDE, "Patient")
    lakeside = resources(LAKESIDE, "Patient")
    assert [p["id"] for p in riverside] == ["rp-patient"]
    assert [p["id"] for p in lakeside] == ["lh-patient"]
    for patient in riverside + lakeside:
        assert patient["name"][0]["text"] == "Margaret Ellen Doyle"
        assert patient["gender"] == "female"
        assert patient["birthDate"] == "1968-04-12"
        assert patient["identifier"][0]["value"]
        assert patient["address"][0]["city"]
        assert {t["system"] for t in patient["telecom"]} >= {"phone", "email"}
        contact = patient["contact"][0]
        assert contact["name"]["text"]
        relationships = contact["relationship"]
        assert any(c["code"] == "C" for rel in relationships for c in rel.get("coding", [])), (
            "emergency contact"
        )
    assert riverside[0]["identifier"][0]["value"] != lakeside[0]["identifier"][0]["value"]


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_clinical_resource_points_at_its_own_files_patient(name: str) -> None:
    patient = f"Patient/{PREFIXES[name]}-patient"
    for res in resources(name):
        if res["resourceType"] == "Patient":
            continue
        who = res.get("subject") or res.get("patient")
        assert who and who["reference"] == patient, res["id"]


def test_history_spans_2013_to_2025() -> None:
    years = {
        int(value[:4])
        for res in resources()
        if res["resourceType"] != "Patient"
        for value in clinical_dates(res)
    }
    assert min(years) == 2013
    assert max(years) == 2025
    assert set(range(2013, 2026)) <= years


# ---------------------------------------------------------------- diagnoses and labs


def test_copd_is_diagnosed_in_2013_then_aatd_in_2014() -> None:
    copd = by_id("rp-cond-copd")
    assert has_code(copd["code"], SNOMED, "13645005")
    assert has_code(copd["code"], ICD10_CM, "J44.9")
    aatd = by_id("rp-cond-aatd")
    assert has_code(aatd["code"], SNOMED, "30188007")
    assert has_code(aatd["code"], ICD10_CM, "E88.01")
    assert copd["onsetDateTime"].startswith("2013")
    assert aatd["onsetDateTime"].startswith("2014")
    assert copd["onsetDateTime"] < aatd["onsetDateTime"]
    lakeside = resources(LAKESIDE, "Condition")
    assert any(has_code(c["code"], ICD10_CM, "E88.01") for c in lakeside)


def test_aat_levels_are_low_before_augmentation_and_higher_troughs_after() -> None:
    levels = observations("1825-9")
    assert len(levels) >= 5
    start = augmentation_start()
    before = [o["valueQuantity"]["value"] for o in levels if day_of(o["effectiveDateTime"]) < start]
    after = [o["valueQuantity"]["value"] for o in levels if day_of(o["effectiveDateTime"]) > start]
    assert before and after
    assert all(20 <= v <= 35 for v in before)
    assert min(after) > max(before)
    for obs in levels:
        quantity = obs["valueQuantity"]
        assert (quantity["unit"], quantity["system"], quantity["code"]) == ("mg/dL", UCUM, "mg/dL")
        (rng,) = obs["referenceRange"]
        assert (rng["low"]["value"], rng["high"]["value"]) == (100, 200)
        assert rng["low"]["unit"] == rng["high"]["unit"] == "mg/dL"
        flags = {c["code"] for i in obs.get("interpretation", []) for c in i["coding"]}
        assert ("L" in flags) == (quantity["value"] < 100)
        assert has_code(obs["category"][0], OBS_CATEGORY, "laboratory")


def test_phenotype_is_pi_zz_and_precedes_the_diagnosis() -> None:
    (phenotype,) = observations("32769-2")
    assert phenotype["valueString"] == "Pi*ZZ"
    assert phenotype["effectiveDateTime"][:10] <= by_id("rp-cond-aatd")["onsetDateTime"]


def test_hepatology_holds_liver_tests_and_elastography() -> None:
    for code in ("1742-6", "1920-8"):
        found = observations(code, LAKESIDE)
        assert len(found) >= 3
        for obs in found:
            assert obs["valueQuantity"]["unit"] == "U/L"
            assert obs["referenceRange"][0]["high"]["unit"] == "U/L"
    assert not observations("1742-6", RIVERSIDE)
    stiffness = [
        r for r in resources(LAKESIDE, "Observation") if "elastography" in r["code"]["text"].lower()
    ]
    assert stiffness
    assert all(o["valueQuantity"]["code"] == "kPa" for o in stiffness)


# ---------------------------------------------------------------- lung function


def fev1_series() -> list[tuple[date, float]]:
    return [
        (day_of(o["effectiveDateTime"]), o["valueQuantity"]["value"])
        for o in observations("20150-9")
    ]


def test_spirometry_has_at_least_15_complete_sessions() -> None:
    fev1 = observations("20150-9")
    assert len(fev1) >= 15
    companions = {code: observations(code) for code in ("20152-5", "19870-5", "19926-5")}
    for obs in fev1:
        quantity = obs["valueQuantity"]
        assert (quantity["unit"], quantity["system"], quantity["code"]) == ("L", UCUM, "L")
        assert has_code(obs["category"][0], OBS_CATEGORY, "procedure")
        for code, others in companions.items():
            same_time = [o for o in others if o["effectiveDateTime"] == obs["effectiveDateTime"]]
            assert len(same_time) == 1, (code, obs["id"])
    for obs in companions["20152-5"] + companions["19926-5"]:
        assert obs["valueQuantity"]["unit"] == "%"


def test_one_fev1_fall_over_ten_percent_before_augmentation_then_slow_decline() -> None:
    series = fev1_series()
    falls = [
        (earlier, later)
        for earlier, later in pairwise(series)
        if (earlier[1] - later[1]) / earlier[1] > 0.10
    ]
    assert len(falls) == 1
    (_, (fall_day, _)) = falls[0]
    start = augmentation_start()
    assert fall_day < start
    treated = [(d, v) for d, v in series if d > start]
    xs = [(d - treated[0][0]).days / 365.25 for d, _ in treated]
    ys = [v for _, v in treated]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    assert 0.035 <= -slope <= 0.060, f"{-slope * 1000:.0f} mL/year"


def test_a_fev1_decimal_with_a_trailing_zero_is_written_literally() -> None:
    text = raw(RIVERSIDE)
    start = text.index('"id": "rp-obs-fev1-2017-05"')
    end = text.index('"resourceType"', start)
    assert re.search(r'"value": 1\.50\s*,', text[start:end])
    assert by_id("rp-obs-fev1-2017-05")["valueQuantity"]["value"] == 1.5


def test_dlco_is_measured_several_times() -> None:
    dlco = observations("19911-7")
    assert len(dlco) >= 3
    assert all(o["valueQuantity"]["code"] == "mL/min/mm[Hg]" for o in dlco)


def test_vital_signs_are_recorded_at_many_visits() -> None:
    vitals = [
        r
        for r in resources(kind="Observation")
        if has_code(r["category"][0], OBS_CATEGORY, "vital-signs")
    ]
    for code in ("85354-9", "8867-4", "29463-7", "59408-5"):
        dated = {o["effectiveDateTime"][:10] for o in vitals if has_code(o["code"], LOINC, code)}
        assert len(dated) >= 15, code
    for panel in (o for o in vitals if has_code(o["code"], LOINC, "85354-9")):
        assert {c["code"]["coding"][0]["code"] for c in panel["component"]} == {"8480-6", "8462-4"}


# ---------------------------------------------------------------- treatment


def medication_text(res: JSON) -> str:
    return res["medicationCodeableConcept"]["text"]


def test_prolastin_c_from_2015_then_zemaira_from_2020() -> None:
    requests = resources(RIVERSIDE, "MedicationRequest")
    (prolastin,) = [r for r in requests if "Prolastin-C" in medication_text(r)]
    (zemaira,) = [r for r in requests if "Zemaira" in medication_text(r)]
    assert prolastin["status"] == "stopped"
    assert zemaira["status"] == "active"
    prolastin_bounds = prolastin["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
    zemaira_bounds = zemaira["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
    assert prolastin_bounds["start"].startswith("2015")
    assert zemaira_bounds["start"].startswith("2020")
    assert prolastin_bounds["end"] < zemaira_bounds["start"]
    texts = " ".join(medication_text(r).lower() for r in requests)
    assert "tiotropium" in texts
    assert "albuterol" in texts


def test_monthly_infusion_log_follows_the_products() -> None:
    admins = resources(RIVERSIDE, "MedicationAdministration")
    months = [r["effectiveDateTime"][:7] for r in admins]
    assert len(months) == len(set(months)), "one logged infusion a month"
    for admin in admins:
        year = int(admin["effectiveDateTime"][:4])
        product = medication_text(admin)
        if "Prolastin-C" in product:
            assert 2015 <= year <= 2019
            assert admin["request"]["reference"] == "MedicationRequest/rp-medreq-prolastin-c"
        else:
            assert "Zemaira" in product
            assert 2020 <= year <= 2025
            assert admin["request"]["reference"] == "MedicationRequest/rp-medreq-zemaira"
        dose = admin["dosage"]["dose"]
        assert (dose["value"], dose["code"]) == (60, "mg/kg")
        assert has_code(admin["dosage"]["route"], SNOMED, "47625008")
        assert admin["status"] == "completed"
    assert sum("Prolastin-C" in medication_text(a) for a in admins) >= 50
    assert sum("Zemaira" in medication_text(a) for a in admins) >= 60


def test_procedures_include_chest_ct_and_a_2018_cholecystectomy() -> None:
    procedures = resources(kind="Procedure")
    cts = [p for p in procedures if has_code(p["code"], SNOMED, "169069000")]
    assert len(cts) >= 1
    (surgery,) = [p for p in procedures if has_code(p["category"], SNOMED, "387713003")]
    assert has_code(surgery["code"], SNOMED, "45595009")
    assert surgery["performedPeriod"]["start"].startswith("2018")


def test_chest_ct_report_describes_basilar_panlobular_emphysema() -> None:
    reports = [
        r for r in resources(RIVERSIDE, "DiagnosticReport") if has_code(r["code"], LOINC, "24627-2")
    ]
    assert reports
    first = min(reports, key=lambda r: r["effectiveDateTime"])
    assert "panlobular" in first["conclusion"].lower()
    assert "basilar" in first["conclusion"].lower()
    assert any(c["code"] == "imaging" for c in first["category"][0]["coding"])
    report_text = decoded(first["presentedForm"][0])
    assert "IMPRESSION" in report_text
    assert len(report_text) > 1000


def test_hepatology_has_a_liver_ultrasound_report() -> None:
    (ultrasound,) = resources(LAKESIDE, "DiagnosticReport")
    assert "ultrasound" in ultrasound["code"]["text"].lower()
    assert "liver" in decoded(ultrasound["presentedForm"][0]).lower()


def test_clinic_notes_are_readable_dated_and_attributed() -> None:
    notes = resources(kind="DocumentReference")
    assert len(notes) >= 4
    for note in notes:
        assert any(has_code(note["type"], LOINC, c) for c in ("11506-3", "34117-2", "18842-5"))
        assert note["date"]
        assert note["author"][0]["display"]
        assert note["custodian"]["display"]
        text = decoded(note["content"][0]["attachment"])
        assert text.count("\n\n") >= 3, note["id"]
        assert len(text) > 800, note["id"]
    progress = [n for n in notes if has_code(n["type"], LOINC, "11506-3")]
    assert len(progress) >= 4


def test_encounters_cover_visits_one_admission_and_one_emergency() -> None:
    encounters = resources(kind="Encounter")
    for enc in encounters:
        assert enc["serviceProvider"]["display"]
        assert enc["location"][0]["location"]["display"]
        assert enc["period"]["start"] <= enc["period"]["end"]
    ambulatory = {e["period"]["start"][:10] for e in encounters if e["class"]["code"] == "AMB"}
    (admission,) = [e for e in encounters if e["class"]["code"] == "IMP"]
    (emergency,) = [e for e in encounters if e["class"]["code"] == "EMER"]
    assert admission["period"]["start"].startswith("2016")
    assert admission["period"]["end"] > admission["period"]["start"]
    assert has_code(admission["reasonCode"][0], ICD10_CM, "J44.1")
    assert emergency["period"]["start"].startswith("2022")
    for obs in observations("20150-9"):
        assert obs["effectiveDateTime"][:10] in ambulatory
    for note in resources(kind="DocumentReference"):
        (context,) = note["context"]["encounter"]
        assert by_id(context["reference"].split("/")[1])["resourceType"] == "Encounter"


def test_immunizations_fit_aatd() -> None:
    shots = resources(kind="Immunization")

    def cvx(code: str) -> list[JSON]:
        return [s for s in shots if has_code(s["vaccineCode"], CVX, code)]

    flu_years = {
        int(s["occurrenceDateTime"][:4]) for code in ("140", "141", "150", "158") for s in cvx(code)
    }
    assert flu_years == set(range(2013, 2026))
    assert cvx("33") and cvx("133")
    assert len(cvx("208")) >= 2
    assert len(cvx("43")) == 3, "hepatitis B series"
    assert len(cvx("52")) == 2, "hepatitis A series"


def test_allergies_to_penicillin_with_hives_and_latex() -> None:
    allergies = resources(kind="AllergyIntolerance")
    penicillin = [a for a in allergies if has_code(a["code"], SNOMED, "91936005")]
    assert penicillin
    for allergy in penicillin:
        manifestations = allergy["reaction"][0]["manifestation"]
        assert any("hives" in m["text"].lower() for m in manifestations)
    assert any(has_code(a["code"], SNOMED, "300916003") for a in allergies)


# ---------------------------------------------------------------- conformance


def test_the_planted_odd_resources_are_exactly_the_listed_two() -> None:
    alt = by_id("lh-obs-alt-2020-11")
    assert "status" not in alt
    assert has_code(alt["code"], LOINC, "1742-6")
    gerd = by_id("lh-cond-gerd")
    assert gerd["onsetDateTime"] == "2019-13-45"
    assert all("status" in r for r in resources(kind="Observation") if r["id"] not in ODD_IDS)


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_other_resource_validates_with_fhir_resources_r4b(name: str) -> None:
    for res in resources(name):
        model = get_fhir_model_class(res["resourceType"])
        if res["id"] in ODD_IDS:
            with pytest.raises(ValueError):
                model.model_validate(res)
        else:
            model.model_validate(res)
    conformant = dict(bundle(name))
    conformant["entry"] = [e for e in conformant["entry"] if e["resource"]["id"] not in ODD_IDS]
    get_fhir_model_class("Bundle").model_validate(conformant)


def test_readme_explains_the_data_and_lists_the_odd_resources() -> None:
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()
    assert "tools/make_demo.py" in readme
    for rid in ODD_IDS:
        assert rid in readme


def test_the_generator_reproduces_the_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_demo.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in SOURCES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_the_demo_stays_small() -> None:
    total = sum((DEMO / name).stat().st_size for name in SOURCES)
    assert total < 1_500_000
