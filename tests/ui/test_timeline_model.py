"""The timeline model: a lazy year → month → record tree over the demo patient, no widgets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt, qInstallMessageHandler
from PySide6.QtTest import QAbstractItemModelTester

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session, StoredRecord
from phr_desktop.ui.timeline import model as timeline_model
from phr_desktop.ui.timeline.model import RecordIdRole, TimelineModel, abnormal_flag
from phr_desktop.ui.timeline.view import TimelineView


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def _records(model: TimelineModel) -> Iterator[QModelIndex]:
    for y in range(model.rowCount()):
        year = model.index(y, 0)
        for m in range(model.rowCount(year)):
            month = model.index(m, 0, year)
            for r in range(model.rowCount(month)):
                yield model.index(r, 0, month)


@pytest.fixture
def qt_messages() -> Iterator[list[str]]:
    """Qt's own warnings (QAbstractItemModelTester reports its failures as "FAIL! ...")."""
    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _context, text: messages.append(text))
    yield messages
    qInstallMessageHandler(previous)


def test_the_model_passes_qts_item_model_tester(qapp, qt_messages, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.refresh()
    tester = QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)
    model.set_filter(RecordFilter(tag="aatd"))
    model.set_filter(RecordFilter(kinds=("lab_result", "medication"), since="2015"))
    for index in _records(model):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, RecordIdRole):
            index.data(role)
    model.clear()
    del tester
    assert [m for m in qt_messages if "FAIL" in m] == []


