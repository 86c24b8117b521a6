"""One story for an AAT level: the protective level and the lab's range, said together, and
only a level under the protective line is flagged."""

from __future__ import annotations

from phr_desktop.domain.aat_level import describe_aat_level


def test_between_protective_and_the_labs_range_is_not_flagged_and_says_both() -> None:
    reading = describe_aat_level(91, 100, 200)
    assert not reading.below_protective
    assert reading.text.startswith("Above the protective level of 57 mg/dL (11 µM)")
    assert "below the lab's usual range of 100–200 mg/dL" in reading.text


def test_below_protective_is_flagged_with_the_labs_range_beside_it() -> None:
    reading = describe_aat_level(22, 100, 200)
    assert reading.below_protective
    assert reading.text == (
        "Below the protective level of 57 mg/dL (11 µM) (the lab's usual range is 100–200 mg/dL)"
    )


def test_within_range_and_without_a_range() -> None:
    assert describe_aat_level(150, 100, 200).text.endswith(
        "within the lab's usual range of 100–200 mg/dL"
    )
    assert describe_aat_level(80).text == "Above the protective level of 57 mg/dL (11 µM)"
    assert describe_aat_level(57).below_protective is False  # the line itself is protective
