"""Specification of the Connect dialog: find the provider as you type, the FHIR address and
vendor follow from the choice, the vendor's app id is asked for once, "Other…" takes an
address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services.client_ids import ClientIds
from phr_desktop.ui.connect_dialog import ConnectDialog


@pytest.fixture
def dialog(qtbot: Any, tmp_path: Path) -> ConnectDialog:
    widget = ConnectDialog(tmp_path)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.ready, timeout=20_000)
    return widget


def rows(dialog: ConnectDialog) -> list[tuple[str, str, str]]:
    out = []
    for i in range(dialog.results.topLevelItemCount()):
        item = dialog.results.topLevelItem(i)
        out.append((item.text(0), item.text(1), item.text(2)))
    return out


def emitted(dialog: ConnectDialog) -> list[tuple[str, Any, Any]]:
    got: list[tuple[str, Any, Any]] = []
    dialog.chosen.connect(lambda base, client_id, name: got.append((base, client_id, name)))
    return got


def test_typing_a_name_lists_the_provider_with_its_record_system(
    qtbot: Any, dialog: ConnectDialog
) -> None:
    qtbot.keyClicks(dialog.search, "mayo")
    assert rows(dialog)[0] == ("Mayo Clinic", "", "Epic")
    assert dialog.selected() is not None and dialog.selected().name == "Mayo Clinic"  # type: ignore[union-attr]


def test_a_city_shows_city_and_state_per_row(qtbot: Any, dialog: ConnectDialog) -> None:
    qtbot.keyClicks(dialog.search, "denver")
    listed = rows(dialog)
    assert ("Denver Health", "", "Epic") in listed
    assert any(place.startswith("Denver, ") for _name, place, _vendor in listed)


def test_the_vendors_app_id_is_asked_once_then_kept(
    qtbot: Any, dialog: ConnectDialog, tmp_path: Path
) -> None:
    got = emitted(dialog)
    qtbot.keyClicks(dialog.search, "mayo clinic")
    assert dialog.app_id_box.isVisibleTo(dialog)
    assert "fhir.epic.com" in dialog.app_id_help.text()
    dialog.accept()
    assert dialog.result() == 0 and "app id" in dialog.error.text()
    qtbot.keyClicks(dialog.client_id, "epic-app-1")
    dialog.accept()
    assert dialog.result() == 1
    mayo = dialog.directory.named("Mayo Clinic")
    assert got == [(mayo.fhir_base, "epic-app-1", "Mayo Clinic")]
    assert ClientIds(tmp_path).get("epic") == "epic-app-1"

    again = ConnectDialog(tmp_path)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.ready, timeout=20_000)
    got_again = emitted(again)
    qtbot.keyClicks(again.search, "denver health")
    assert not again.app_id_box.isVisibleTo(again)  # Epic's id is kept: not asked again
    again.accept()
    assert got_again == [(again.directory.named("Denver Health").fhir_base, "epic-app-1",
                          "Denver Health")]  # fmt: skip


def test_test_systems_are_listed_only_when_asked_for(qtbot: Any, dialog: ConnectDialog) -> None:
    qtbot.keyClicks(dialog.search, "sandbox")
    assert rows(dialog) == []
    assert "No provider matches" in dialog.status.text()
    dialog.test_systems.setChecked(True)
    assert rows(dialog) and all(vendor.endswith("(test)") for _n, _p, vendor in rows(dialog))


def test_other_takes_a_typed_fhir_address(qtbot: Any, dialog: ConnectDialog) -> None:
    got = emitted(dialog)
    dialog.other.setChecked(True)
    assert dialog.other_box.isVisibleTo(dialog) and not dialog.results.isEnabled()
    qtbot.keyClicks(dialog.fhir_base, "fhir.example.org")
    dialog.accept()
    assert dialog.result() == 0 and "https://" in dialog.error.text()
    dialog.fhir_base.setText("https://fhir.example.org/R4")
    qtbot.keyClicks(dialog.client_id, "my-app")
    qtbot.keyClicks(dialog.name, "City Hospital")
    dialog.accept()
    assert got == [("https://fhir.example.org/R4", "my-app", "City Hospital")]


def test_closing_the_dialog_while_the_directory_loads_is_harmless(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import shiboken6

    from phr_desktop.services import provider_directory

    provider_directory._load_index.cache_clear()  # a real load, slower than the close
    errors: list[object] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    widget = ConnectDialog(tmp_path)
    loader = next(t for t in threading.enumerate() if t.name == "provider-directory")
    shiboken6.delete(widget)  # what WA_DeleteOnClose does once the dialog is closed
    loader.join(30)
    assert not loader.is_alive() and errors == []


def test_the_dashboards_connect_button_opens_it_on_the_apps_data_folder(
    qtbot: Any, session: Any, tmp_path: Path
) -> None:
    from phr_desktop.ui.dashboard import Dashboard
    from phr_desktop.ui.workers import TaskRunner

    dashboard = Dashboard(session, TaskRunner(synchronous=True))
    qtbot.addWidget(dashboard)
    dashboard.providers.app_data_dir = tmp_path / "app-data"
    dashboard.providers.connect_clicked()
    dialog = dashboard.findChild(ConnectDialog)
    assert dialog is not None
    assert dialog.client_ids.path.is_relative_to(tmp_path / "app-data")
    qtbot.waitUntil(lambda: dialog.ready, timeout=20_000)
    dialog.reject()
