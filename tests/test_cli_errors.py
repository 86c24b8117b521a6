"""What a careless or unlucky user hits at the command line: checked arguments (exit 2), files
that cannot be written, and no traceback ever, only a message (and, for a bug, a crash report
that holds no health data). Issue 11 items 11, 13, 18, 19."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.cli import main
from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.views import RECORD_KINDS
from phr_desktop.vault.keys import KdfParams
from tests.cli_runner import cli_runner

UNWRITABLE_FOLDER = Path("/sys")  # not writable even by root: a read-only mount at hand


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-errors") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        mp.setenv("PHR_DATA_DIR", str(folder))
        assert main(["demo"]) == 0
    return folder


@pytest.fixture
def phr(
    demo_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
):  # type: ignore[no-untyped-def]
    return cli_runner(
        monkeypatch, capsys, demo_data, DEMO_PASSPHRASE,
        env={"PHR_CRASH_DIR": str(tmp_path / "crash")}, prefix=("--profile", "demo"),
        argparse_exits=True,
    )  # fmt: skip


# --- item 18: dates and kinds -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["notadate", "2020/01/01", "2020-13", "2020-02-30", "20", "2020-1"])
@pytest.mark.parametrize("command", [("records",), ("timeline",), ("share", "create", "-o", "x")])
def test_a_date_not_in_year_month_or_day_form_exits_2_with_a_message(
    phr, bad: str, command: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = phr(*command, "--since", bad)
    assert code == 2 and out == ""
    assert f"'{bad}' is not a date; use YYYY, YYYY-MM or YYYY-MM-DD" in err


def test_dates_of_year_month_and_day_precision_are_accepted(phr) -> None:  # type: ignore[no-untyped-def]
    for since, until in (("2020", "2020"), ("2020-03", "2021-02"), ("2020-03-31", "2024-02-29")):
        assert phr("records", "--since", since, "--until", until)[0] == 0


def test_an_unknown_kind_exits_2_and_names_the_kinds(phr) -> None:  # type: ignore[no-untyped-def]
    for command in (("records",), ("export", "--format", "pdf", "-o", "x.pdf")):
        code, out, err = phr(*command, "--kind", "lab_result,labs")
        assert code == 2 and out == "" and "unknown record kind 'labs'" in err
        assert ", ".join(RECORD_KINDS) in err


def test_help_lists_the_kinds(phr) -> None:  # type: ignore[no-untyped-def]
    for command in (("records",), ("export",), ("share", "create")):
        code, out, _ = phr(*command, "--help")
        assert code == 0 and all(kind in out for kind in RECORD_KINDS)


def test_export_takes_kind_like_records_and_kinds_as_an_alias(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import orjson

    sizes = []
    for option in ("--kind", "--kinds"):
        target = tmp_path / f"{option}.json"
        code, _, _ = phr("export", "--format", "fhir", option, "allergy", "-o", str(target))
        assert code == 0
        entries = orjson.loads(target.read_bytes())["entry"]
        types = {e["resource"]["resourceType"] for e in entries}
        assert types <= {"AllergyIntolerance", "Patient"} and "AllergyIntolerance" in types
        sizes.append(len(entries))
    assert sizes[0] == sizes[1]


# --- items 13 and 19: the output file -----------------------------------------------------------


def test_exports_are_written_0600_and_replace_an_older_file_whole(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old_umask = os.umask(0o022)
    try:
        target = tmp_path / "record.pdf"
        target.write_bytes(b"an older export")
        target.chmod(0o644)
        assert phr("export", "--format", "pdf", "-o", str(target))[0] == 0
    finally:
        os.umask(old_umask)
    assert target.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.pdf"]  # no temporary left


def test_a_missing_folder_is_an_error_not_created(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "no-such-folder" / "record.pdf"
    code, out, err = phr("export", "--format", "pdf", "-o", str(target))
    assert code == 1 and out == ""
    assert f"The folder {target.parent} does not exist" in err
    assert not target.parent.exists()


def test_a_folder_given_as_the_output_is_refused(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = phr("export", "--format", "ccda", "-o", str(tmp_path))
    assert code == 1 and "is a folder" in err
    assert tmp_path.is_dir()


def test_a_path_that_is_not_a_regular_file_is_never_replaced(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A named pipe stands in for a device such as /dev/full, which root could replace.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "link.pdf"
    link.symlink_to(tmp_path / "elsewhere.pdf")
    for target in (pipe, link):
        code, _, err = phr("export", "--format", "pdf", "-o", str(target))
        assert code == 1 and "not a regular file" in err
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and link.is_symlink()
    assert not (tmp_path / "elsewhere.pdf").exists()


def test_an_unwritable_place_gives_a_message(phr) -> None:  # type: ignore[no-untyped-def]
    code, out, err = phr("export", "--format", "pdf", "-o", str(UNWRITABLE_FOLDER / "x.pdf"))
    assert code == 1 and out == "" and "cannot be written here" in err


def test_a_read_only_folder_gives_a_message(
    phr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Root writes through a folder's mode bits, so the read-only mount is what the OS says.
    import errno

    from phr_desktop.services import output_files

    def read_only(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(output_files.tempfile, "mkstemp", read_only)
    code, out, err = phr("export", "--format", "csv", "-o", str(tmp_path / "r.csv"))
    assert code == 1 and out == ""
    assert "cannot be written here (Read-only file system)" in err
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_exporting_says_so_and_leaves_nothing(
    phr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import errno

    from phr_desktop.services import exporting

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exporting, "_write", full)
    code, _, err = phr("export", "--format", "pdf", "-o", str(tmp_path / "r.pdf"))
    assert code == 1 and "the disk is full" in err
    assert list(tmp_path.glob("*r.pdf*")) == []


def test_backups_are_written_0600(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old_umask = os.umask(0o022)
    try:
        assert phr("vault", "backup", str(tmp_path / "backup"))[0] == 0
    finally:
        os.umask(old_umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "backup").iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes


# --- item 11: no traceback, ever ----------------------------------------------------------------


def test_a_bug_gives_a_message_and_a_crash_report_without_health_data(
    phr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    secret = "Jane Doe, AAT 42 mg/dL"

    def broken(self: Session, *_args: object, **_kwargs: object) -> None:
        raise ValueError(f"could not format {secret}")

    monkeypatch.setattr(Session, "records", broken)
    code, out, err = phr("records")
    assert code == 70 and out == ""
    assert "internal error (ValueError)" in err and "not something you did" in err
    assert secret not in err
    reports = list((tmp_path / "crash").iterdir())
    assert len(reports) == 1 and str(reports[0]) in err
    report = reports[0].read_text()
    assert stat.S_IMODE(reports[0].stat().st_mode) == 0o600
    assert "exception: ValueError" in report
    assert "phr_desktop/cli/record_commands.py:" in report and "in cmd_records" in report
    assert "phr-desktop " in report and "Python " in report
    assert secret not in report and "could not format" not in report
    assert str(tmp_path) not in report  # no folder of the user's either


def test_a_read_only_data_folder_gives_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fast_kdf: None
) -> None:
    monkeypatch.setenv("PHR_PASSPHRASE", DEMO_PASSPHRASE)
    code = main(["--data-dir", str(UNWRITABLE_FOLDER / "phr-data"), "profile", "create", "mum"])
    _out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "read-only" in err and "--data-dir" in err


@pytest.fixture
def damaged_copy(demo_data: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "damaged"
    shutil.copytree(demo_data, copy)
    vault = copy / "profiles" / "demo" / "vault.db"
    pages = vault.stat().st_size // 4096
    with vault.open("r+b") as db:
        for page in range(2, pages, 3):
            db.seek(page * 4096 + 200)
            db.write(b"\0" * 64)
    yield copy


@pytest.mark.parametrize("command", [("records",), ("timeline",), ("vault", "check"), ("audit",)])
def test_malformed_database_pages_give_a_message(
    phr, damaged_copy: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PHR_DATA_DIR", str(damaged_copy))
    code, _out, err = phr(*command)
    assert code == 1 and err.startswith("phr: ") and "damaged" in err


def test_a_profile_still_unlocks_after_these_refusals(demo_data: Path) -> None:
    with Profiles(demo_data).unlock("demo", passphrase=DEMO_PASSPHRASE) as session:
        assert session.records()
