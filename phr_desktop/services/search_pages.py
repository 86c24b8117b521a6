"""Reading a sync's search pages (and reads): the resources exactly as the server wrote them,
the `next` link, and the server's notes about the search (outcome entries) as warnings."""

from __future__ import annotations

from typing import Any

from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import read_json, resources_of
from phr_desktop.smart.errors import ServerError
from phr_desktop.smart.search_fetch import ParsedPage

MAX_WARNING_CHARS = 300  # a server's note, as shown in the connection's status


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _issue_texts(outcome: dict[str, Any]) -> list[str]:
    texts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict) or issue.get("severity") == "information":
            continue  # a warning is news for the patient; an information issue is not
        details = issue.get("details")
        detail_text = details.get("text") if isinstance(details, dict) else None
        text = issue.get("diagnostics") or detail_text or issue.get("code")
        if text:
            texts.append(str(text)[:MAX_WARNING_CHARS])
    return texts


def _split_outcomes(bundle: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A search Bundle without its `search.mode = "outcome"` entries (notes about the search,
    such as "some results may be hidden", never records), and those notes' texts."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle, []
    kept, warnings = [], []
    for entry in entries:
        search = entry.get("search") if isinstance(entry, dict) else None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        is_outcome = isinstance(search, dict) and search.get("mode") == "outcome"
        if is_outcome or (
            isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"
        ):
            if isinstance(resource, dict):
                warnings.extend(_issue_texts(resource))
            continue
        kept.append(entry)
    return ({**bundle, "entry": kept} if len(kept) < len(entries) else bundle), warnings


def _may_hold_outcomes(body: bytes) -> bool:
    """Whether a page can hold outcome entries: "outcome" and "OperationOutcome" are spelled
    in its bytes, or it has \\u escapes (the one way JSON spells a letter otherwise). Most
    pages have neither, and looking through every entry cost more than this byte search."""
    return b"utcome" in body or b"\\u" in body


def parse_page(body: bytes, name: str) -> ParsedPage:
    """A search page (or a read) in one exact parse, as an import reads a file (`read_json`:
    an integer beyond 64 bits is made exact when its resource is written, so the page needs
    no byte scan for them): its resources, its `next` link and the server's notes (outcome
    entries)."""
    try:
        value = read_json(body, name)
        warnings: list[str] = []
        if (
            isinstance(value, dict)
            and value.get("resourceType") == "Bundle"
            and _may_hold_outcomes(body)
        ):
            value, warnings = _split_outcomes(value)
        items = resources_of(value, name)  # refuses JSON that is not a FHIR resource
    except UnreadableFile as exc:
        raise ServerError(
            f"The provider's server sent a {name} that cannot be read ({exc.reason}); what was "
            "fetched before it is kept and the next sync tries again from there."
        ) from None
    next_url = _next_link(value) if value["resourceType"] == "Bundle" else None
    return ParsedPage(items, next_url, tuple(dict.fromkeys(warnings)))