def test_counts_per_year_and_month_match_the_session_timeline(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.refresh()
    per_year: Counter[str] = Counter()
    per_month: Counter[tuple[str, str | None]] = Counter()
    for year, month, _kind, count in demo.timeline():
        per_year[year] += count
        per_month[(year, month)] += count
    assert model.rowCount() == len(per_year)
    assert model.record_count() == sum(per_year.values()) == len(demo.record_ids())
    for y, (year, total) in enumerate(per_year.items()):
        year_index = model.index(y, 0)
        assert year_index.data() == (year if year != "undated" else "No date")
        months = [(k, n) for k, n in per_month.items() if k[0] == year]
        assert [model.rowCount(model.index(m, 0, year_index)) for m in range(len(months))] == [
            n for _k, n in months
        ]
        assert sum(n for _k, n in months) == total


def test_every_record_sits_under_its_own_year_and_month(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.refresh()
    seen = []
    for index in _records(model):
        stored = model.record_at(index)
        assert stored is not None and stored.record.effective is not None
        year_label = index.parent().parent().data()
        assert stored.record.effective.text.startswith(year_label)
        seen.append(index.data(RecordIdRole))
    assert seen == demo.record_ids()


def test_filtering_by_the_aatd_tag_shows_only_aatd_records(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.set_filter(RecordFilter(tag="aatd"))
    ids = [index.data(RecordIdRole) for index in _records(model)]
    assert ids and len(ids) == model.record_count() < len(demo.record_ids())
    assert all("aatd" in s.record.tags for s in demo.records_by_ids(ids))


def test_rows_are_fetched_in_bounded_blocks(qapp, demo: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(timeline_model, "BLOCK_SIZE", 16)
    monkeypatch.setattr(timeline_model, "MAX_CACHED_BLOCKS", 3)
    fetched: list[int] = []
    original = demo.timeline_page

    def page(f: RecordFilter, bucket: str, offset: int, limit: int) -> list[StoredRecord]:
        rows = original(f, bucket, offset, limit)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(demo, "timeline_page", page)
    model = TimelineModel(demo)
    model.refresh()
    assert fetched == []  # building the tree reads counts only
    titles = [index.siblingAtColumn(1).data() for index in _records(model)]
    assert all(titles)
    assert max(fetched) <= 16
    assert model.cached_block_count() <= 3


def test_columns_show_date_title_value_kind_and_source(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.set_filter(RecordFilter(text="FEV1 predicted", since="2025-06-12", until="2025-06-12"))
    (index,) = [i for i in _records(model) if i.siblingAtColumn(1).data() == "FEV1 % predicted"]
    row = [index.siblingAtColumn(c).data() for c in range(model.columnCount())]
    assert row == ["2025-06-12", "FEV1 % predicted", "47 % ↓", "Test result",
                   "Riverside Pulmonary (Epic)"]  # fmt: skip
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None
    assert index.siblingAtColumn(2).data(Qt.ItemDataRole.FontRole).bold()
    assert "From Riverside Pulmonary (Epic)" in index.data(Qt.ItemDataRole.ToolTipRole)


def test_abnormal_means_an_abnormal_interpretation_or_a_value_outside_the_range(
    qapp, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    records = {s.record.resource_id: s.record for s in demo.records()}
    assert abnormal_flag(records["rp-obs-fev1fvc-2025-06"]) == "low"  # interpretation L
    assert abnormal_flag(records["lh-obs-alt-2020-11"]) is None  # 33 U/L within 7-35
    assert abnormal_flag(records["rp-obs-fev1-2025-06"]) is None  # no range, no flag


def test_clear_forgets_everything(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.refresh()
    next(_records(model)).siblingAtColumn(1).data()
    model.clear()
    assert model.rowCount() == 0 and model.record_count() == 0
    assert model.cached_block_count() == 0
    model.refresh()  # no session any more: still empty, no error
    assert model.rowCount() == 0


def test_a_record_can_be_found_by_id(qapp, demo: Session) -> None:  # type: ignore[no-untyped-def]
    model = TimelineModel(demo)
    model.refresh()
    wanted = demo.record_ids()[40]
    assert model.index_for_record(wanted).data(RecordIdRole) == wanted
    assert not model.index_for_record(-1).isValid()


def test_the_timeline_view_filters_by_tag_and_reports_the_chosen_record(
    qtbot, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    view = TimelineView(demo)
    qtbot.addWidget(view)
    view.tag_combo.setCurrentIndex(view.tag_combo.findData("aatd"))
    assert view.model.record_filter().tag == "aatd"
    assert view.model.record_count() == len(demo.record_ids(RecordFilter(tag="aatd")))
    first = next(_records(view.model))
    with qtbot.waitSignal(view.recordActivated) as signal:
        view.tree.setCurrentIndex(first)
    assert signal.args == [first.data(RecordIdRole)]
    view.clear()
    assert view.model.record_count() == 0 and view.tag_combo.count() == 1


def test_the_timeline_view_searches_and_limits_dates(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    view = TimelineView(demo)
    qtbot.addWidget(view)
    view.apply_filter(RecordFilter(text="FEV1", since="2020", until="2021-06"))
    assert view.search.text() == "FEV1" and view.date_from.text() == "2020"
    dates = [view.model.record_at(i).record.effective.text for i in _records(view.model)]  # type: ignore[union-attr]
    assert dates and all("2020" <= d[:7] <= "2021-06" for d in dates)
    view.date_from.setText("2020-13")
    view.date_from.editingFinished.emit()
    assert "is not a date" in view.status.text()


def test_the_date_filters_can_be_picked_from_a_calendar_by_month(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    view = TimelineView(demo)
    qtbot.addWidget(view)
    view.show()
    view.from_calendar.click()
    assert view.from_calendar.popup.isVisible()
    view.from_calendar.calendar.setSelectedDate(QDate(2021, 3, 9))
    view.from_calendar.precision_buttons["yyyy-MM"].click()
    view.to_calendar.calendar.setSelectedDate(QDate(2021, 12, 31))
    view.to_calendar.precision_buttons["yyyy"].click()
    assert (view.date_from.text(), view.date_to.text()) == ("2021-03", "2021")
    assert (view.model.record_filter().since, view.model.record_filter().until) == (
        "2021-03",
        "2021",
    )  # applied at once, as if typed
    assert view.from_calendar.accessibleName() == "Pick the from date"
