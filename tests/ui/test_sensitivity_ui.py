"""Sensitivity in the app: the record detail sets a record's level and lists every share that
held it; Edit → Sensitivity shows restricted records only with the passphrase and labels the
records the timeline shows; the share viewer honours view only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from phr_desktop.services.sensitivity import label_records
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.sensitivity_menu import SensitivityMenu
from tests.conftest import PASSPHRASE

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def _lab(rid: str, title: str, security: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": "final", "code": {"text": title},
        "effectiveDateTime": "2024-02-01", "valueString": "negative",
    }  # fmt: skip
    if security:
        resource["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": security}]}
    return resource


@pytest.fixture
def ids(session: Session, tmp_path: Path) -> dict[str, int]:
    path = tmp_path / "labs.json"
    path.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": _lab("hiv", "HIV screen", "R")},
                    {"resource": _lab("glucose", "Glucose level")},
                ],
            }
        )
    )
    session.import_paths([path])
    every = session.records(RecordFilter(include_restricted=True))
    return {s.record.resource_id: s.id for s in every}


def test_the_detail_sets_sensitivity_and_lists_who_the_record_was_shared_with(
    qtbot, session: Session, ids: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    create_share(
        session, tmp_path / "s.phrshare", ShareSelection(record_ids=(ids["glucose"],)), "Mum",
        recipient_type="family_member",
    )  # fmt: skip
    detail = RecordDetailView(session)
    qtbot.addWidget(detail)
    edited: list[int] = []
    detail.recordEdited.connect(edited.append)
    detail.show_record(ids["glucose"])
    assert "Mum (family member)" in detail.shared_label.text()
    assert "active" in detail.shared_label.text()
    combo = detail.sensitivity_combo
    combo.setCurrentIndex(combo.findData("restricted"))
    combo.activated.emit(combo.currentIndex())
    assert edited == [ids["glucose"]]
    assert session.record(ids["glucose"]).sensitivity == "restricted"
    assert ids["glucose"] not in session.record_ids()
    detail.show_record(ids["hiv"])
    assert detail.shared_label.text() == "Not shared with anyone."
    assert "source marked this record restricted" in detail.shared.source_note.text()


def test_restricted_records_show_only_after_the_passphrase_and_bulk_labels_apply_to_the_shown(
    qtbot, session: Session, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    changes: list[bool] = []
    menu = SensitivityMenu(
        parent, lambda: session, lambda: RecordFilter(kinds=("lab_result",)),
        lambda: changes.append(True),
    )  # fmt: skip
    assert not menu.reveal("wrong passphrase")
    assert warnings and "passphrase" in warnings[0]
    assert ids["hiv"] not in session.record_ids()
    assert menu.reveal(PASSPHRASE)
    assert ids["hiv"] in session.record_ids()
    assert menu.label_shown("sensitive") == 2  # the revealed one too
    assert session.record(ids["hiv"]).sensitivity == "sensitive"
    menu.hide()
    assert ids["hiv"] in session.record_ids()  # no longer restricted: the patient said so
    assert changes == [True, True, True]


def test_the_share_dialog_offers_restricted_records_by_count_and_records_type_and_view_only(
    qtbot, session: Session, ids: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from phr_desktop.services.share_history import list_shares
    from phr_desktop.services.share_opening import open_share
    from phr_desktop.ui.sharing import dialog as share_dialog
    from phr_desktop.ui.sharing.dialog import ShareDialog
    from phr_desktop.ui.workers import TaskRunner

    label_records(session, [ids["glucose"]], "sensitive")
    path = tmp_path / "for-mum.phrshare"
    monkeypatch.setattr(share_dialog, "choose_share_path", lambda _parent, _suggested: path)
    dialog = ShareDialog(session, TaskRunner(synchronous=True))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.choice.everything.setChecked(True)
    dialog.choice.recount()
    assert dialog.choice.matching == 1
    assert dialog.include_restricted.isVisible()
    assert dialog.include_restricted.text() == "Include 1 restricted record(s)"
    assert "1 of the records" in dialog.sensitive_note.text()
    dialog.include_restricted.setChecked(True)
    assert dialog.choice.matching == 2
    dialog.label.setText("Mum")
    dialog.recipient_type.setCurrentIndex(dialog.recipient_type.findData("family_member"))
    dialog.view_only.setChecked(True)
    dialog.create_button.click()
    created = dialog.created
    assert created is not None and created.record_count == 2
    (entry,) = list_shares(session)
    assert (entry.recipient_type, entry.allow_save) == ("family_member", False)
    view = open_share(path, created.key)
    assert not view.allow_save and {r.title for r in view.records} >= {"HIV screen"}


def test_the_apps_viewer_of_a_view_only_share_offers_no_save_and_says_why(
    qtbot, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from phr_desktop.services.errors import ServiceError
    from phr_desktop.services.share_viewer import open_share_session

    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% a tiny test file\n")
    record_id = session.entries.upload_document(pdf, "Clinic letter", "2024-06-01")
    picked = ShareSelection(record_ids=(record_id,))
    made = {
        allowed: create_share(
            session,
            tmp_path / f"{allowed}.phrshare",
            picked,
            "Dr Rivera",
            attachments=True,
            allow_save=allowed,
        )
        for allowed in (True, False)
    }
    for allowed, created in made.items():
        shared = open_share_session(created.file, created.key)
        detail = RecordDetailView(shared)
        qtbot.addWidget(detail)
        letter = next(s.id for s in shared.records() if s.record.title == "Clinic letter")
        detail.show_record(letter)
        assert detail.files_list.count() == 1
        assert detail.save_button.isHidden() is (not allowed)
        assert detail.files_tab.view_only_note.isHidden() is allowed
        if not allowed:
            assert "determined recipient can still copy" in detail.files_tab.view_only_note.text()
            with pytest.raises(ServiceError, match="View only"):
                detail.save_attachment(tmp_path / "copy.pdf")
            assert not (tmp_path / "copy.pdf").exists()
        shared.close()


@pytest.mark.parametrize("include", [False, True])
def test_the_export_menu_offers_the_restricted_records_by_count_unticked_by_default(
    qtbot, session: Session, ids: dict[str, int], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, include: bool,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    from phr_desktop.ui import export_menu
    from phr_desktop.ui.workers import TaskRunner

    label_records(session, [ids["glucose"]], "sensitive")
    asked: list[tuple[int, int]] = []

    def answer(_parent: object, counts: Any) -> bool:
        asked.append((counts.sensitive, counts.restricted))
        return include

    monkeypatch.setattr(export_menu, "ask_about_sensitive", answer)
    parent = QWidget()
    qtbot.addWidget(parent)
    menu = export_menu.ExportMenu(parent, TaskRunner(synchronous=True), lambda: session)
    target = tmp_path / "out.fhir.json"
    menu.export_to("fhir", target)
    assert asked == [(1, 1)]
    text = target.read_text()
    assert "Glucose level" in text
    assert ("HIV screen" in text) is include
