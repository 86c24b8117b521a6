"""Looking records up by code through the full-text index: exact answers, without reading
every record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.session import Session
from phr_desktop.vault.code_lookup import codes_match_expression
from tests.vault.vm_steps import vm_steps


def _observation(i: int, code: str, display: str, system: str = "http://loinc.org") -> Any:
    return {
        "resource": {
            "resourceType": "Observation",
            "id": f"obs-{i}",
            "status": "final",
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "effectiveDateTime": f"20{10 + i % 15:02d}-03-{1 + i % 28:02d}",
            "valueQuantity": {"value": 1 + i % 7, "unit": "L"},
        }
    }


def _import(session: Session, folder: Path, entries: list[Any]) -> None:
    path = folder / "results.json"
    path.write_bytes(
        orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    session.import_paths([path])


def test_a_lookup_by_code_reads_the_matching_records_not_every_one(
    session: Session, tmp_path: Path
) -> None:
    heart_rates = [_observation(i, "8867-4", "Heart rate") for i in range(3_000)]
    _import(session, tmp_path, [*heart_rates, _observation(9_999, "20150-9", "FEV1")])
    conn = session.vault.conn
    found: list[Any] = []
    steps = vm_steps(
        conn, lambda: found.extend(session.queries.of_kind_with_codes("lab_result", ["20150-9"]))
    )
    assert [s.record.resource_id for s in found] == ["obs-9999"]
    # About 220 steps through the index; reading every lab result took about 2,600.
    assert steps < 1_000
    trend: list[Any] = []
    steps = vm_steps(conn, lambda: trend.extend(session.queries.with_code("20150-9")))
    assert [s.record.resource_id for s in trend] == ["obs-9999"] and steps < 1_000


def test_the_index_offers_words_only_the_exact_code_is_kept(
    session: Session, tmp_path: Path
) -> None:
    _import(
        session,
        tmp_path,
        [
            _observation(1, "20150-9", "FEV1"),
            _observation(2, "local-7", "Sent with code 20150 9 in its name"),
            _observation(3, "20150-90", "Another test"),
        ],
    )
    assert [s.record.resource_id for s in session.queries.with_code("20150-9")] == ["obs-1"]


@pytest.mark.parametrize("code", ["--", "_", "·"])
def test_a_code_without_words_the_index_holds_is_still_found(
    session: Session, tmp_path: Path, code: str
) -> None:
    _import(session, tmp_path, [_observation(1, code, "Odd code", system="urn:local")])
    assert codes_match_expression([code]) is None
    assert [s.record.resource_id for s in session.queries.with_code(code)] == ["obs-1"]
    found = session.queries.of_kind_with_codes("lab_result", [code, "20150-9"])
    assert [s.record.resource_id for s in found] == ["obs-1"]


def test_a_match_expression_quotes_each_code_as_a_phrase() -> None:
    assert codes_match_expression(["1825-9", 'a"b']) == 'codes : ("1825-9" OR "a""b")'
    assert codes_match_expression([]) is None
