"""SMART pieces that need no server: scopes, the authorization request, callback checks, the
loopback listener (a real one on 127.0.0.1)."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from phr_desktop.smart.discovery import SmartConfiguration
from phr_desktop.smart.errors import AuthorizationError
from phr_desktop.smart.loopback import LoopbackListener
from phr_desktop.smart.oauth import build_authorization, check_callback, token_set_from_response
from phr_desktop.smart.scopes import SYNC_TYPES, readable_types, requested_scope

CONFIG = SmartConfiguration(
    "https://ehr.example/authorize",
    "https://ehr.example/token",
    issuer="https://ehr.example",
    code_challenge_methods=("S256",),
    capabilities=("permission-v2",),
)


def test_v2_servers_get_v2_scopes_and_v1_servers_v1() -> None:
    assert requested_scope(CONFIG).endswith("patient/*.rs")
    v1 = SmartConfiguration("a", "t", code_challenge_methods=("S256",))
    assert requested_scope(v1).endswith("patient/*.read")
    assert "offline_access" in requested_scope(v1) and "launch/patient" in requested_scope(v1)


@pytest.mark.parametrize(
    ("granted", "expected"),
    [
        ("patient/*.rs openid", SYNC_TYPES),
        ("patient/*.read", SYNC_TYPES),
        ("patient/Observation.rs patient/Condition.read", ("Condition", "Observation")),
        ("patient/Observation.c patient/Immunization.s", ()),
        ("patient/Observation.rs?category=laboratory", ("Observation",)),
        ("launch/patient offline_access", ()),
        # Imaging studies are synced only where the patient granted them.
        ("patient/ImagingStudy.rs patient/Encounter.read", ("Encounter", "ImagingStudy")),
        ("patient/DiagnosticReport.rs", ("DiagnosticReport",)),
    ],
)
def test_readable_types_follow_the_granted_scope(granted: str, expected: tuple[str, ...]) -> None:
    assert readable_types(granted) == expected


def test_the_authorization_request_carries_pkce_s256_state_and_aud() -> None:
    pending = build_authorization(
        CONFIG,
        "app",
        "https://ehr.example/fhir",
        "openid patient/*.rs",
        "http://127.0.0.1:5/callback",
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(pending.url).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == create_s256_code_challenge(pending.code_verifier)
    assert query["aud"] == "https://ehr.example/fhir"
    assert query["state"] == pending.state and len(pending.state) * 5.95 >= 128  # ≥ 128 bits
    assert query["redirect_uri"] == "http://127.0.0.1:5/callback"
    other = build_authorization(CONFIG, "app", "b", "s", "r")
    assert other.state != pending.state and other.code_verifier != pending.code_verifier


def _pending():  # type: ignore[no-untyped-def]
    return build_authorization(
        CONFIG, "app", "https://ehr.example/fhir", "s", "http://127.0.0.1:5/cb"
    )


def test_a_wrong_state_is_refused() -> None:
    with pytest.raises(AuthorizationError, match="wrong state"):
        check_callback({"state": "forged", "code": "c"}, _pending(), CONFIG)


def test_access_denied_is_reported_plainly() -> None:
    pending = _pending()
    with pytest.raises(AuthorizationError, match="not granted"):
        check_callback({"state": pending.state, "error": "access_denied"}, pending, CONFIG)


def test_an_unexpected_issuer_is_refused() -> None:
    pending = _pending()
    params = {"state": pending.state, "code": "c", "iss": "https://evil.example"}
    with pytest.raises(AuthorizationError, match="unexpected issuer"):
        check_callback(params, pending, CONFIG)


def test_a_good_callback_yields_the_code() -> None:
    pending = _pending()
    params = {"state": pending.state, "code": "the-code", "iss": "https://ehr.example"}
    assert check_callback(params, pending, CONFIG) == "the-code"


def test_a_refresh_response_keeps_what_it_omits() -> None:
    first = token_set_from_response(
        {
            "access_token": "a1",
            "refresh_token": "r1",
            "expires_in": 300,
            "scope": "s",
            "patient": "p",
        }
    )
    second = token_set_from_response({"access_token": "a2", "expires_in": 300}, previous=first)
    assert (second.refresh_token, second.patient, second.scope) == ("r1", "p", "s")


def test_the_loopback_listener_takes_one_callback_and_closes() -> None:
    with LoopbackListener() as listener:
        assert listener.redirect_uri.startswith("http://127.0.0.1:")
        listener.expect_state("xyz")
        received: dict[str, str] = {}
        waiter = threading.Thread(target=lambda: received.update(listener.wait(10) or {}))
        waiter.start()
        page = httpx.get(listener.redirect_uri + "?code=abc&state=xyz", timeout=10)
        waiter.join(10)
        assert page.status_code == 200 and "close this tab" in page.text
        assert received == {"code": "abc", "state": "xyz"}
        second = httpx.get(listener.redirect_uri + "?code=again&state=xyz", timeout=10)
        assert second.status_code == 400 and "ignored" in second.text  # only one is taken
        port = listener.redirect_uri.split(":")[2].split("/")[0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/callback", timeout=5)


def test_waiting_without_a_callback_times_out_or_is_cancelled() -> None:
    with LoopbackListener() as listener:
        assert listener.wait(0.3) is None
        cancelled = threading.Event()
        cancelled.set()
        assert listener.wait(30, cancelled) is None
