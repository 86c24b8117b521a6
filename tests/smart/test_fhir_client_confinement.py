"""FhirClient sends the bearer token only under its FHIR base: a URL elsewhere is refused
before any request, and a redirect is followed only while it stays under the base; a token
request is never redirected."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from phr_desktop.smart.discovery import SmartConfiguration
from phr_desktop.smart.errors import AuthorizationError, ResourceRefused
from phr_desktop.smart.fhir_client import FhirClient, TokenKeeper
from phr_desktop.smart.oauth import TokenSet, refresh
from phr_desktop.smart.url_rules import OutsideFhirBase

BASE = "https://ehr.example/fhir/R4"
TOKENS = TokenSet("secret-access", "refresh", None, "patient/*.rs", "p1")


def _client(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[FhirClient, list]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    return FhirClient(http, BASE, TokenKeeper(TOKENS, lambda t: t)), seen


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"resourceType": "Patient", "id": "p1"})


@pytest.mark.parametrize("url", ["Patient/p1", "/Patient/p1", f"{BASE}/Patient/p1"])
def test_urls_under_the_base_are_fetched_with_the_token(url: str) -> None:
    client, seen = _client(_ok)
    assert client.get_json(url)["id"] == "p1"
    assert [str(r.url) for r in seen] == [f"{BASE}/Patient/p1"]
    assert seen[0].headers["Authorization"] == "Bearer secret-access"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/fhir/R4/Patient/p1",
        "https://ehr.example/other/Patient/p1",
        "https://ehr.example@evil.example/fhir/R4/Patient/p1",
        f"{BASE}/../../admin",
        "../admin",
    ],
)
def test_a_url_elsewhere_is_refused_before_any_request(url: str) -> None:
    client, seen = _client(_ok)
    with pytest.raises(OutsideFhirBase, match="not under this connection's FHIR address"):
        client.get(url)
    with pytest.raises(OutsideFhirBase):
        client.get_binary(url, 1000, "application/pdf")
    assert seen == []


def test_a_redirect_outside_the_base_is_not_followed() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/admin/steal"})

    client, seen = _client(redirect)
    with pytest.raises(OutsideFhirBase, match="redirected"):
        client.get("Binary/1")
    assert [str(r.url) for r in seen] == [f"{BASE}/Binary/1"]


def test_a_redirect_within_the_base_is_followed_with_the_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/old"):
            return httpx.Response(301, headers={"Location": f"{BASE}/Patient/p1"})
        return _ok(request)

    client, seen = _client(answer)
    assert client.get_json("Patient/old")["id"] == "p1"
    assert [r.headers["Authorization"] for r in seen] == ["Bearer secret-access"] * 2


def test_a_binary_larger_than_the_cap_is_refused_by_its_declared_length() -> None:
    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Type": "application/pdf", "Content-Length": "5000"},
            content=b"x" * 5000,
        )  # fmt: skip

    client, _seen = _client(big)
    assert client.get_binary("Binary/1", 4999, "application/pdf") is None
    assert client.get_binary("Binary/1", 5000, "application/pdf") == (
        b"x" * 5000,
        "application/pdf",
    )


def test_a_token_request_is_never_redirected_elsewhere() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(307, headers={"Location": "https://evil.example/token"})

    config = SmartConfiguration("https://ehr.example/authorize", "https://ehr.example/token")
    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    with http, pytest.raises(AuthorizationError, match=r"refused the request \(307"):
        refresh(http, config, "app", TOKENS)
    assert seen == ["https://ehr.example/token"]  # the refresh token went nowhere else


def test_a_refusal_shows_the_servers_text_without_control_characters() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "required",
                   "diagnostics": "category is required\n\x1b[2KSync complete: 0 failed"}],
    }  # fmt: skip
    client, _seen = _client(lambda _r: httpx.Response(400, json=outcome))
    with pytest.raises(ResourceRefused) as refused:
        client.get("Observation?patient=p1")
    assert str(refused.value) == (
        "the server refused it (400: category is required [2KSync complete: 0 failed)"
    )
    assert refused.value.status == 400


class _DropsOnce(httpx.SyncByteStream):
    """A body whose first reading fails mid-way, as a dropped connection does."""

    drops = 1

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b'{"resourceType": "Pat'
        if _DropsOnce.drops:
            _DropsOnce.drops -= 1
            raise httpx.ReadError("connection reset")
        yield b'ient", "id": "p1"}'


def test_a_page_dropped_mid_body_is_asked_again() -> None:
    _DropsOnce.drops = 1
    client, seen = _client(lambda _r: httpx.Response(200, stream=_DropsOnce()))
    client._sleep = lambda _s: None
    assert client.get_json("Patient/p1")["id"] == "p1"
    assert len(seen) == 2
