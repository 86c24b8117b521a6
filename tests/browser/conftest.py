"""A real headless Chromium for the browser share viewer, one per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.chromium import Browser, Page, chromium, chromium_path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium; `python3 dev.py "
            "test` installs it under CI when run as root)"
        )
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = Page(browser)
    try:
        yield tab
    finally:
        tab.close()
