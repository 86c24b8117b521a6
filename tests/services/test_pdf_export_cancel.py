"""The full-record PDF stops when cancelled while it is being written, not only after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phr_desktop.services.exporting import export
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress

# Any read of records: by id (a page of them) or a table's narrow rows of one kind.
RECORD_PAGE_READ = re.compile(r"^SELECT r\.id, r\.\w+.* FROM records r\b")


def test_a_pdf_export_cancelled_as_writing_starts_reads_no_record_and_leaves_no_file(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    reads: list[str] = []
    session.vault.conn.set_trace_callback(
        lambda sql: reads.append(sql) if RECORD_PAGE_READ.search(sql) else None
    )
    cancel = CancelToken()

    def cancel_when_writing(step: Progress) -> None:
        if step.message.startswith("Writing"):
            reads.clear()  # what gathering read does not count
            cancel.cancel()

    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(Cancelled):
        export(session, "pdf", folder / "record.pdf", progress=cancel_when_writing, cancel=cancel)
    session.vault.conn.set_trace_callback(None)

    assert reads == []  # stopped before the first record was read, not after the last
    assert list(folder.iterdir()) == []  # neither the PDF nor a partial file


def test_a_pdf_export_cancelled_after_its_first_pages_stops_there(
    session: Session, demo_files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phr_desktop.interop.pdf import pages

    session.import_paths(demo_files)
    cancel = CancelToken()
    pages_shown: list[int] = []
    show_page = pages.RecordCanvas.showPage

    def counting_show_page(canvas: pages.RecordCanvas) -> None:
        pages_shown.append(canvas.getPageNumber())
        if len(pages_shown) == 3:
            cancel.cancel()  # as the third page ends
        show_page(canvas)

    monkeypatch.setattr(pages.RecordCanvas, "showPage", counting_show_page)
    with pytest.raises(Cancelled):
        export(session, "pdf", tmp_path / "record.pdf", cancel=cancel)

    assert pages_shown == [1, 2, 3]  # the demo record has 26 pages
    assert not (tmp_path / "record.pdf").exists()
