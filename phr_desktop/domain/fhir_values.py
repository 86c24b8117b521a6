"""Reading FHIR R4 element shapes leniently: dates, numbers, quantities, references, categories,
statuses, attachment text. Nothing raises on odd input; what cannot be read becomes a flag.

Used by `domain/normalise.py` and its builders (`normalise_*.py`) for every resource of an
import, so the common case is the short path (see the notes beside `number_of` and
`sensitivity_of`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from phr_desktop.domain.codes import codes_and_display, concept_key, display_of, first_of
from phr_desktop.domain.records import PartialDate, Quantity, ReferenceRange, parse_partial_date
from phr_desktop.domain.sensitivity import Sensitivity, sensitivity_from_source

MAX_DOCUMENT_TEXT = 1_000_000  # characters of attachment text indexed per resource
_TAG_RE = re.compile(r"<[^>]+>")
_NORMAL = Sensitivity.NORMAL.value

# Flags of one resource, in the order they were found (a record shows each once).
Flags = list[str]


def read_date(flags: Flags, *candidates: Any) -> PartialDate | None:
    """The first candidate that is a readable date; each unreadable one before it is flagged."""
    for value in candidates:
        if value is None:
            continue
        parsed = parse_partial_date(value)
        if parsed is not None:
            return parsed
        flags.append(f"unreadable date {str(value)[:40]!r}")
    return None


def path_get(node: Any, *path: str) -> Any:
    """node[path[0]][path[1]]…, or None where a step is not an object."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def as_list(value: Any) -> list[Any]:
    """A FHIR 0..* element as a list; anything else (absent, or a wrong shape) as []."""
    return value if isinstance(value, list) else []


def clean_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def number_of(value: Any, flags: Flags | None = None) -> float | None:
    kind = type(value)
    if kind is float or kind is int:  # the usual JSON number: no Decimal, no bool
        number = float(value)
        if math.isfinite(number):
            return number
    elif kind is bool or not isinstance(value, int | float | Decimal):
        return None
    else:
        # Decimal arrives when the reader kept exact number literals ("1.50").
        number = float(value)
        if math.isfinite(number):
            return number
    if flags is not None:  # "1e400": no float holds it; the raw resource keeps it as written
        flags.append(f"number out of range {literal_of(value)} (kept as written)")
    return None


def literal_of(value: Any) -> str:
    """How the source wrote a number (readers keep it on the Decimal), cut for display."""
    text = str(getattr(value, "literal", None) or value)
    return text if len(text) <= 40 else text[:39] + "…"


def out_of_range(value: Any) -> bool:
    return isinstance(value, float | Decimal) and not math.isfinite(float(value))


def reference_display(ref: Any) -> str | None:
    return clean_text(ref.get("display")) if isinstance(ref, dict) else None


def reference_of(value: Any) -> str | None:
    """The `reference` of a Reference element."""
    return clean_text(value.get("reference")) if isinstance(value, dict) else None


def quantity_of(q: Any, flags: Flags | None = None) -> Quantity | None:
    if not isinstance(q, dict):
        return None
    unit = q.get("unit")
    unit = (unit.strip() or None) if isinstance(unit, str) else None  # clean_text, inlined
    if unit is None:
        unit = clean_text(q.get("code"))
    raw = q.get("value")
    comparator = q.get("comparator")
    if comparator is None and type(raw) is float and _isfinite(raw):
        return Quantity(raw, unit, None)  # nearly every quantity: a plain number
    comparator = clean_text(comparator)
    value = number_of(raw, flags)
    text = f"{comparator}{raw}" if comparator and value is not None else None
    if value is None and out_of_range(raw):
        text = f"{comparator or ''}{literal_of(raw)}"  # shown as written, not as "inf"
    return Quantity(value, unit, text)


_isfinite = math.isfinite


def observation_value(res: Mapping[str, Any], flags: Flags) -> Quantity | None:
    if "valueQuantity" in res:
        return quantity_of(res["valueQuantity"], flags)
    if "valueCodeableConcept" in res:
        return Quantity(None, None, display_of(res["valueCodeableConcept"]) or None)
    for key in ("valueString", "valueDateTime", "valueTime"):
        if key in res and clean_text(res[key]):
            return Quantity(None, None, clean_text(res[key]))
    if "valueInteger" in res:
        return Quantity(number_of(res["valueInteger"], flags))
    if "valueBoolean" in res and isinstance(res["valueBoolean"], bool):
        return Quantity(None, None, "yes" if res["valueBoolean"] else "no")
    components = res.get("component")
    if isinstance(components, list) and components:
        parts, unit = [], None
        for comp in components:
            q = quantity_of(comp.get("valueQuantity"), flags) if isinstance(comp, dict) else None
            if q and q.value is not None:
                parts.append(f"{q.value:g}")
                unit = unit or q.unit
        if parts:
            return Quantity(None, unit, "/".join(parts))
    return None


