"""The placeholder window: shows the demo profile's record counts without a screen."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.placeholder import PlaceholderWindow


def test_the_window_lists_the_demo_records_by_category(
    qtbot, profiles: Profiles, fast_kdf: None
) -> None:  # type: ignore[no-untyped-def]
    session, created = open_demo(profiles)
    with session:
        counts = session.counts_by_kind()
    assert created
    window = PlaceholderWindow("Demo patient", counts, [])
    qtbot.addWidget(window)
    window.show()
    texts = [window.summary.item(i).text() for i in range(window.summary.count())]
    assert f"Test results: {counts['lab_result']}" in texts
    assert len(texts) == len(counts)


def test_without_a_profile_the_window_lists_profiles(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = PlaceholderWindow("Profiles", None, ["alex", "mum"])
    qtbot.addWidget(window)
    assert [window.summary.item(i).text() for i in range(2)] == ["Profile: alex", "Profile: mum"]
