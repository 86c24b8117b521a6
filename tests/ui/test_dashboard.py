"""The dashboard: providers, latest records, milestones, counts, search; later features off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from phr_desktop.services.connections import ConnectionService
from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.ui import style
from phr_desktop.ui.dashboard import PREVIEW_COUNT, RECENT_SEARCHES, Dashboard, milestone_rows
from phr_desktop.ui.workers import TaskRunner
from phr_desktop.vault.connections import ConnectionStore, TypeState
from phr_desktop.vault.database import transaction

ROLE = Qt.ItemDataRole.UserRole


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


@pytest.fixture
def dashboard(qtbot, demo: Session) -> Dashboard:  # type: ignore[no-untyped-def]
    widget = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    widget.show()
    return widget


def add_connection(session: Session, name: str = "City Hospital", records: bool = True) -> int:
    store = ConnectionStore(session.vault.conn)
    with transaction(session.vault.conn):
        source_id = session.store.ensure_source("smart", name, {})
        connection_id = store.add(
            name, "https://fhir.city.example/R4", "app-1", source_id, "p1", "patient/*.rs", {}
        )
        store.update(connection_id, last_sync_at="2026-11-20T09:30:00+00:00")
    return connection_id


def texts(widget: Any) -> list[str]:
    return [widget.item(i).text() for i in range(widget.count())]


def test_records_by_category_match_the_vault(dashboard: Dashboard, demo: Session) -> None:
    counts = demo.counts_by_kind()
    shown = {
        dashboard.counts.item(i).data(ROLE): dashboard.counts.item(i).text()
        for i in range(dashboard.counts.count())
    }
    assert set(shown) == set(counts)
    assert shown["lab_result"] == f"Test result: {counts['lab_result']:,}"


def test_a_category_opens_on_the_timeline(dashboard: Dashboard) -> None:
    chosen: list[str] = []
    dashboard.categoryActivated.connect(chosen.append)
    item = dashboard.counts.item(0)
    dashboard.counts.itemActivated.emit(item)
    assert chosen == [item.data(ROLE)]


def test_the_latest_records_are_the_newest_ones(dashboard: Dashboard, demo: Session) -> None:
    newest = demo.records(RecordFilter(limit=PREVIEW_COUNT))
    assert [dashboard.latest.item(i).data(ROLE) for i in range(PREVIEW_COUNT)] == [
        s.id for s in newest
    ]
    opened: list[int] = []
    dashboard.recordActivated.connect(opened.append)
    dashboard.latest.itemActivated.emit(dashboard.latest.item(0))
    assert opened == [newest[0].id]


def test_milestones_are_listed_and_open_their_record(  # type: ignore[no-untyped-def]
    qtbot, dashboard: Dashboard, demo: Session
) -> None:
    qtbot.waitUntil(lambda: not dashboard.milestones_pending)
    milestones = demo.milestones()
    lines = texts(dashboard.milestones)
    assert len(lines) == len(milestones) > 3
    assert any("Alpha-1" in line or "AATD" in line for line in lines), lines
    opened: list[int] = []
    dashboard.recordActivated.connect(opened.append)
    dashboard.milestones.itemActivated.emit(dashboard.milestones.item(0))
    assert opened == [milestones[0].record_ids[0]]


def test_export_and_share_are_present_but_off_until_a_later_release(
    dashboard: Dashboard,
) -> None:
    for button in (dashboard.export_button, dashboard.share_button):
        assert button.isVisible() and not button.isEnabled()
        assert button.toolTip() == "Arrives in a later release"


def test_quick_search_finds_records_and_remembers_searches_in_memory_only(
    dashboard: Dashboard, demo: Session
) -> None:
    dashboard.search.setText("emphysema")
    dashboard.search.returnPressed.emit()
    grouped = demo.search_answer("emphysema", 50).by_kind()
    expected = [s.id for _kind, records in grouped for s in records]
    assert expected
    assert [
        dashboard.results.item(i).data(ROLE)
        for i in range(dashboard.results.count())
        if dashboard.results.item(i).data(ROLE) is not None
    ] == expected
    dashboard.run_search("zemaira")
    dashboard.run_search("emphysema")
    assert dashboard.recent_searches == ["emphysema", "zemaira"]
    assert "zemaira" in dashboard.recent_label.text()
    for n in range(RECENT_SEARCHES + 3):
        dashboard.run_search(f"term{n}")
    assert len(dashboard.recent_searches) == RECENT_SEARCHES
    dashboard.clear()
    assert dashboard.recent_searches == [] and dashboard.results.count() == 0


def results_text(dashboard: Dashboard) -> list[str]:
    return [dashboard.results.item(i).text() for i in range(dashboard.results.count())]


def test_quick_search_groups_results_by_kind_with_the_best_group_first(
    dashboard: Dashboard,
) -> None:
    dashboard.run_search("AAT level")
    lines = results_text(dashboard)
    assert lines[0].startswith("Test results (")
    headings = [line for line in lines if line.endswith(")") and "(" in line and "·" not in line]
    assert len(headings) == len(set(headings))  # each kind once
    first_heading_item = dashboard.results.item(0)
    assert not first_heading_item.flags() & Qt.ItemFlag.ItemIsSelectable
    assert isinstance(dashboard.results.item(1).data(ROLE), int)


def test_quick_search_offers_did_you_mean_and_runs_it(dashboard: Dashboard) -> None:
    dashboard.run_search("cholecystectommmy")
    lines = results_text(dashboard)
    assert lines == ["No records match.", "Did you mean “cholecystectomy”?"]
    dashboard.results.itemActivated.emit(dashboard.results.item(1))
    assert dashboard.search.text() == "cholecystectomy"
    assert any(isinstance(dashboard.results.item(i).data(ROLE), int) for i in range(3))


def test_quick_search_says_which_spelling_it_searched(dashboard: Dashboard) -> None:
    dashboard.run_search("emfysema")
    assert results_text(dashboard)[0] == "Showing results for “emphysema” (you typed “emfysema”)"


def test_a_recent_search_link_runs_it_again(dashboard: Dashboard) -> None:
    dashboard.run_search("zemaira")
    dashboard.run_search("emphysema")
    dashboard.recent_label.linkActivated.emit("1")
    assert dashboard.search.text() == "zemaira"
    assert dashboard.recent_searches[0] == "zemaira"


def test_without_providers_the_dashboard_says_how_to_connect(dashboard: Dashboard) -> None:
    assert (
        dashboard.providers.connections_stack.currentWidget() is dashboard.providers.no_connections
    )
    assert not dashboard.providers.sync_button.isEnabled()
    assert dashboard.providers.connect_button.isEnabled()


def test_providers_show_status_last_sync_and_record_count(
    qtbot,
    demo: Session,  # type: ignore[no-untyped-def]
) -> None:
    add_connection(demo)
    widget = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    table = widget.providers.connections
    assert widget.providers.connections_stack.currentWidget() is table
    row = [table.item(0, c).text() for c in range(4)]
    assert row[0] == "City Hospital" and row[1] == "Connected" and row[3] == "0"
    assert row[2].startswith("2026-11-2")
    assert (
        widget.providers.sync_button.isEnabled()
        and not widget.providers.disconnect_button.isEnabled()
    )
    table.selectRow(0)
    assert widget.providers.selected_connection() == "City Hospital"
    assert (
        widget.providers.disconnect_button.isEnabled()
        and widget.providers.reconnect_button.isEnabled()
    )


def test_a_provider_card_says_which_data_is_missing_and_what_the_server_noted(
    qtbot,
    demo: Session,  # type: ignore[no-untyped-def]
) -> None:
    connection_id = add_connection(demo)
    store = ConnectionStore(demo.vault.conn)
    missing = "lab results, vital signs and other observations not fetched: refused (400)"
    with transaction(demo.vault.conn):
        for rtype, status, detail in (
            ("Observation", "failed", missing),
            ("Condition", "ok", "Some results may be hidden"),
            ("Immunization", "skipped", "skipped: the server refused it (403)"),
        ):
            store.save_type_state(
                connection_id, TypeState(rtype, status, detail, None, None, True, 0, None)
            )
    widget = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    cell = widget.providers.connections.item(0, 1)
    assert cell.text() == "Connected · some data missing"
    assert f"Observation missing: {missing}" in cell.toolTip()
    assert "Note on Condition: Some results may be hidden" in cell.toolTip()
    assert "Immunization" not in cell.toolTip()  # outside the granted scope: not missing


def test_disconnect_asks_then_forgets_the_provider_and_keeps_records_by_default(
    qtbot,
    demo: Session,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    add_connection(demo)
    widget = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    changed: list[bool] = []
    widget.dataChanged.connect(lambda: changed.append(True))
    questions: list[str] = []
    monkeypatch.setattr(
        style, "ask", lambda _p, _t, text, _c: (questions.append(text), (False, False))[1]
    )
    widget.providers.connections.selectRow(0)
    widget.providers.disconnect_button.click()
    assert demo.connections.statuses() != []  # said no
    monkeypatch.setattr(style, "ask", lambda *_a: (True, False))
    widget.providers.disconnect_button.click()
    assert demo.connections.statuses() == []
    assert widget.providers.connections_stack.currentWidget() is widget.providers.no_connections
    assert changed == [True]
    assert "City Hospital" in questions[0]


def test_connect_another_signs_in_through_the_browser_in_a_worker(
    dashboard: Dashboard, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_connect(self: ConnectionService, fhir_base: str, **kw: Any) -> None:
        calls.append({"fhir_base": fhir_base, **kw})
        kw["open_url"]("https://auth.example/authorize?state=x")
        add_connection(self.session, kw["name"])

    opened: list[str] = []
    monkeypatch.setattr(ConnectionService, "connect", fake_connect)
    dashboard.providers.open_url.requested.disconnect()
    dashboard.providers.open_url.requested.connect(opened.append)
    dashboard.providers.start_connect("https://fhir.city.example/R4", "app-1", "City Hospital")
    assert calls[0]["fhir_base"] == "https://fhir.city.example/R4"
    assert calls[0]["client_id"] == "app-1" and calls[0]["cancel"] is not None
    assert opened == ["https://auth.example/authorize?state=x"]
    assert dashboard.providers.connections.rowCount() == 1


def test_sync_errors_are_shown_and_the_table_refreshed(
    qtbot,
    demo: Session,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from phr_desktop.services.errors import ServiceError

    add_connection(demo)
    runner = TaskRunner(synchronous=True)
    reported: list[str] = []
    runner.reported.connect(lambda kind, text: reported.append(text))
    widget = Dashboard(demo, runner)
    qtbot.addWidget(widget)

    def failing_sync(self: ConnectionService, name: str | None = None, **kw: Any) -> None:
        raise ServiceError(f"{name!r} needs reconnecting before it can sync.")

    monkeypatch.setattr(ConnectionService, "sync", failing_sync)
    widget.providers.connections.selectRow(0)
    widget.providers.sync_button.click()
    assert reported == ["'City Hospital' needs reconnecting before it can sync."]
    for box in widget.findChildren(style.QMessageBox):
        box.close()


def test_the_dashboard_lists_current_medications_and_what_is_new(
    dashboard: Dashboard, demo: Session
) -> None:
    tabs = [dashboard.record_tabs.tabText(i) for i in range(dashboard.record_tabs.count())]
    assert tabs == ["Latest", "New in last import", "Current medications"]
    assert dashboard.medications.count() == 3  # the active prescriptions, not 125 infusions
    assert any("Zemaira 60 mg/kg IV weekly" in t for t in texts(dashboard.medications))
    assert dashboard.new_records.count() == PREVIEW_COUNT  # the demo import brought them all
    add_connection(demo)
    dashboard.refresh()
    assert dashboard.record_tabs.tabText(1) == "New since last sync"


class CountingRunner(TaskRunner):
    """The synchronous runner, counting the background tasks it was given."""

    def __init__(self) -> None:
        super().__init__(synchronous=True)
        self.titles: list[str] = []

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.titles.append(kwargs.get("title", ""))
        return super().run(*args, **kwargs)


def test_milestones_are_found_only_once_the_dashboard_has_painted(  # type: ignore[no-untyped-def]
    qtbot, demo: Session
) -> None:
    # Started earlier, the worker holds the vault's connection while the first view reads its
    # rows: the first paint waits for it (seconds at 500,000 records).
    runner = CountingRunner()
    widget = Dashboard(demo, runner)
    qtbot.addWidget(widget)
    assert runner.titles == []
    assert widget.milestones_pending  # says it is finding them, not "none found"
    assert widget.counts.count() > 0  # the rest of the dashboard is filled at once
    widget.show()
    qtbot.waitUntil(lambda: not widget.milestones_pending)
    assert runner.titles == ["Finding milestones"]
    assert texts(widget.milestones) == [text for text, *_ in milestone_rows(demo)]
