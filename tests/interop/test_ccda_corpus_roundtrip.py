"""Every C-CDA of the corpus, imported, exported as our CCD and imported again, keeps every fact.

For problems, allergies (status, reactions, severity), medications (status, dose, route,
frequency, dates), immunizations, procedures, encounters, results and vital signs (value, unit,
reference range, interpretation, date), the facts (kind, codes with translations, dates, value,
unit, status, negation: tests/interop/ccda_facts.py) after the round trip are exactly those
before: nothing lost, nothing added. Every note (a section the importer keeps as narrative)
comes back with its title, type and text, and so does the readable text of the source
document. Each CCD has 0 errors against HL7's CDA_SDTC.xsd and 0 failed SHALL rules of HL7's
C-CDA R2.1 Schematron.

The corpus is tests/data/ccda/corpus (provenance in its README). Each file is imported as a copy
named `.xml`: telling a C-CDA by its content whatever its name is the importer's own test.
"""

from __future__ import annotations

import shutil
from collections import Counter
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
from tests.interop.ccda_corpus import CORPUS, corpus_documents
from tests.interop.ccda_facts import difference, note_facts, profile_facts, shown_facts
from tests.interop.cda_schema_support import schema_errors, schema_summary
from tests.interop.schematron_support import CcdaSchematron, summary

# Round trips that fail because of the importer; strict, so a fixed one must leave this list.
IMPORTER_GAPS: dict[str, str] = {}


def case(path: Path) -> object:
    name = str(path.relative_to(CORPUS))
    gap = IMPORTER_GAPS.get(path.name)
    marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
    return pytest.param(path, id=name, marks=marks)


@pytest.fixture(scope="module")
def shall_rules() -> CcdaSchematron:
    try:
        voc = schematron_support.install()
    except schematron_support.SchematronUnavailable as exc:
        pytest.fail(str(exc))
    return CcdaSchematron(voc, "errors")


def imported(session: Session, source: Path, tmp_path: Path) -> None:
    copy = tmp_path / f"{source.stem}.xml"
    shutil.copyfile(source, copy)
    report = session.import_paths([copy])
    assert not report.failed, report.as_dict()


def test_the_corpus_holds_the_documents_the_issue_names() -> None:
    documents = corpus_documents()
    assert len(documents) >= 40
    assert set(IMPORTER_GAPS) <= {p.name for p in documents}


@pytest.mark.parametrize("source", [case(p) for p in corpus_documents()])
def test_import_export_import_keeps_every_fact_in_a_valid_conformant_ccd(
    source: Path,
    session: Session,
    profiles: Profiles,
    tmp_path: Path,
    shall_rules: CcdaSchematron,
) -> None:
    imported(session, source, tmp_path)
    # What the profile shows (each fact once) is what the CCD must carry, no more, no less:
    # every resource the CCD brings back is compared with it.
    before = shown_facts(session)
    notes_before = note_facts(session)
    document = build_ccd(build_export_data(session))
    errors = schema_errors(document)
    assert not errors, schema_summary(errors)
    failures = shall_rules.failed_asserts(document)
    assert not failures, summary(failures)
    written = tmp_path / "ours" / "ccd.xml"
    written.parent.mkdir()
    written.write_bytes(document)
    with profiles.create("roundtrip", PASSPHRASE)[0] as again:
        imported(again, written, tmp_path)
        after = profile_facts(again)
        notes_after = note_facts(again)
    assert after == before, difference(before, after)
    # Every note comes back with its title, type and text, and so does the text of the source
    # document; what is added is the text of our own CCD, kept as its source document.
    our_title = etree.fromstring(document).findtext("{urn:hl7-org:v3}title")
    ours = Counter({n: 1 for n in notes_after if n[0] == f"Source document: {our_title}"})
    assert notes_after - notes_before == ours
    assert not notes_before - notes_after, difference(notes_before, notes_after)


def test_a_panel_whose_results_share_one_id_lists_every_result(session: Session) -> None:
    # Agastha gives all 7 urinalysis results of its panel the same <id>; the importer keeps
    # each (the later ones renamed by content), and the report must list them by those names.
    # (the corpus's onc2015/Agastha/195352.xml, kept once, as vendors/agastha_ccd.xml)
    source = CORPUS.parent / "vendors" / "agastha_ccd.xml"
    assert not session.import_paths([source]).failed
    rows = session.vault.conn.execute(
        "SELECT resource_type, body FROM raw_resources "
        "WHERE resource_type IN ('DiagnosticReport', 'Observation')"
    ).fetchall()
    observations = {orjson.loads(body)["id"] for kind, body in rows if kind == "Observation"}
    (panel,) = [
        orjson.loads(body)
        for kind, body in rows
        if kind == "DiagnosticReport" and b"24357-6" in body
    ]
    listed = [r["reference"].removeprefix("Observation/") for r in panel["result"]]
    assert len(listed) == len(set(listed)) == 7
    assert set(listed) <= observations


def test_a_medication_frequency_is_read_and_goes_back_out(session: Session) -> None:
    # Get Real Health writes "every 12 hours" as <effectiveTime xsi:type="PIVL_TS"><period
    # value="12" unit="h"/>: it was dropped on import, so no round trip could keep it.
    source = CORPUS / "vendor" / "onc2015" / "Get Real Health" / "CCD_e1.xml"
    assert not session.import_paths([source]).failed
    timings = [
        orjson.loads(body)["dosage"][0].get("timing")
        for (body,) in session.vault.conn.execute(
            "SELECT body FROM raw_resources WHERE resource_type = 'MedicationStatement'"
        )
    ]
    assert {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}} in timings
    ccd = etree.fromstring(build_ccd(build_export_data(session)))
    periods = ccd.xpath(
        "//v3:substanceAdministration/v3:effectiveTime[@xsi:type='PIVL_TS']/v3:period",
        namespaces={"v3": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"},
    )
    written = sorted((p.get("value"), p.get("unit")) for p in periods)
    read = sorted(
        (str(t["repeat"]["period"]), t["repeat"]["periodUnit"]) for t in timings if t is not None
    )
    assert written == read