def reference_range(value: Any, flags: Flags) -> ReferenceRange | None:
    rr = value[0] if isinstance(value, list) and value else None  # first_of, inlined
    if not isinstance(rr, dict):
        return None
    low, high = rr.get("low"), rr.get("high")
    return ReferenceRange(
        number_of(low.get("value"), flags) if isinstance(low, dict) else None,
        number_of(high.get("value"), flags) if isinstance(high, dict) else None,
        clean_text(rr.get("text")),
    )


# The words of a resource's categories, by their JSON text (see concept_key): every result of
# an import names one of a few categories.
_CATEGORY_WORDS: dict[bytes, tuple[str, ...]] = {}
_CATEGORY_WORDS_KEPT = 5_000


def _concept_words(cat: dict[str, Any]) -> list[str]:
    """A category concept's lower-cased codes, then its text."""
    out: list[str] = []
    for coding in as_list(cat.get("coding")):
        code = coding.get("code") if isinstance(coding, dict) else None
        if isinstance(code, str) and code:
            out.append(code.lower())
    text = display_of(cat)
    if text:
        out.append(text.lower())
    return out


def _read_category_words(categories: Any) -> tuple[str, ...]:
    if isinstance(categories, dict):  # some servers send one object, not a list
        categories = [categories]
    out: list[str] = []
    for cat in as_list(categories):
        if isinstance(cat, dict):
            out += _concept_words(cat)
    return tuple(out)


def category_words(categories: Any) -> tuple[str, ...]:
    """Lower-cased codes and texts of a `category` element (a list of concepts, or one), for
    simple membership tests; remembered by the element's JSON text."""
    if categories is None:
        return ()
    key = concept_key(categories)
    words = _CATEGORY_WORDS.get(key) if key is not None else None
    if words is None:
        words = _read_category_words(categories)
        if key is not None:
            if len(_CATEGORY_WORDS) >= _CATEGORY_WORDS_KEPT:
                _CATEGORY_WORDS.clear()
            _CATEGORY_WORDS[key] = words
    return words


def category_codes(res: Mapping[str, Any]) -> tuple[str, ...]:
    """Lower-cased category codes and texts of a resource, for simple membership tests."""
    return category_words(res.get("category"))


def attachment_text(attachment: Any) -> str:
    if not isinstance(attachment, dict):
        return ""
    content_type = str(attachment.get("contentType") or "").lower()
    data = attachment.get("data")
    if not isinstance(data, str) or not content_type.startswith(("text/plain", "text/html")):
        return ""
    try:
        text = base64.b64decode(data, validate=False)[: MAX_DOCUMENT_TEXT * 4].decode(
            "utf-8", errors="replace"
        )
    except (binascii.Error, ValueError):
        return ""
    if content_type.startswith("text/html"):
        text = _TAG_RE.sub(" ", text)
    return text[:MAX_DOCUMENT_TEXT]


def notes_text(res: Mapping[str, Any]) -> list[str]:
    notes = res.get("note")
    return (
        [n["text"] for n in notes if isinstance(n, dict) and clean_text(n.get("text"))]
        if isinstance(notes, list)
        else []
    )


def status_of(res: Mapping[str, Any], key: str = "status") -> str | None:
    value = res.get(key)
    if isinstance(value, dict):  # clinicalStatus is a CodeableConcept
        codes, display = codes_and_display(value)
        for coding in codes:
            if coding.code:
                return coding.code
        return display or None
    return clean_text(value)


def encounter_class(res: Mapping[str, Any]) -> tuple[str | None, str | None]:
    cls = res.get("class")
    if isinstance(cls, list):  # FHIR R5 shape seen in the wild
        cls = first_of(cls)
    codes, display = codes_and_display(cls)
    code = codes[0].code if codes else None
    return (code.upper() if code else None), display or None


def sensitivity_of(resource: Mapping[str, Any], meta: Any) -> str:
    if meta is None or (type(meta) is dict and "security" not in meta):
        return _NORMAL  # nearly every resource: no need to look further
    return sensitivity_from_source(resource).value
