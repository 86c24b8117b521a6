"""The tags the normaliser gives a record are remembered by the identity of its codes tuple
(issue 16): they must stay those of the record's own codes, title and value."""

from __future__ import annotations

from phr_desktop.domain.records import Code, RecordKind
from phr_desktop.services.terminology import _tags

LOINC = "http://loinc.org"
AAT_LEVEL = Code(LOINC, "1825-9", "Alpha 1 antitrypsin [Mass/volume] in Serum or Plasma")
HEART_RATE = Code(LOINC, "8867-4", "Heart rate")
LAB, VITAL = RecordKind.LAB_RESULT, RecordKind.VITAL_SIGN


def test_equal_codes_in_different_tuples_get_the_same_tags() -> None:
    first, second = (AAT_LEVEL,), tuple([AAT_LEVEL])
    assert first is not second
    assert _tags(LAB, first, "AAT", None) == _tags(LAB, second, "AAT", None) == {"aatd"}


def test_a_new_tuple_never_gets_the_tags_of_one_that_was_freed() -> None:
    for _ in range(200):  # freed tuples' ids are reused by the next ones
        assert _tags(LAB, (AAT_LEVEL,), "AAT", None) == {"aatd"}
        assert _tags(LAB, (HEART_RATE,), "Heart rate", None) == frozenset()


def test_the_title_and_a_lab_value_still_count() -> None:
    codes = (HEART_RATE,)
    assert _tags(LAB, codes, "Heart rate", None) == frozenset()
    assert "aatd" in _tags(LAB, codes, "Alpha-1 antitrypsin", None)
    assert "aatd" in _tags(LAB, codes, "SERPINA1 genotype", "PI*ZZ")
    assert _tags(VITAL, codes, "Heart rate", "PI*ZZ") == frozenset()


def test_codes_given_as_a_list_are_read_not_refused() -> None:
    assert _tags(LAB, [AAT_LEVEL], "AAT", None) == {"aatd"}  # type: ignore[arg-type]
