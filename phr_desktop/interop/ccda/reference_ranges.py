"""A result's C-CDA reference range (observationRange) as a FHIR R4 Observation.referenceRange.

Vendors write ranges every way the schema allows: an IVL_PQ with low/high, an ST ("2.0-8.0",
"<5", "Negative"), a coded CO/CD ("Negative"), a TEL, or text alone. Every one is kept: as
text whenever the source wrote words, and as low/high too when those words are a plain number
range or bound, in the result's unit unless the range names its own.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lxml import etree

from phr_desktop.interop.ccda.values import (
    XSI_TYPE,
    Narrative,
    attr,
    child,
    concept,
    quantity,
    text_of,
)

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_UNIT = r"(?:\s*([A-Za-z%µ/\[\]*^0-9.{}]+(?:/[A-Za-z0-9.\[\]{}]+)?))?"
# Words in front of the range that say nothing about it ("Ref: <=500").
_PREFIX = re.compile(r"^\s*(?:ref(?:erence)?(?:\s+range)?|normal(?:\s+range)?|range)\s*:?\s*", re.I)
_BETWEEN = re.compile(rf"^{_NUMBER}\s*(?:-|–|—|to)\s*{_NUMBER}{_UNIT}\s*$", re.I)
_BELOW = re.compile(rf"^(?:<=?|≤|less than(?: or equal to)?|up to)\s*{_NUMBER}{_UNIT}\s*$", re.I)
_ABOVE = re.compile(rf"^(?:>=?|≥|greater than(?: or equal to)?)\s*{_NUMBER}{_UNIT}\s*$", re.I)


def reference_range(
    obs_range: etree._Element | None, narrative: Narrative, result: dict[str, Any] | None
) -> dict[str, Any] | None:
    """One observationRange as {low, high, text}; `result` is the result's valueQuantity, whose
    unit a range written as bare numbers is in. None when the range says nothing."""
    if obs_range is None:
        return None
    value = child(obs_range, "value")
    kind = ((value.get(XSI_TYPE) if value is not None else None) or "").split(":")[-1].upper()
    out: dict[str, Any] = {}
    text = narrative.resolve(child(obs_range, "text"))
    if kind in ("IVL_PQ", "IVL_REAL") or (value is not None and child(value, "low") is not None):
        for end in ("low", "high"):
            bound = quantity(child(value, end))
            if bound:
                out[end] = bound
    elif value is not None:
        text = text or _value_text(value, kind, narrative)
    if text:
        out["text"] = text
        if "low" not in out and "high" not in out:
            out.update(parse_range_text(text, result))
    return out or None


def _value_text(value: etree._Element, kind: str, narrative: Narrative) -> str | None:
    if kind in ("CO", "CD", "CE", "CV", "CS"):
        coded = concept(value, narrative) or {}
        return coded.get("text")
    if kind == "TEL":  # one EHR puts the range text in a telecom's value attribute
        return attr(value, "value")
    return narrative.resolve(value) or text_of(value)


def parse_range_text(text: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """low/high from a range written in words ("2.0-8.0", "<5", ">= 60 mL/min"); {} when the
    words are not a plain number range or bound ("Negative", "N/A-500,000")."""
    words = _PREFIX.sub("", text).strip()
    if words.startswith("(") and words.endswith(")"):
        words = words[1:-1].strip()
    if match := _BETWEEN.match(words):
        low, high, unit = match.groups()
        return {"low": _bound(low, unit, result), "high": _bound(high, unit, result)}
    if match := _BELOW.match(words):
        return {"high": _bound(match.group(1), match.group(2), result)}
    if match := _ABOVE.match(words):
        return {"low": _bound(match.group(1), match.group(2), result)}
    return {}


def _bound(number: str, unit: str | None, result: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": Decimal(number)}  # the patterns match plain numbers only
    result = result or {}
    same_unit = unit is None or unit == result.get("unit") or unit == result.get("code")
    if same_unit:
        for key in ("unit", "system", "code"):
            if result.get(key):
                out[key] = result[key]
    elif unit:
        out["unit"] = unit
    return out
