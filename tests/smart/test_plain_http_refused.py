"""Plain http to another machine is refused for discovery, sign-in, tokens, registration and
FHIR reads, before any request is made; loopback http (a local test server) stays allowed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from phr_desktop.services.connections import new_http_client
from phr_desktop.services.session import Session
from phr_desktop.smart.discovery import SmartConfiguration, discover
from phr_desktop.smart.dynamic_registration import register_device
from phr_desktop.smart.fhir_client import FhirClient, TokenKeeper
from phr_desktop.smart.oauth import TokenSet, build_authorization, refresh
from phr_desktop.smart.url_rules import InsecureUrl

TOKENS = TokenSet("access", "refresh", None, "patient/*.rs", "p1")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every request any httpx client tries to send, recorded and answered 599 (no network)."""
    requests: list[str] = []

    def recording_send(self: httpx.Client, request: httpx.Request, **_: object) -> httpx.Response:
        requests.append(str(request.url))
        return httpx.Response(599, request=request)

    monkeypatch.setattr(httpx.Client, "send", recording_send)
    yield requests


def _serving(routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> httpx.Client:
    """A client whose transport answers the given URLs (anything else 404), with the app's own
    request hook that refuses plain http."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        route = routes.get(str(request.url))
        return route(request) if route else httpx.Response(404)

    client = new_http_client()
    client._transport = httpx.MockTransport(handler)  # the app's hooks and settings stay
    client.seen = seen  # type: ignore[attr-defined]
    return client


def test_connecting_to_a_remote_http_fhir_server_is_refused_before_any_request(
    session: Session, sent: list[str]
) -> None:
    opened: list[str] = []
    with pytest.raises(InsecureUrl, match=r"http://ehr\.example/fhir uses plain http.*https"):
        session.connections.connect(
            "http://ehr.example/fhir", client_id="app", open_url=opened.append, timeout=1
        )
    assert sent == [] and opened == []
    assert session.vault.conn.execute("SELECT count(*) FROM connections").fetchone()[0] == 0


def test_discovery_refuses_a_remote_http_base_before_asking_it(sent: list[str]) -> None:
    with httpx.Client() as client, pytest.raises(InsecureUrl, match="FHIR server"):
        discover(client, "http://ehr.example/fhir")
    assert sent == []


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("authorization_endpoint", "sign-in page"),
        ("token_endpoint", "token service"),
        ("registration_endpoint", "registration service"),
    ],
)
def test_a_smart_configuration_naming_a_remote_http_endpoint_is_refused(
    field: str, what: str
) -> None:
    config = {
        "authorization_endpoint": "https://ehr.example/authorize",
        "token_endpoint": "https://ehr.example/token",
        "registration_endpoint": "https://ehr.example/register",
        "code_challenge_methods_supported": ["S256"],
    }
    config[field] = config[field].replace("https://", "http://")
    well_known = "https://ehr.example/fhir/.well-known/smart-configuration"
    with _serving({well_known: lambda _r: httpx.Response(200, json=config)}) as client:
        with pytest.raises(InsecureUrl, match=f"{what} address http://.*plain http"):
            discover(client, "https://ehr.example/fhir")
        assert client.seen == [well_known]  # type: ignore[attr-defined]


def test_a_redirect_to_remote_http_is_refused_before_it_is_followed() -> None:
    well_known = "https://ehr.example/fhir/.well-known/smart-configuration"
    moved = "http://ehr.example/fhir/.well-known/smart-configuration"
    routes = {well_known: lambda _r: httpx.Response(302, headers={"Location": moved})}
    with _serving(routes) as client:
        with pytest.raises(InsecureUrl, match="plain http"):
            discover(client, "https://ehr.example/fhir")
        assert client.seen == [well_known]  # type: ignore[attr-defined]


def test_token_refresh_and_registration_refuse_remote_http_endpoints(sent: list[str]) -> None:
    insecure = SmartConfiguration(
        "http://ehr.example/authorize",
        "http://ehr.example/token",
        registration_endpoint="http://ehr.example/register",
    )
    with httpx.Client() as client:
        with pytest.raises(InsecureUrl, match="token service"):
            refresh(client, insecure, "app", TOKENS)
        with pytest.raises(InsecureUrl, match="registration service"):
            register_device(client, insecure, "app", "access")
    with pytest.raises(InsecureUrl, match="sign-in page"):
        build_authorization(insecure, "app", "https://ehr.example/fhir", "openid", "http://x")
    assert sent == []


def test_a_fhir_client_refuses_a_remote_http_base_and_allows_loopback() -> None:
    keeper = TokenKeeper(TOKENS, lambda t: t)
    with httpx.Client() as client:
        with pytest.raises(InsecureUrl, match="FHIR server"):
            FhirClient(client, "http://ehr.example/fhir", keeper)
        assert FhirClient(client, "http://127.0.0.1:8080/fhir/", keeper).base == (
            "http://127.0.0.1:8080/fhir"
        )
