"""Research CSV: one row per AATD measurement (AAT, lung function, liver enzymes), for registries.

Values are written as the source wrote them, beside a normalised value (AAT in mg/dL, FEV1 and
FVC in litres). Optional date shifting and de-identification prepare a registry submission.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.codes import LOINC
from phr_desktop.domain.records import DatePrecision, PartialDate, Record
from phr_desktop.domain.units import UnitError, aat_mg_per_dl, volume_ml
from phr_desktop.interop.export_data import ExportData, ExportRecord

DEFAULT_SERIES = ("aat", "fev1", "fev1_pct", "fvc", "dlco", "alt", "ast")

# ALT and AST share the pack's "liver" set with bilirubin, GGT...: pick them by LOINC.
_ALT_LOINC = frozenset({"1742-6", "1743-4", "76625-3"})
_AST_LOINC = frozenset({"1920-8", "30239-8"})

_FULL_COLUMNS = (
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
)


def _has_loinc(record: Record, codes: frozenset[str]) -> bool:
    return any(c.system == LOINC and c.code in codes for c in record.codes)


def _is_volume(record: Record) -> bool:
    try:
        volume_ml(1.0, record.value.unit if record.value else None)
    except UnitError:
        return False
    return True


def _series_tests(pack: AatdPack) -> dict[str, Callable[[Record], bool]]:
    return {
        "aat": lambda r: pack.is_aat_level(r.codes),
        "fev1": lambda r: pack.is_fev1(r.codes),
        "fev1_pct": lambda r: pack.is_fev1_percent_predicted(r.codes),
        # "spirometry_other" also holds FEV1/FVC (a ratio); the volumes in it are FVC.
        "fvc": lambda r: pack.sets["spirometry_other"].matches_codes(r.codes) and _is_volume(r),
        "dlco": lambda r: pack.sets["dlco"].matches_codes(r.codes),
        "alt": lambda r: _has_loinc(r, _ALT_LOINC),
        "ast": lambda r: _has_loinc(r, _AST_LOINC),
    }


def _normalise(series: str, value: float, unit: str | None) -> tuple[float, str | None]:
    if series == "aat":
        return aat_mg_per_dl(value, unit or ""), "mg/dL"
    if series in ("fev1", "fvc"):
        return volume_ml(value, unit) / 1000, "L"
    return value, unit


def _literal_value(rec: ExportRecord) -> str | None:
    """valueQuantity.value exactly as the source wrote it ("1.50", not 1.5)."""
    raw: Any = json.loads(rec.raw_body, parse_float=str, parse_int=str)
    quantity = raw.get("valueQuantity") if isinstance(raw, dict) else None
    value = quantity.get("value") if isinstance(quantity, dict) else None
    return value if isinstance(value, str) else None


def shift_date(value: PartialDate, days: int) -> str:
    """The date moved by `days`, written with the precision it had.

    Day and instant dates move exactly (an instant keeps its time and offset). A month or
    year moves with its first day, so "2015-03" shifted by 20 days is still "2015-03".
    """
    if days == 0:
        return value.text
    if value.precision is DatePrecision.YEAR:
        return str((date(value.year, 1, 1) + timedelta(days=days)).year)
    if value.precision is DatePrecision.MONTH:
        moved = date(value.year, value.month or 1, 1) + timedelta(days=days)
        return moved.isoformat()[:7]
    moved = date.fromisoformat(value.text[:10]) + timedelta(days=days)
    return moved.isoformat() + value.text[10:]


def _format(number: float) -> str:
    return f"{number:.6g}"


def research_rows(
    data: ExportData,
    *,
    series: Sequence[str] = DEFAULT_SERIES,
    shift_days: int = 0,
    deidentify: bool = False,
    subject_id: str | None = None,
) -> list[dict[str, str]]:
    """The CSV's rows, oldest first; see `write_research_csv`."""
    tests = _series_tests(data.pack)
    unknown = [s for s in series if s not in tests]
    if unknown:
        raise ValueError(
            f"unknown research series {', '.join(unknown)}; choose from {', '.join(tests)}"
        )
    subject = data.patient_name
    if deidentify:
        subject = subject_id or f"P-{secrets.token_hex(6)}"
    sources: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    for rec in data.records:
        record = rec.record
        if record.resource_type != "Observation" or record.value is None:
            continue
        if record.value.value is None:
            continue
        name = next((s for s in series if tests[s](record)), None)
        if name is None:
            continue
        try:
            normalised, normalised_unit = _normalise(name, record.value.value, record.value.unit)
            normalised_text = _format(normalised)
        except UnitError:  # kept, but never converted on a guessed scale
            normalised_text, normalised_unit = "", None
        literal = _literal_value(rec) or _format(record.value.value)
        if name not in ("aat", "fev1", "fvc"):
            normalised_text = literal  # nothing was converted: the exact value
        source = record.source_system or ""
        if deidentify and source:
            source = sources.setdefault(source, f"source-{len(sources) + 1}")
        row = {
            "subject": subject,
            "series": name,
            "date": shift_date(record.effective, shift_days) if record.effective else "",
            "value": literal,
            "unit": record.value.unit or "",
            "normalised_value": normalised_text,
            "normalised_unit": normalised_unit or "",
            "loinc": next((c.code or "" for c in record.codes if c.system == LOINC), ""),
            "source_system": source,
        }
        if not deidentify:
            row["record_id"] = str(rec.id)
        rows.append(row)
    return rows


def write_research_csv(
    data: ExportData,
    path: Path,
    *,
    series: Sequence[str] = DEFAULT_SERIES,
    shift_days: int = 0,
    deidentify: bool = False,
    subject_id: str | None = None,
) -> None:
    """Write one row per measurement of the chosen series.

    `shift_days` moves every date by the same number of days. `deidentify` replaces the name
    with `subject_id` (or a random pseudonym made for this file), names sources "source-1"...
    and drops the record id column. It does not shift dates by itself: pass `shift_days` too.
    """
    rows = research_rows(
        data, series=series, shift_days=shift_days, deidentify=deidentify, subject_id=subject_id
    )
    columns = [c for c in _FULL_COLUMNS if not (deidentify and c == "record_id")]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
