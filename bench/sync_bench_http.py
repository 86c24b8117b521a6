"""Plain-HTTP reads of the bench's SMART server: searches at the bench's _count, admin stats."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from phr_desktop.smart.sync import PAGE_SIZE

_page_size = PAGE_SIZE  # every client's _count; --count changes it (set by main / run_phase)


def use_page_size(page_size: int) -> None:
    """Every client asks for this `_count`; the app reads `sync.PAGE_SIZE` when it syncs."""
    global _page_size
    from phr_desktop.smart import sync

    _page_size = sync.PAGE_SIZE = page_size


def fetch_all(http: Any, base: str, patient: str, rtype: str) -> int:
    """Every page of one type with plain httpx, `orjson` only for the next link: the count."""
    if rtype == "Patient":
        http.get(f"{base}/Patient/{patient}").raise_for_status()
        return 1
    url: str | None = f"{base}/{rtype}?{urlencode(search_params(patient))}"
    count = 0
    while url:
        response = http.get(url)
        response.raise_for_status()
        page = orjson.loads(response.content)
        count += len(page.get("entry") or [])
        url = next_link(page)
    return count


def plain_http(token: str) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    return httpx.Client(timeout=120.0, headers=headers, limits=httpx.Limits(max_connections=8))


def search_params(patient: str) -> dict[str, str]:
    return {"patient": patient, "_count": str(_page_size)}  # as search_plan.Search.first_url


def next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def admin(origin: str, method: str, path: str) -> Any:
    import httpx

    response = httpx.request(method, f"{origin}/_admin/{path}", timeout=10.0)
    response.raise_for_status()
    return response.json()
