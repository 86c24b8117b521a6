"""Whose record is it (issue 13): every imported file is checked against the profile's person,
and a fact that reaches us from several sources is shown once, naming every source."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson

from phr_desktop.domain.person_match import PersonName
from phr_desktop.services.exporting import export
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session

DATA = Path(__file__).resolve().parent.parent / "data"
REBECCA_IPATIENTCARE = DATA / "identity" / "rebecca_larson_ipatientcare.xml"
REBECCA_MCKESSON = DATA / "identity" / "rebecca_larson_mckesson.xml"
KAREN = DATA / "identity" / "karen_mckiney_successehs.xml"
ALICE = DATA / "ccda" / "vendors" / "agastha_ccd.xml"


def _raw_count(session: Session) -> int:
    return int(session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0])


def _patient_file(folder: Path, name: str, given: str, family: str, birth: str) -> Path:
    """A small FHIR Bundle: a Patient and one lab result."""
    path = folder / name
    path.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Patient",
                            "id": f"p-{name}",
                            "name": [{"given": [given], "family": family}],
                            "birthDate": birth,
                        }
                    },
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "id": f"o-{name}",
                            "status": "final",
                            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                            "effectiveDateTime": "2021-03-04T10:00:00Z",
                            "valueQuantity": {"value": 12.5, "unit": "g/dL"},
                        }
                    },
                ],
            }
        )
    )
    return path


def test_the_first_imported_patient_becomes_the_profiles_person(session: Session) -> None:
    assert session.person.get() is None
    session.import_paths([REBECCA_IPATIENTCARE])
    profile = session.person.get()
    assert profile is not None
    assert profile.person.display_name == "Rebecca Jones Larson"
    assert profile.person.birth_date == "1970-05-01"


def test_the_same_person_from_two_ehrs_is_accepted_and_shared_facts_shown_once(
    session: Session,
) -> None:
    report = session.import_paths([REBECCA_IPATIENTCARE, REBECCA_MCKESSON])
    assert [f.status for f in report.files] == ["imported", "imported"]

    every = session.records(RecordFilter(every_source=True))
    shown = session.records()
    assert len(shown) < len(every)  # raw resources and their records all stay
    problems = [s for s in shown if s.record.kind.value == "problem"]
    titles = [s.record.title.casefold() for s in problems]
    assert len(titles) == len(set(titles)), "a problem both EHRs list is shown once"
    hypertension = next(s for s in problems if "hypertension" in s.record.title.casefold())
    sources = session.record_sources([hypertension.id])[hypertension.id]
    assert any("rebecca_larson_ipatientcare.xml" in s for s in sources)
    assert any("rebecca_larson_mckesson.xml" in s for s in sources)
    # Counts and the timeline see each fact once too.
    assert sum(session.queries.counts_by_kind().values()) == len(shown)


def test_another_persons_file_is_held_naming_both_and_the_other_files_still_import(
    session: Session,
) -> None:
    session.import_paths([REBECCA_IPATIENTCARE])
    before = _raw_count(session)
    report = session.import_paths([KAREN, ALICE, REBECCA_MCKESSON])
    statuses = {Path(f.path).name: f.status for f in report.files}
    assert statuses == {
        KAREN.name: "other_person",
        ALICE.name: "other_person",
        REBECCA_MCKESSON.name: "imported",
    }
    karen = report.files[0]
    assert karen.error is not None
    assert "KAREN JONES MCKINEY" in karen.error and "Rebecca Jones Larson" in karen.error
    assert "family name" in karen.error
    as_json = karen.as_dict()
    assert as_json["incoming"] == {"name": "KAREN JONES MCKINEY", "birth_date": "1970-05-01"}
    assert as_json["profile_person"]["name"] == "Rebecca Jones Larson"
    # Nothing of Karen's or Alice's was stored; Rebecca's McKesson file was.
    names = {
        s.record.title for s in session.records(RecordFilter(kinds=("patient",), every_source=True))
    }
    assert names == {"Rebecca Jones Larson", "REBECCA JONES LARSON"}
    assert _raw_count(session) > before


def test_a_close_call_is_held_with_the_reason(session: Session, tmp_path: Path) -> None:
    session.import_paths([_patient_file(tmp_path, "a.json", "Rebecca", "Larson", "1970-05-01")])
    report = session.import_paths(
        [_patient_file(tmp_path, "b.json", "Rebecca", "Larson", "1970-06-03")]
    )
    (outcome,) = report.files
    assert outcome.status == "other_person"
    assert outcome.person is not None and outcome.person.verdict.value == "close_call"
    assert "1970-06-03" in outcome.as_dict()["reason"]


def test_same_person_imports_a_held_file_and_remembers_the_alias(
    session: Session, tmp_path: Path
) -> None:
    session.import_paths([_patient_file(tmp_path, "a.json", "Rebecca", "Larson", "1970-05-01")])
    maiden = _patient_file(tmp_path, "maiden.json", "Rebecca", "Smith", "1970-05-01")
    assert session.import_paths([maiden]).files[0].status == "other_person"
    assert session.import_paths([maiden], same_person=True).files[0].status == "imported"
    profile = session.person.get()
    assert profile is not None
    assert [a.name.display for a in profile.aliases] == ["Rebecca Smith"]
    # The alias is known from now on: another file in her maiden name needs no confirming.
    again = _patient_file(tmp_path, "maiden2.json", "Rebecca", "Smith", "1970-05-01")
    assert session.import_paths([again]).files[0].status == "imported"


def test_a_person_set_at_creation_is_checked_from_the_first_file(
    profiles: Profiles, fast_kdf: None
) -> None:
    created, _ = profiles.create("karen", "a long enough passphrase")
    with created as session:
        session.person.set([PersonName(("Karen",), "McKiney")], "1970-05-01")
        report = session.import_paths([REBECCA_IPATIENTCARE, KAREN])
        assert [f.status for f in report.files] == ["other_person", "imported"]


def test_a_wrong_match_is_split_and_the_split_survives_reindex_and_undo_joins_them(
    session: Session,
) -> None:
    session.import_paths([REBECCA_IPATIENTCARE, REBECCA_MCKESSON])
    shown = session.records(RecordFilter(kinds=("problem",)))
    target = next(s for s in shown if "hypertension" in s.record.title.casefold())
    first, other = (s.id for s in session.same_fact_records(target.id)[:2])
    before = len(session.record_ids())

    session.split_records(first, other)
    assert len(session.record_ids()) == before + 1
    assert other in session.record_ids()
    session.reindex()
    assert other in session.record_ids(), "the split lasts through reindex"
    assert [s.id for s in session.split_from(first)] == [other]

    assert session.undo_split(first, other) is True
    assert other not in session.record_ids()
    assert len(session.record_ids()) == before


def test_our_own_fhir_export_imports_back_as_nothing_new(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    raw_before = _raw_count(session)
    exported = export(session, "fhir", tmp_path / "all.json")
    bundle = orjson.loads(exported.read_bytes())
    patients = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 2, "every Patient is exported (the demo has one per practice)"
    assert len(bundle["entry"]) == raw_before, "every raw resource, repeated facts too"

    report = session.import_paths([exported])
    assert report.totals.new == 0 and report.totals.updated == 0
    assert _raw_count(session) == raw_before


def test_an_upgraded_vault_links_its_facts_when_first_opened(
    profiles: Profiles, fast_kdf: None
) -> None:
    saved = DATA / "vaults" / "schema6"
    shutil.copytree(saved, profiles.root / "old", ignore=shutil.ignore_patterns("README*"))
    with profiles.unlock("old", passphrase="schema six passphrase") as session:
        every = session.records(RecordFilter(every_source=True))
        assert len(every) == 436
        assert len(session.record_ids()) < 436  # the demo's two practices share facts


def test_the_same_file_under_two_sources_is_shown_once_with_both_sources(
    session: Session, demo_files: list[Path]
) -> None:
    first = session.import_paths(demo_files[:1], source_name="Portal download")
    shown = session.record_ids()
    report = session.import_paths(demo_files[:1], source_name="Another copy")
    assert report.totals.new == first.totals.new  # every raw resource is kept again
    assert session.record_ids() == shown  # encounters and documents too: byte-identical
    sources = session.record_sources(shown)
    assert all(
        any(s.startswith("Portal download") for s in names)
        and any(s.startswith("Another copy") for s in names)
        for names in sources.values()
    )


def _conditions_file(folder: Path, name: str, source: str, *onsets: str) -> Path:
    entries = [
        {
            "resource": {
                "resourceType": "Condition",
                "id": f"{name}-{i}",
                "meta": {"source": source},
                "code": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "195951007"}],
                    "text": "Acute exacerbation of COPD",
                },
                "onsetDateTime": onset,
            }
        }
        for i, onset in enumerate(onsets)
    ]
    path = folder / f"{name}.json"
    path.write_bytes(
        orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    return path


def test_a_problem_one_source_lists_twice_stays_two_and_another_source_joins_the_first(
    session: Session, tmp_path: Path
) -> None:
    clinic = _conditions_file(tmp_path, "clinic", "Clinic", "2016-07-30T10:00:00Z", "2022-02-11")
    session.import_paths([clinic])
    first = session.record_ids()
    assert len(first) == 2  # two exacerbations
    portal = _conditions_file(tmp_path, "portal", "Portal", "2016-08-02")
    session.import_paths([portal])
    assert session.record_ids() == first
    oldest = min(first)
    assert [s.split(" (")[0] for s in session.record_sources([oldest])[oldest]] == [
        "Clinic",
        "Portal",
    ]


def test_a_first_file_holding_two_people_confirmed_as_one_sets_the_person_and_an_alias(
    session: Session, tmp_path: Path
) -> None:
    a = orjson.loads(
        _patient_file(tmp_path, "a.json", "Rebecca", "Larson", "1970-05-01").read_bytes()
    )
    b = orjson.loads(
        _patient_file(tmp_path, "b.json", "Rebecca", "Smith", "1970-05-01").read_bytes()
    )
    both = tmp_path / "both.json"
    both.write_bytes(orjson.dumps({**a, "entry": a["entry"] + b["entry"]}))
    assert session.import_paths([both]).files[0].status == "other_person"
    assert session.person.get() is None
    assert session.import_paths([both], same_person=True).files[0].status == "imported"
    profile = session.person.get()
    assert profile is not None and profile.person.display_name == "Rebecca Larson"
    assert [a.name.display for a in profile.aliases] == ["Rebecca Smith"]


def test_the_ccd_pdf_and_ips_exports_read_each_fact_once(
    session: Session, demo_files: list[Path]
) -> None:
    from phr_desktop.services.exporting import build_export_data

    session.import_paths(demo_files)
    data = build_export_data(session)
    allergies = [r.record.title.casefold() for r in data.of_kind("allergy")]
    assert allergies.count("penicillin") == 1  # both practices record it
    every = build_export_data(session, every_source=True)
    assert len(every.records) == len(data.records) + 2  # + the AATD diagnosis and allergy
    assert len(every.other_patients) == 1 and data.other_patients == ()


def test_an_encounter_from_two_sources_with_the_same_identifier_is_shown_once(
    session: Session, tmp_path: Path
) -> None:
    def encounter_file(name: str, source: str, status: str) -> Path:
        encounter = {
            "resourceType": "Encounter",
            "id": f"enc-{name}",
            "meta": {"source": source},
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "VISIT-17"}],
            "status": status,
            "class": {"code": "AMB"},
            "period": {"start": "2021-03-04T09:00:00Z"},
        }
        path = tmp_path / f"{name}.json"
        path.write_bytes(orjson.dumps(encounter))
        return path

    session.import_paths([encounter_file("portal", "Portal", "finished")])
    shown = session.record_ids()
    session.import_paths([encounter_file("sync", "Clinic FHIR", "in-progress")])
    assert session.record_ids() == shown
    assert len(session.record_sources(shown)[shown[0]]) == 2


def test_the_onc_test_patients_are_byte_for_byte_as_published() -> None:
    import hashlib

    for line in (DATA / "identity" / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        path = DATA.parent.parent / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
