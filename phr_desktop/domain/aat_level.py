"""One story for an AAT level: where it stands against the protective level (57 mg/dL, 11 µM)
and against the lab's reference range, told together.

A level of 91 mg/dL on a 100–200 range was a red "↓ Below the range" in the record and a
green "above the protective level" on the AATD card: two verdicts that seem to disagree. For
someone with AATD on augmentation the protective level is what matters; the lab's range
describes people without the deficiency. Both are said, and only a level under the
protective line is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

from phr_desktop.domain.trends import AAT_PROTECTIVE_MG_DL

PROTECTIVE_TEXT = "the protective level of 57 mg/dL (11 µM)"


@dataclass(frozen=True)
class AatReading:
    text: str
    below_protective: bool  # the one thing flagged


def _number(value: float) -> str:
    return f"{value:g}"


def _lab_range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_number(low)}–{_number(high)} mg/dL"
    if low is not None:
        return f"≥ {_number(low)} mg/dL"
    return f"≤ {_number(high)} mg/dL" if high is not None else ""


def describe_aat_level(
    value_mg_dl: float, low: float | None = None, high: float | None = None
) -> AatReading:
    """The level against the protective line first, then against the lab's range (mg/dL)."""
    lab = _lab_range(low, high)
    if value_mg_dl < AAT_PROTECTIVE_MG_DL:
        text = f"Below {PROTECTIVE_TEXT}"
        if lab:
            text += f" (the lab's usual range is {lab})"
        return AatReading(text, True)
    text = f"Above {PROTECTIVE_TEXT}"
    if low is not None and value_mg_dl < low:
        text += f", below the lab's usual range of {lab}, which is for people without AATD"
    elif high is not None and value_mg_dl > high:
        text += f", above the lab's usual range of {lab}"
    elif lab:
        text += f", within the lab's usual range of {lab}"
    return AatReading(text, False)
