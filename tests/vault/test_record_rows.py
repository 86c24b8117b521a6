"""Records read from the vault are built without the dataclass constructor (for speed); they
must be exactly the records the constructor would build."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from phr_desktop.domain.records import Record
from phr_desktop.services.session import Session


def test_a_record_read_back_has_every_field_and_equals_the_constructed_one(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    stored = session.records_by_ids(session.record_ids())
    assert len(stored) > 50
    names = {f.name for f in fields(Record)}
    for s in stored:
        assert set(vars(s.record)) == names
        rebuilt = Record(**{name: getattr(s.record, name) for name in names})
        assert rebuilt == s.record
        assert hash(rebuilt) == hash(s.record)
