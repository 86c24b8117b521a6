"""The app icon: every rendered size is found and loads (windows and the task bar use it)."""

from __future__ import annotations

from phr_desktop.ui.app_icon import app_icon


def test_app_icon_offers_every_size_from_16_to_512(qapp) -> None:  # type: ignore[no-untyped-def]
    icon = app_icon()
    assert not icon.isNull()
    sizes = sorted(size.width() for size in icon.availableSizes())
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]
