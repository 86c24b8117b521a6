"""Research CSV: one row per AATD measurement, optionally date-shifted and de-identified."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from phr_desktop.domain.records import DatePrecision, PartialDate
from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.research_csv import shift_date, write_research_csv
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.session import Session


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> ExportData:
    session.import_paths(demo_files)
    return build_export_data(session)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_one_row_per_measurement_of_each_series(demo: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "research.csv"
    write_research_csv(demo, out)
    rows = _rows(out)
    counts = {s: sum(r["series"] == s for r in rows) for s in {r["series"] for r in rows}}
    assert counts == {
        "aat": 8,
        "fev1": 18,
        "fev1_pct": 18,
        "fvc": 18,
        "dlco": 4,
        "alt": 6,
        "ast": 6,
    }
    assert list(rows[0]) == [
        "subject",
        "series",
        "date",
        "value",
        "unit",
        "normalised_value",
        "normalised_unit",
        "loinc",
        "source_system",
        "record_id",
    ]
    assert {r["subject"] for r in rows} == {"Margaret Ellen Doyle"}
    fev1 = [r for r in rows if r["series"] == "fev1"]
    assert {r["loinc"] for r in fev1} == {"20150-9"}
    assert {r["normalised_unit"] for r in fev1} == {"L"}
    assert any(r["value"] == "1.50" for r in fev1)  # written as the source wrote it


def test_aat_rows_are_normalised_to_mg_per_dl(demo: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "research.csv"
    write_research_csv(demo, out, series=("aat",))
    rows = _rows(out)
    assert rows and {r["series"] for r in rows} == {"aat"}
    assert {r["normalised_unit"] for r in rows} == {"mg/dL"}
    assert all(float(r["normalised_value"]) > 0 for r in rows)
    assert "22" in {r["normalised_value"] for r in rows}  # the 2014 baseline


def test_shifted_dates_differ_by_exactly_the_shift(demo: ExportData, tmp_path: Path) -> None:
    plain, shifted = tmp_path / "plain.csv", tmp_path / "shifted.csv"
    write_research_csv(demo, plain)
    write_research_csv(demo, shifted, shift_days=-400)
    before, after = _rows(plain), _rows(shifted)
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        delta = date.fromisoformat(a["date"][:10]) - date.fromisoformat(b["date"][:10])
        assert delta.days == 400
        assert a["date"][10:] == b["date"][10:]  # time and offset kept


def test_shift_keeps_the_precision_the_source_gave() -> None:
    assert shift_date(PartialDate("2015-03", DatePrecision.MONTH), 20) == "2015-03"
    assert shift_date(PartialDate("2015-03", DatePrecision.MONTH), 40) == "2015-04"
    assert shift_date(PartialDate("2015", DatePrecision.YEAR), 400) == "2016"
    assert shift_date(PartialDate("2016-02-28", DatePrecision.DAY), 2) == "2016-03-01"


def test_deidentified_file_names_no_one_and_no_source(demo: ExportData, tmp_path: Path) -> None:
    out = tmp_path / "registry.csv"
    write_research_csv(demo, out, deidentify=True, shift_days=17, subject_id="REG-0042")
    text = out.read_text(encoding="utf-8")
    assert demo.patient is not None
    for secret in ("Margaret", "Doyle", "Riverside", "Lakeside", "Epic", "Cerner", "00738215"):
        assert secret not in text
    for ident in demo.patient.raw.get("identifier") or []:
        assert ident["value"] not in text
    rows = _rows(out)
    assert "record_id" not in rows[0]
    assert {r["subject"] for r in rows} == {"REG-0042"}
    assert {r["source_system"] for r in rows} <= {"source-1", "source-2"}


def test_deidentified_without_a_subject_id_gets_a_fresh_pseudonym(
    demo: ExportData, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_research_csv(demo, a, deidentify=True)
    write_research_csv(demo, b, deidentify=True)
    assert _rows(a)[0]["subject"] != _rows(b)[0]["subject"]


def test_unknown_series_is_refused(demo: ExportData, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown research series"):
        write_research_csv(demo, tmp_path / "x.csv", series=("aat", "cholesterol"))
