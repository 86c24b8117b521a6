"""The AAT genotype typed by hand: a recognised one kept canonical, other words as typed."""

from __future__ import annotations

import pytest

from phr_desktop.services.entry_names import genotype_choices
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.session import Session


def test_a_typed_genotype_is_kept_canonical_and_fills_the_overview(session: Session) -> None:
    record_id = session.entries.add_genotype("Z/Z", "2014-01-30")
    stored = session.record(record_id).record
    assert stored.value is not None and stored.value.text == "Pi*ZZ"
    assert session.views.aatd_overview().genotype == "Pi*ZZ"


def test_words_from_a_report_are_kept_as_typed(session: Session) -> None:
    record_id = session.entries.add_genotype("heterozygous for a rare variant", "2020")
    value = session.record(record_id).record.value
    assert value is not None and value.text == "heterozygous for a rare variant"


def test_an_empty_genotype_is_refused(session: Session) -> None:
    with pytest.raises(ServiceError):
        session.entries.add_genotype("  ", "2020")


def test_the_choices_start_with_the_severe_genotypes() -> None:
    choices = genotype_choices()
    assert choices[0] == "Pi*FZ" and choices[-1] == "Pi*MM" and "Pi*ZZ" in choices[:7]
