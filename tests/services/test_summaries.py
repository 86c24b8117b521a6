"""Milestones, the AATD overview and the dashboard's lists, read narrowly: exactly what reading
every candidate record in full gave (tests/services/summary_reference.py), on the demo profile
and on generated patients, one fact once and restricted records left out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.domain.records import RecordKind
from phr_desktop.services import dashboard_lists
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.record_reader import MilestoneView
from phr_desktop.services.record_views import AatdOverview
from phr_desktop.services.sensitivity import label_records, reveal_restricted
from phr_desktop.services.session import Session, StoredRecord
from phr_desktop.services.terminology import aatd_pack
from phr_desktop.vault import queries as vault_queries
from phr_desktop.vault.keys import KdfParams
from tests.conftest import PASSPHRASE
from tests.services import summary_reference as reference
from tests.synthea_fixtures import SyntheaBundle, synthea_bundles

__all__ = ["synthea_bundles"]  # a fixture, used by name


def shown(views: list[MilestoneView]) -> list[tuple[object, ...]]:
    """What a milestone says and which records it names (not `record_indexes`: positions in
    whatever list of records it was computed from)."""
    return [
        (m.kind, m.date, m.title, m.detail, v.record_ids, v.record_kinds)
        for v in views
        for m in [v.milestone]
    ]


def same_overview(fast: AatdOverview, slow: AatdOverview) -> bool:
    return shown(fast.milestones) == shown(slow.milestones) and replace(
        fast, milestones=[]
    ) == replace(slow, milestones=[])


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory,
    synthea_bundles: list[SyntheaBundle],
    demo_files_module: list[Path],
) -> Iterator[Session]:
    """Synthea's patients (hospital stays, COPD, prescriptions) and the demo's AATD patient as
    one person, and the demo's files once more from a second source: every demo fact twice."""
    profiles = Profiles(tmp_path_factory.mktemp("summaries") / "data")
    session, _recovery = profiles.create("gen", PASSPHRASE, kdf=KdfParams.minimum())
    with session:
        files = [b.path for b in synthea_bundles] + demo_files_module
        session.import_paths(files, same_person=True)
        session.import_paths(demo_files_module, source_name="Second copy", same_person=True)
        yield session


@pytest.fixture(scope="module")
def demo_files_module() -> list[Path]:
    return sorted((Path(__file__).resolve().parents[2] / "resources" / "demo").glob("*.json"))


@pytest.fixture
def demo(session: Session, demo_files: list[Path]) -> Session:
    session.import_paths(demo_files)
    return session


def test_the_generated_profile_holds_what_the_summaries_are_made_of(generated: Session) -> None:
    kinds = {m.milestone.kind.value for m in generated.milestones()}
    assert {"aatd_diagnosis", "augmentation_start", "fev1_decline", "hospitalisation"} <= kinds
    repeats = generated.vault.conn.execute(
        "SELECT count(*) FROM records WHERE same_as IS NOT NULL"
    ).fetchone()[0]
    assert repeats > 0  # the second copy's records repeat facts already shown


@pytest.mark.parametrize("profile", ["demo", "generated"])
def test_milestones_are_those_of_reading_every_record(
    profile: str, request: pytest.FixtureRequest
) -> None:
    session: Session = request.getfixturevalue(profile)
    fast = session.milestones()
    assert shown(fast) == shown(reference.milestones(session))
    assert len(fast) >= 5


@pytest.mark.parametrize("profile", ["demo", "generated"])
def test_the_aatd_overview_is_that_of_reading_every_record(
    profile: str, request: pytest.FixtureRequest
) -> None:
    session: Session = request.getfixturevalue(profile)
    fast = session.views.aatd_overview()
    assert same_overview(fast, reference.aatd_overview(session))
    assert fast.genotype and fast.aat and fast.fev1 and fast.infusions  # nothing left empty


@pytest.mark.parametrize("profile", ["demo", "generated"])
def test_current_medications_are_those_of_reading_every_medication(
    profile: str, request: pytest.FixtureRequest
) -> None:
    session: Session = request.getfixturevalue(profile)
    fast = dashboard_lists.current_medications(session)
    assert fast == reference.current_medications(session)
    assert fast


def test_milestones_show_one_fact_once(generated: Session) -> None:
    ids = {i for m in generated.milestones() for i in m.record_ids}
    repeated = {
        row[0]
        for row in generated.vault.conn.execute("SELECT id FROM records WHERE same_as IS NOT NULL")
    }
    assert ids and not ids & repeated


def test_summaries_build_full_records_only_for_what_they_show(
    generated: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrow reads decide on a few columns; a `StoredRecord` is built only for a record a
    milestone may come from (before: every diagnosis and every medication)."""
    pack = aatd_pack()

    def may_be_milestone(s: StoredRecord) -> bool:
        r = s.record
        if r.kind is RecordKind.PROBLEM:
            return pack.is_aatd_diagnosis(r.codes, r.title) or pack.is_copd(r.codes, r.title)
        if r.kind is RecordKind.MEDICATION:
            return pack.is_augmentation(r.codes, r.title)
        return True  # admissions, surgery and FEV1 results are read by index already

    kept = [s for s in reference.milestone_sources(generated) if may_be_milestone(s)]
    built = 0
    build = vault_queries.record_from_row

    def counting(row: Sequence[Any]) -> StoredRecord:
        nonlocal built
        built += 1
        return build(row)

    monkeypatch.setattr(vault_queries, "record_from_row", counting)
    generated.milestones()
    assert built == len(kept)
    built = 0
    listed = dashboard_lists.current_medications(generated)
    assert built == len(listed)


def test_a_restricted_record_leaves_the_summaries_until_revealed(demo: Session) -> None:
    start = next(m for m in demo.milestones() if m.milestone.kind.value == "augmentation_start")
    infusion = demo.views.aatd_overview().infusions[0]
    label_records(demo, [start.record_ids[0], infusion.id], "restricted")
    hidden = demo.milestones()
    assert shown(hidden) == shown(reference.milestones(demo))
    assert start.record_ids[0] not in {i for m in hidden for i in m.record_ids}
    overview = demo.views.aatd_overview()
    assert infusion.id not in {s.id for s in overview.infusions}
    assert same_overview(overview, reference.aatd_overview(demo))
    reveal_restricted(demo, PASSPHRASE)
    assert shown([start])[0] in shown(demo.milestones())
    assert same_overview(demo.views.aatd_overview(), reference.aatd_overview(demo))
