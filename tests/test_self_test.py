"""`phr-desktop --self-test`, run in process from the source tree (CI also runs it frozen)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from phr_desktop import __version__, app, self_test


def test_self_test_passes_on_a_working_install_and_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert app.main(["--self-test"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    line = lines[0]
    assert line.startswith(f"phr-desktop {__version__} self-test passed in ")
    assert "436 records imported" in line  # resources/demo: 369 + 67 entries
    assert all(f"{fmt} " in line for fmt in ("exported pdf", "emergency", "ips", "ccda"))
    assert "main window drawn (offscreen)" in line
    assert "propagateSizeHints" not in err


def test_self_test_names_the_failing_step_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fast_kdf: None
) -> None:
    monkeypatch.setattr(self_test, "resource_path", lambda *_parts: tmp_path / "no-demo-here")
    out, err = io.StringIO(), io.StringIO()
    assert self_test.run_self_test(out, err) == 1
    assert out.getvalue() == ""
    last = err.getvalue().strip().splitlines()[-1]
    assert last.startswith(f"phr-desktop {__version__} self-test FAILED while importing the demo")
    assert "no demo files in" in last


def test_an_exception_inside_a_qt_slot_fails_the_self_test(
    monkeypatch: pytest.MonkeyPatch, fast_kdf: None
) -> None:
    # As a frozen build without numpy's libraries did: the chart's import fails in a slot.
    def broken_view(*_args: object) -> None:
        raise ImportError("libopenblas.so: cannot open shared object file")

    monkeypatch.setattr("phr_desktop.ui.main_window.window.AatdView", broken_view)
    out, err = io.StringIO(), io.StringIO()
    assert self_test.run_self_test(out, err) == 1
    last = err.getvalue().strip().splitlines()[-1]
    assert last.endswith(
        "FAILED while opening the main window: "
        "ImportError: libopenblas.so: cannot open shared object file"
    )


def test_self_test_leaves_no_files_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fast_kdf: None
) -> None:
    monkeypatch.setattr(self_test.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(self_test, "resource_path", lambda *_parts: tmp_path / "no-demo-here")
    assert self_test.run_self_test(io.StringIO(), io.StringIO()) == 1
    assert list(tmp_path.iterdir()) == []


def test_self_test_makes_a_share_with_its_browser_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["--self-test"]) == 0
    assert "records (browser page " in capsys.readouterr().out


def test_self_test_fails_when_the_share_viewer_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fast_kdf: None
) -> None:
    from phr_desktop.sharing import html_share

    html_share._viewer_parts.cache_clear()
    monkeypatch.setattr(html_share, "resource_path", lambda *_parts: tmp_path / "no-viewer")
    out, err = io.StringIO(), io.StringIO()
    try:
        assert self_test.run_self_test(out, err) == 1
    finally:
        html_share._viewer_parts.cache_clear()
    last = err.getvalue().strip().splitlines()[-1]
    assert "self-test FAILED while sharing (the .phrshare and its page for browsers)" in last


def test_a_build_without_the_search_vocabulary_fails_the_self_test(
    monkeypatch: pytest.MonkeyPatch, fast_kdf: None
) -> None:
    from phr_desktop.domain.search_query import Vocabulary

    monkeypatch.setattr(
        "phr_desktop.services.record_reader.search_vocabulary", lambda: Vocabulary()
    )
    out, err = io.StringIO(), io.StringIO()
    assert self_test.run_self_test(out, err) == 1
    assert "resources/search/vocabulary.json" in err.getvalue() + out.getvalue()
