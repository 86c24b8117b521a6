"""Imaging studies come down with a sync from the real SMART server: the study is stored as
sent, shown as an imaging record, and linked to the radiology report that reads it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import _connect

IMAGING_SEED = Path(__file__).parents[1] / "data" / "imaging" / "chest-ct-bundle.json"


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("imaging", PASSPHRASE)
    with session:
        yield session


def _record(session: Session, resource_id: str) -> Any:
    return next(s for s in session.records() if s.record.resource_id == resource_id)


def test_a_sync_brings_the_imaging_study_and_links_it_to_its_report(
    profile: Session, start_smart_server
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(IMAGING_SEED)
    _connect(profile, server)
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed, report.outcomes
    outcomes = {o.resource_type: o for o in report.outcomes}
    assert outcomes["ImagingStudy"].status == "ok" and outcomes["ImagingStudy"].fetched == 1
    assert any("ImagingStudy?patient=" in q for q in server.stats()["queries"])

    study = _record(profile, "ct-chest-2024")
    assert study.record.kind.value == "imaging"
    assert study.record.title == "CT scan of the thorax"
    assert study.record.category == "CT"
    # Kept exactly as the server sent it (its version), no pixel data asked for.
    raw = orjson.loads(profile.raw_source(study.id))
    assert raw["numberOfInstances"] == 310 and raw["meta"]["versionId"]
    assert not any("Endpoint" in q or "wado" in q.lower() for q in server.stats()["queries"])

    context = profile.context(study.id)
    assert context.imaging is not None
    assert context.imaging.size_text == "2 series, 310 images"
    assert context.imaging.body_sites == ("Thorax",)
    assert [s.record.resource_id for s in context.linked] == ["ct-chest-report"]
    assert [p.name for p in context.people] == ["Ana Ruiz, RT(R)", "Dr Lena Marsh, Radiology"]

    # An incremental sync finds the study unchanged: nothing doubled.
    again = profile.connections.sync()["Local SMART"]
    assert not again.failed and again.counts.new == 0
    assert sum(1 for s in profile.records() if s.record.resource_type == "ImagingStudy") == 1
