"""Sensitivity: restricted records stay out of every view, search, export and share until the
patient reveals or includes them; sensitive ones are shown and counted; a share remembers who
it was for, whether files may be saved, and which records it held."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.exporting import export, export_sensitivity
from phr_desktop.services.sensitivity import (
    label_records,
    reveal_restricted,
    sensitivity_counts,
)
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares, revoke_share
from phr_desktop.services.share_opening import open_share, save_share_attachments
from phr_desktop.services.shared_with import shared_in
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.vault.errors import VaultError
from phr_desktop.vault.queries import RecordFilter
from tests.conftest import PASSPHRASE

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def _observation(rid: str, title: str, day: str, security: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": title},
        "effectiveDateTime": day,
        "valueString": "negative",
    }
    if security:
        resource["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": security}]}
    return resource


def _bundle(*resources: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )


@pytest.fixture
def labelled(session: Session, tmp_path: Path) -> dict[str, int]:
    """Four lab results: one the source marked R, one V, one N (normal), one unmarked."""
    path = tmp_path / "labs.json"
    path.write_bytes(
        _bundle(
            {"resourceType": "Patient", "id": "p1", "name": [{"text": "Alex Doe"}]},
            _observation("hiv", "HIV screen", "2024-01-02", "R"),
            _observation("psych", "Psychiatry assessment", "2024-01-03", "V"),
            _observation("normal-n", "Ferritin screen", "2024-01-04", "N"),
            _observation("plain", "Glucose screen", "2024-01-05"),
        )
    )
    report = session.import_paths([path], source_name="Riverside")
    assert not report.failed
    ids = {
        s.record.resource_id: s.id for s in session.records(RecordFilter(include_restricted=True))
    }
    return ids


def _shown_ids(session: Session, f: RecordFilter | None = None) -> set[int]:
    return {s.id for s in session.records(f or RecordFilter())}


def test_source_confidentiality_r_and_v_mean_restricted_and_others_normal(
    session: Session, labelled: dict[str, int]
) -> None:
    levels = {rid: session.record(i).sensitivity for rid, i in labelled.items()}
    assert levels == {
        "p1": "normal",
        "hiv": "restricted",
        "psych": "restricted",
        "normal-n": "normal",
        "plain": "normal",
    }


def test_restricted_records_are_hidden_from_lists_search_timeline_and_dashboard(
    session: Session, labelled: dict[str, int]
) -> None:
    hidden = {labelled["hiv"], labelled["psych"]}
    assert not hidden & _shown_ids(session)
    assert not hidden & set(session.record_ids())
    assert session.counts_by_kind()["lab_result"] == 2
    assert sum(n for *_, n in session.timeline()) == 3  # patient + two labs
    assert labelled["hiv"] not in [s.id for s in session.search("HIV screen")]
    assert (
        next(s.id for s in session.search("HIV screen", include_restricted=True))
        == (labelled["hiv"])
    )
    # A full-text filter in a listing composes with the rule, too.
    assert session.records(RecordFilter(text="psychiatry")) == []
    assert hidden <= _shown_ids(session, RecordFilter(include_restricted=True))


def test_the_patients_own_label_wins_and_survives_a_reindex(
    session: Session, labelled: dict[str, int]
) -> None:
    label_records(session, [labelled["hiv"]], "normal")
    label_records(session, [labelled["plain"]], "restricted")
    label_records(session, [labelled["normal-n"]], "sensitive")
    session.reindex()
    assert session.record(labelled["hiv"]).sensitivity == "normal"
    assert session.record(labelled["hiv"]).record.sensitivity == "restricted"  # as the source said
    assert session.record(labelled["plain"]).sensitivity == "restricted"
    shown = _shown_ids(session)
    assert labelled["hiv"] in shown and labelled["normal-n"] in shown  # sensitive is shown
    assert labelled["plain"] not in shown and labelled["psych"] not in shown
    label_records(session, [labelled["hiv"]], "source")
    assert session.record(labelled["hiv"]).sensitivity == "restricted"


def test_a_label_for_an_unknown_record_or_level_is_refused_and_nothing_changes(
    session: Session, labelled: dict[str, int]
) -> None:
    with pytest.raises(ServiceError, match="no record 9999"):
        label_records(session, [labelled["plain"], 9999], "restricted")
    with pytest.raises(ServiceError, match="Unknown sensitivity"):
        label_records(session, [labelled["plain"]], "secret")
    assert session.record(labelled["plain"]).sensitivity == "normal"


def test_revealing_needs_the_passphrase_again_and_then_every_view_shows_them(
    session: Session, labelled: dict[str, int]
) -> None:
    with pytest.raises(VaultError, match="passphrase"):
        reveal_restricted(session, "not the passphrase")
    assert labelled["hiv"] not in _shown_ids(session)
    reveal_restricted(session, PASSPHRASE)
    assert {labelled["hiv"], labelled["psych"]} <= _shown_ids(session)
    assert session.counts_by_kind()["lab_result"] == 4
    assert next(s.id for s in session.search("HIV screen")) == labelled["hiv"]


def test_an_export_leaves_restricted_out_unless_included_and_counts_them(
    session: Session, labelled: dict[str, int], tmp_path: Path
) -> None:
    label_records(session, [labelled["plain"]], "sensitive")
    without = export(session, "fhir", tmp_path / "without.json")
    with_all = export(session, "fhir", tmp_path / "with.json", include_restricted=True)
    text_without, text_with = without.read_text(), with_all.read_text()
    assert "HIV screen" not in text_without and "Psychiatry" not in text_without
    assert "Glucose screen" in text_without
    assert "HIV screen" in text_with and "Psychiatry" in text_with
    counts = export_sensitivity(session)
    assert (counts.normal, counts.sensitive, counts.restricted) == (1, 1, 2)


def test_a_share_leaves_restricted_out_even_hand_picked_unless_included(
    session: Session, labelled: dict[str, int], tmp_path: Path
) -> None:
    picked = ShareSelection(record_ids=(labelled["hiv"], labelled["plain"]))
    created = create_share(session, tmp_path / "a.phrshare", picked, "Dr Rivera")
    assert created.record_count == 1
    assert shared_in(session, labelled["hiv"]) == []
    included = create_share(
        session, tmp_path / "b.phrshare", picked, "Dr Rivera", include_restricted=True
    )
    assert included.record_count == 2 and included.sensitivity.restricted == 1
    view = open_share(included.file, included.key)
    assert {r.title for r in view.records} >= {"HIV screen", "Glucose screen"}


def test_a_share_records_its_recipient_type_and_every_record_lists_the_shares_that_held_it(
    session: Session, labelled: dict[str, int], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    picked = ShareSelection(record_ids=(labelled["plain"],))
    old = create_share(
        session, tmp_path / "old.phrshare", picked, "Mum", recipient_type="family_member",
        expires="45s", now=now - timedelta(minutes=5),
    )  # fmt: skip
    held = create_share(
        session, tmp_path / "held.phrshare", picked, "Study", recipient_type="researcher",
        hand_out_key=False,
    )  # fmt: skip
    revoke_share(session, held.id)
    active = create_share(session, tmp_path / "new.phrshare", picked, "Dr Rivera")
    listed = {s.share_id: (s.recipient, s.recipient_type, s.status) for s in shared_in(
        session, labelled["plain"])}  # fmt: skip
    assert listed == {
        old.id: ("Mum", "family_member", "expired"),
        held.id: ("Study", "researcher", "revoked"),
        active.id: ("Dr Rivera", "provider", "active"),
    }
    assert shared_in(session, labelled["normal-n"]) == []
    history = {entry.id: entry.recipient_type for entry in list_shares(session)}
    assert history[old.id] == "family_member"
    with pytest.raises(ServiceError, match="recipient type"):
        create_share(session, tmp_path / "x.phrshare", picked, "X", recipient_type="neighbour")


def test_a_view_only_share_offers_no_saving_and_says_copying_is_still_possible(
    session: Session, tmp_path: Path
) -> None:
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% a tiny test file\n")
    record_id = session.entries.upload_document(pdf, "Clinic letter", "2024-06-01")
    picked = ShareSelection(record_ids=(record_id,))
    view_only = create_share(
        session, tmp_path / "v.phrshare", picked, "Dr Rivera", attachments=True, allow_save=False
    )
    view = open_share(view_only.file, view_only.key)
    assert not view.allow_save and len(view.attachments) == 1
    assert "determined recipient can still copy" in view.banner()
    with pytest.raises(ServiceError, match="View only"):
        save_share_attachments(view, tmp_path / "saved")
    assert not (tmp_path / "saved").exists()
    savable = create_share(session, tmp_path / "s.phrshare", picked, "Dr Rivera", attachments=True)
    opened = open_share(savable.file, savable.key)
    assert opened.allow_save
    assert len(save_share_attachments(opened, tmp_path / "saved")) == 1


def test_sensitivity_counts_count_each_level(session: Session, labelled: dict[str, int]) -> None:
    label_records(session, [labelled["plain"]], "sensitive")
    counts = sensitivity_counts(session, list(labelled.values()))
    assert counts.to_dict() == {"normal": 2, "sensitive": 1, "restricted": 2}


def test_the_source_label_is_read_from_the_raw_resource_as_stored(
    session: Session, labelled: dict[str, int]
) -> None:
    body = json.loads(session.raw_source(labelled["psych"]))
    assert body["meta"]["security"][0]["code"] == "V"


def test_restricted_results_leave_charts_the_aatd_overview_milestones_and_related_records(
    session: Session,
) -> None:
    first = session.entries.add_spirometry("2023-06-01", 1.5)
    second = session.entries.add_spirometry("2024-06-01", 1.2)
    condition = session.entries.add_condition("Alpha-1 antitrypsin deficiency", "2014")
    fev1_ids = [i for i in (*first, *second) if session.record(i).record.title == "FEV1"]
    assert len(session.views.trend(fev1_ids[0]).record_ids) == 2
    assert len(session.views.aatd_overview().fev1.record_ids) == 2  # type: ignore[union-attr]
    assert any(condition in m.record_ids for m in session.milestones())

    label_records(session, [fev1_ids[1], condition], "restricted")
    assert session.views.trend(fev1_ids[0]).record_ids == (fev1_ids[0],)
    overview = session.views.aatd_overview()
    assert overview.fev1 is not None and overview.fev1.record_ids == (fev1_ids[0],)
    assert session.fev1_slope_ml_per_year() is None  # one point left: no slope
    assert not any(condition in m.record_ids for m in session.milestones())
    same_day = session.views.related(first[0]).same_day + session.views.related(second[0]).same_day
    assert fev1_ids[1] not in {s.id for s in same_day}

    reveal_restricted(session, PASSPHRASE)
    assert len(session.views.trend(fev1_ids[0]).record_ids) == 2
    assert any(condition in m.record_ids for m in session.milestones())


def test_a_restricted_record_shared_on_purpose_is_shown_to_the_clinician(
    session: Session, labelled: dict[str, int], tmp_path: Path
) -> None:
    from phr_desktop.services.share_viewer import open_share_session

    picked = ShareSelection(record_ids=(labelled["hiv"],))
    created = create_share(
        session, tmp_path / "s.phrshare", picked, "Dr Rivera", include_restricted=True
    )
    shared = open_share_session(created.file, created.key)
    try:
        assert "HIV screen" in {s.record.title for s in shared.records()}
        assert "HIV screen" in {s.record.title for s in shared.search("HIV")}
    finally:
        shared.close()
