"""Start-up loads only what the first paint needs.

Every module imported before the unlocked window paints is start-up time (and, once PySide6 is
loaded, each one's source is also scanned by its `__feature__` import hook). The HTTP/OAuth
stack, the importers, the exporters, the share crypto and the passphrase-strength dictionaries
are loaded when first used, so opening a profile and showing its dashboard and timeline must not
import them. Checked in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE, REPO

# Each is loaded on first use (sync or connect, import, export, share, typing a new passphrase,
# remembering the profile on this device).
DEFERRED = (
    "httpx",
    "authlib",
    "joserfc",
    "lxml",
    "zxcvbn",
    "segno",
    "keyring",
    "msgspec",
    "phr_desktop.services.connections",
    "phr_desktop.services.importing",
    "phr_desktop.services.exporting",
    "phr_desktop.services.share_opening",
    "phr_desktop.smart.sync",
    "phr_desktop.interop.ccda.importer",
)

OPEN_AND_PAINT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.ui.main_window.window import MainWindow

    data_dir, passphrase, deferred = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    app = QApplication([])
    settings = QSettings(str(data_dir / "settings.ini"), QSettings.Format.IniFormat)
    profiles = Profiles(data_dir)
    window = MainWindow(profiles, settings=settings)
    window.show()
    window.open_session(profiles.unlock("alex", passphrase=passphrase))
    for tab in (0, 1):  # the dashboard, then the timeline, each painted
        window.show_tab(tab)
        app.processEvents()
    counts = window.dashboard.counts.count()
    rows = window.timeline.model.record_count()
    loaded = [name for name in deferred if name in sys.modules]
    window.close()
    print(json.dumps({"loaded": loaded, "counts": counts, "rows": rows}))
    """
)


def test_opening_a_profile_and_painting_its_views_loads_no_deferred_module(
    profiles: Profiles, session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    records = session.counts_by_kind()
    session.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_PAINT, str(profiles.data_dir), PASSPHRASE, *DEFERRED],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    # The views were really filled: an empty window would prove nothing.
    assert shown["counts"] == len(records)
    assert shown["rows"] == sum(records.values())
    assert shown["loaded"] == []
