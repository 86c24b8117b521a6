"""Numbers at the edges: a literal no float can hold ("1e400") and numbers of 100,000 digits
are kept as written, flagged, and every export and share built from them still opens."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from phr_desktop.interop.xml_safety import parse_xml
from phr_desktop.services.exporting import FORMATS, export
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.share_viewer import open_share_session
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.vault.raw_json import loads_exact

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
HUGE = "1" * 100_000


def _observation(rid: str, value: str, low: str = "20") -> bytes:
    return (
        b'{"resourceType":"Observation","id":"%s","status":"final",'
        b'"code":{"coding":[{"system":"http://loinc.org","code":"1825-9","display":"AAT"}]},'
        b'"effectiveDateTime":"2024-01-0%s","valueQuantity":{"value":%s,"unit":"mg/dL"},'
        b'"referenceRange":[{"low":{"value":%s}}]}'
        % (rid.encode(), rid[-1].encode(), value.encode(), low.encode())
    )


def _bundle(*entries: bytes) -> bytes:
    return (
        b'{"resourceType":"Bundle","type":"collection","entry":['
        + b",".join(b'{"resource":%s}' % e for e in entries)
        + b"]}"
    )


@pytest.fixture
def imported(session: Session, tmp_path: Path) -> Session:
    path = tmp_path / "edges.json"
    path.write_bytes(
        _bundle(
            _observation("o1", "1e400"),
            _observation("o2", "-1E+400", low="1e-400"),
            _observation("o3", "1e99999999999999999999"),
            _observation("o4", "22.50"),
        )
    )
    report = session.import_paths([path])
    assert not report.failed, report.failed
    return session


def test_a_number_no_float_holds_is_kept_as_written_and_flagged(imported: Session) -> None:
    by_id = {s.record.resource_id: s for s in imported.records()}
    for rid, literal in (("o1", "1e400"), ("o2", "-1E+400"), ("o3", "1e99999999999999999999")):
        stored = by_id[rid]
        assert stored.record.value is not None and stored.record.value.value is None
        assert stored.record.value.text == literal  # shown as written, never "inf"
        assert any("out of range" in flag and literal in flag for flag in stored.record.quality)
        assert b'"value":' + literal.encode() in imported.raw_source(stored.id)
    assert by_id["o4"].record.value and by_id["o4"].record.value.value == 22.5
    assert not by_id["o4"].record.quality


def test_reindex_rebuilds_records_holding_such_numbers(imported: Session) -> None:
    before = sorted((s.record.resource_id, s.record.quality) for s in imported.records())
    imported.reindex()
    assert sorted((s.record.resource_id, s.record.quality) for s in imported.records()) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_is_written_and_opens(imported: Session, tmp_path: Path, fmt: str) -> None:
    out = export(imported, fmt, tmp_path / f"out.{fmt}")
    data = out.read_bytes()
    if fmt in ("pdf", "emergency", "wallet"):
        text = "".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
        assert text
        if fmt == "pdf":
            assert "1e400" in text
    elif fmt == "ccda":
        assert parse_xml(data, out.name).getroot().tag.endswith("ClinicalDocument")
    elif fmt in ("fhir", "ips"):
        assert loads_exact(data)["resourceType"] == "Bundle"
        if fmt == "fhir":
            assert b'"value":1e400' in data  # as the source wrote it
    else:
        rows = list(csv.reader(data.decode().splitlines()))
        assert len(rows) > 1


def test_a_share_holding_such_numbers_is_written_and_opens(
    imported: Session, tmp_path: Path
) -> None:
    lab = imported.records(RecordFilter(kinds=("lab_result",)))
    created = create_share(
        imported,
        tmp_path / "edges.phrshare",
        ShareSelection(record_ids=tuple(s.id for s in lab)),
        "Dr Test",
        now=NOW,
    )
    with open_share_session(created.file, created.key_display, now=NOW) as opened:
        shown = {s.record.resource_id: s.record for s in opened.records()}
        assert shown["o1"].value is not None and shown["o1"].value.text == "1e400"
        assert any("out of range" in flag for flag in shown["o1"].quality)
        assert shown["o4"].value is not None and shown["o4"].value.value == 22.5


def test_a_file_of_100000_digit_numbers_imports_in_under_a_second(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "long.json"
    path.write_bytes(
        _bundle(
            _observation("o1", HUGE),
            _observation("o2", HUGE + "." + HUGE),
            _observation("o3", "-" + HUGE + "e5"),
            _observation("o4", "0." + HUGE, low=HUGE),
        )
    )
    started = time.perf_counter()
    report = session.import_paths([path])
    assert time.perf_counter() - started < 1.0
    assert not report.failed
    stored = {s.record.resource_id: s for s in session.records()}
    assert HUGE.encode() in session.raw_source(stored["o1"].id)
    assert stored["o4"].record.value and stored["o4"].record.value.value == pytest.approx(1 / 9)


def test_a_ccda_value_no_float_holds_is_kept_as_written_and_flagged(
    session: Session, tmp_path: Path
) -> None:
    ccd = Path(__file__).resolve().parents[1] / "data" / "ccda" / "vendors" / "C-CDA_R2-1_CCD.xml"
    data = ccd.read_bytes()
    assert data.count(b'<value xsi:type="PQ" value="13.2" unit="g/dL"/>') == 1
    path = tmp_path / "ccd.xml"
    path.write_bytes(data.replace(b'value="13.2" unit="g/dL"', b'value="1e400" unit="g/dL"'))
    report = session.import_paths([path])
    assert not report.failed, report.failed
    flagged = [s.record for s in session.records() if s.record.value and s.record.value.text]
    assert any(
        r.value is not None
        and r.value.text == "1E+400"
        and any("out of range" in q for q in r.quality)
        for r in flagged
    )
    for fmt in FORMATS:
        export(session, fmt, tmp_path / f"out.{fmt}")  # each is written
