"""`phr-desktop --self-test`: prove that this build works, end to end, in a throwaway folder.

It walks the real code paths (KDF calibration, SQLCipher, import, PDF exports, the main window
with its charts) offscreen, so a frozen bundle missing a Qt plugin, a data file or a lazily
imported module fails here, in CI, rather than on a patient's computer.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TextIO

from phr_desktop import __version__
from phr_desktop.resources import resource_path
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session

PROFILE = "self-test"


class SelfTestFailed(Exception):
    """A check that ran but did not give the expected result."""


class SelfTest:
    """The steps, in order; `step` names the one running, for the failure message."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.profiles = Profiles(folder / "data")
        self.passphrase = secrets.token_urlsafe(24)
        self.step = "starting"
        self.facts: list[str] = []

    def run(self) -> None:
        self.step = "creating a profile (KDF calibration, SQLCipher)"
        session, _recovery_key = self.profiles.create(PROFILE, self.passphrase)
        with session:
            self.step = "importing the demo patient"
            self._import_demo(session)
        self.step = "unlocking the profile again with its passphrase"
        with self.profiles.unlock(PROFILE, passphrase=self.passphrase) as session:
            self.step = "checking the vault (cipher, HMAC, integrity, audit chain)"
            report = session.check()
            if not report.ok:
                raise SelfTestFailed("; ".join(report.problems) or "the audit chain is broken")
            self.step = "exporting (full and emergency PDFs, IPS, C-CDA)"
            self._export(session)
            self.step = "sharing (the .phrshare and its page for browsers)"
            self._share(session)
        self.step = "opening the main window"
        self._show_main_window()

    def _import_demo(self, session: Session) -> None:
        files = sorted(resource_path("demo").glob("*.json"))
        if not files:
            raise SelfTestFailed(f"no demo files in {resource_path('demo')}")
        report = session.import_paths(files)
        if report.failed:
            raise SelfTestFailed("; ".join(f"{f.path}: {f.error}" for f in report.failed))
        count = report.totals.records  # records written (a fact two sources hold counts twice)
        if count == 0 or not session.record_ids():
            raise SelfTestFailed("the demo import stored no records")
        self.facts.append(f"{count} records imported")
        # The search vocabulary is a data file: a frozen build without it finds no lay words.
        if not session.search("LFTs", 5):
            raise SelfTestFailed(
                "search in the patient's words found nothing for 'LFTs' "
                "(is resources/search/vocabulary.json bundled?)"
            )

    def _export(self, session: Session) -> None:
        from phr_desktop.services.exporting import export

        sizes = []
        # The PDFs need reportlab, matplotlib's Agg and fonts, segno; the IPS loads
        # fhir.resources models by name; the CCD goes through lxml: each a frozen-build risk.
        for fmt, name, magic in (
            ("pdf", "record.pdf", b"%PDF-"),
            ("emergency", "emergency.pdf", b"%PDF-"),
            ("ips", "ips.json", b"{"),
            ("ccda", "ccd.xml", b"<?xml"),
        ):
            body = export(session, fmt, self.folder / name).read_bytes()
            if not body.startswith(magic) or len(body) < 1024:
                raise SelfTestFailed(
                    f"the {fmt} export is not what it should be ({len(body)} bytes)"
                )
            sizes.append(f"{fmt} {len(body) // 1024} kB")
        self.facts.append("exported " + ", ".join(sizes))

    def _share(self, session: Session) -> None:
        # The browser page inlines resources/share_viewer/: a bundle without it fails here.
        from phr_desktop.services.sharing import ShareSelection, create_share

        made = create_share(
            session, self.folder / "self-test.phrshare", ShareSelection(kinds=("lab_result",)),
            "self-test", html=True,
        )  # fmt: skip
        page = made.html.read_bytes() if made.html else b""
        if made.file.read_bytes() not in page or b"crypto.subtle" not in page:
            raise SelfTestFailed("the share's browser page does not hold the share and viewer")
        self.facts.append(
            f"shared {made.record_count} records (browser page {len(page) // 1024} kB)"
        )

    def _show_main_window(self) -> None:
        from PySide6.QtCore import QSettings, qInstallMessageHandler
        from PySide6.QtWidgets import QApplication

        from phr_desktop.ui.main_window.window import MainWindow
        from phr_desktop.ui.workers import TaskRunner

        previous_handler = qInstallMessageHandler(_quiet_offscreen_warnings)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        # An exception in a Qt slot does not propagate: it reaches sys.excepthook and the
        # window carries on. Collect those, or a chart that failed to load would pass.
        slot_errors: list[BaseException] = []
        previous_hook = sys.excepthook
        sys.excepthook = lambda _kind, exc, _tb: slot_errors.append(exc)
        # Settings in the throwaway folder: the self-test leaves the user's preferences alone.
        settings = QSettings(str(self.folder / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(self.profiles, settings=settings, runner=TaskRunner(synchronous=True))
        try:
            window.show()
            session = self.profiles.unlock(PROFILE, passphrase=self.passphrase)
            window.open_session(session)
            window.show_tab(2)  # the AATD overview: matplotlib's QtAgg canvases
            fev1 = session.search("FEV1", 1)
            if fev1:
                window.show_record(fev1[0].id)  # the record detail with its trend chart
            app.processEvents()
            if slot_errors:
                raise SelfTestFailed(_one_line(slot_errors[0])) from slot_errors[0]
            if window.grab().isNull():
                raise SelfTestFailed("the main window could not be drawn")
            platform = QApplication.platformName()
        finally:
            window.close()  # locks: the views clear and the vault closes
            window.deleteLater()
            app.processEvents()
            sys.excepthook = previous_hook
            qInstallMessageHandler(previous_handler)
        self.facts.append(f"main window drawn ({platform})")


def _one_line(exc: BaseException) -> str:
    """`Type: first line`, and the same of its cause (numpy's ImportError is a whole page)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    cause = exc.__cause__
    if cause is not None and not isinstance(exc, SelfTestFailed):
        text += f" (caused by {_one_line(cause)})"
    return text


def _quiet_offscreen_warnings(_kind: object, _context: object, message: str) -> None:
    # The offscreen platform cannot size windows by hints and says so for every window shown.
    if "propagateSizeHints" not in message:
        print(f"Qt: {message}", file=sys.stderr)


def run_self_test(out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run every step; print one line; 0 when all passed, 1 (with the step and why) when not."""
    out = out or sys.stdout
    err = err or sys.stderr
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="phr-self-test-", ignore_cleanup_errors=True) as tmp:
        test = SelfTest(Path(tmp))
        try:
            test.run()
        except Exception as exc:
            traceback.print_exc(file=err)
            why = str(exc) if isinstance(exc, SelfTestFailed) else _one_line(exc)
            print(
                f"phr-desktop {__version__} self-test FAILED while {test.step}: {why}",
                file=err,
                flush=True,
            )
            return 1
    seconds = time.perf_counter() - started
    print(
        f"phr-desktop {__version__} self-test passed in {seconds:.1f} s: " + "; ".join(test.facts),
        file=out,
        flush=True,
    )
    return 0
