"""File names from names a person typed: their language kept, nothing a file system refuses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from phr_desktop.services.file_names import export_file_name, file_name_part, person_name
from phr_desktop.services.session import Session

DAY = date(2026, 12, 6)


def test_an_export_is_named_for_the_person_what_and_when() -> None:
    assert export_file_name("Zoë 山田", "health record", DAY, ".pdf") == (
        "Zoë 山田 health record 2026-12-06.pdf"
    )
    assert export_file_name("Mum (Joan)", "emergency summary", DAY, ".pdf") == (
        "Mum (Joan) emergency summary 2026-12-06.pdf"
    )


@pytest.mark.parametrize(
    ("typed", "safe"),
    [
        ("../../etc/passwd", "etc passwd"),
        ("a/b\\c:d*e?f", "a b c d e f"),
        ("line\nbreak\u202eevil", "line break evil"),
        ("CON", "CON file"),
        ("...", ""),
        ("x" * 100, "x" * 60),
    ],
)
def test_unsafe_characters_never_reach_the_file_system(typed: str, safe: str) -> None:
    assert file_name_part(typed) == safe


def test_without_a_usable_name_the_file_is_still_named(tmp_path: Path) -> None:
    name = export_file_name("///", "measurements", DAY, ".csv")
    assert name == "measurements 2026-12-06.csv"
    (tmp_path / name).write_text("ok")  # a name every file system takes


def test_the_person_is_the_patient_record_else_the_profile(session: Session) -> None:
    assert person_name(session) == "alex"
