"""The e2e SMART server behaves per SMART App Launch, OAuth 2 (PKCE, RFC 8252, RFC 9207) and
FHIR R4 search, proven with plain httpx before the app's own client is built on it."""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SmartServer, StartSmartServer
from tests.e2e.smart_login import (
    CLIENT_ID,
    DEFAULT_SCOPE,
    build_authorize_url,
    callback_params,
    drive_login,
    obtain_tokens,
    pkce_pair,
)

FHIR_JSON = {"Accept": "application/fhir+json"}


@pytest.fixture(scope="module")
def server(start_module_smart_server: StartSmartServer, paging_seed: Path) -> SmartServer:
    return start_module_smart_server(paging_seed)


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").clear_faults()


@pytest.fixture
def tokens(server: SmartServer) -> dict[str, Any]:
    return obtain_tokens(server.issuer, server.base)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}", **FHIR_JSON}


def token_request(server: SmartServer, **data: str) -> httpx.Response:
    return httpx.post(f"{server.issuer}/token", data={"client_id": CLIENT_ID, **data}, timeout=10)


def refresh(server: SmartServer, refresh_token: str) -> httpx.Response:
    return token_request(server, grant_type="refresh_token", refresh_token=refresh_token)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


@contextmanager
def loopback_listener() -> Iterator[tuple[str, list[str]]]:
    """A one-shot redirect receiver on 127.0.0.1 with an OS-chosen port, like the app's."""
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"You can close this window.")

        def log_message(self, *args: object) -> None:
            pass

    listener = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=listener.handle_request, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.server_port}/callback", received
    finally:
        thread.join(timeout=10)
        listener.server_close()


def search_all(server: SmartServer, tokens: dict[str, Any], url: str) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    next_url: str | None = url
    with httpx.Client(headers=bearer(tokens), timeout=10) as client:
        while next_url:
            bundle = client.get(next_url).raise_for_status().json()
            resources += [entry["resource"] for entry in bundle.get("entry", [])]
            next_url = next((k["url"] for k in bundle["link"] if k["relation"] == "next"), None)
    return resources


# --- discovery ---------------------------------------------------------------------------------


def test_smart_configuration_names_endpoints_s256_and_capabilities(server: SmartServer) -> None:
    config = httpx.get(f"{server.base}/.well-known/smart-configuration").raise_for_status().json()
    assert config["issuer"] == server.issuer
    assert config["authorization_endpoint"] == f"{server.issuer}/auth"
    assert config["token_endpoint"] == f"{server.issuer}/token"
    assert config["revocation_endpoint"] == f"{server.issuer}/token/revocation"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"launch/patient", "offline_access", "patient/*.rs"} <= set(config["scopes_supported"])
    assert {
        "launch-standalone",
        "client-public",
        "context-standalone-patient",
        "permission-offline",
        "permission-patient",
        "permission-v2",
    } <= set(config["capabilities"])


def test_capability_statement_carries_the_oauth_uris_extension(server: SmartServer) -> None:
    response = httpx.get(f"{server.base}/metadata", headers=FHIR_JSON).raise_for_status()
    assert response.headers["content-type"].startswith("application/fhir+json")
    security = response.json()["rest"][0]["security"]
    (oauth,) = [
        e
        for e in security["extension"]
        if e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    ]
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris == {
        "authorize": f"{server.issuer}/auth",
        "token": f"{server.issuer}/token",
        "revoke": f"{server.issuer}/token/revocation",
    }


# --- authorization -----------------------------------------------------------------------------


def test_code_flow_with_pkce_reaches_a_loopback_listener_on_any_port(server: SmartServer) -> None:
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    with loopback_listener() as (redirect_uri, received):
        url = build_authorize_url(
            server.issuer, server.base, redirect_uri, state=state, code_challenge=challenge
        )
        redirect = drive_login(url)
        assert redirect.startswith(redirect_uri + "?")
        httpx.get(redirect, timeout=10).raise_for_status()  # the listener gets the code itself
    assert len(received) == 1
    params = callback_params(received[0])
    assert params["state"] == state
    assert params["iss"] == server.issuer  # RFC 9207

    response = token_request(
        server,
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=redirect_uri,
        code_verifier=verifier,
    )
    tokens = response.raise_for_status().json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["patient"] == server.patient
    assert set(tokens["scope"].split()) == set(DEFAULT_SCOPE.split())
    assert tokens["expires_in"] > 0
    assert tokens["refresh_token"]
    claims = jwt_claims(tokens["id_token"])
    assert claims["iss"] == server.issuer
    assert claims["fhirUser"] == f"{server.base}/Patient/{server.patient}"


@pytest.mark.parametrize(
    ("challenge", "method"),
    [("plain-challenge-" + "x" * 40, "plain"), (None, None)],
    ids=["plain", "missing"],
)
def test_authorization_without_s256_pkce_is_refused(
    server: SmartServer, challenge: str | None, method: str | None
) -> None:
    url = build_authorize_url(
        server.issuer,
        server.base,
        "http://127.0.0.1:40001/callback",
        state="s1",
        code_challenge=challenge,
        code_challenge_method=method,
    )
    params = callback_params(drive_login(url))
    assert params["error"] == "invalid_request"
    assert params["state"] == "s1"
    assert params["iss"] == server.issuer


def test_a_wrong_code_verifier_gets_invalid_grant(server: SmartServer) -> None:
    _verifier, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:40002/callback"
    url = build_authorize_url(
        server.issuer, server.base, redirect_uri, state="s", code_challenge=challenge
    )
    code = callback_params(drive_login(url))["code"]
    response = token_request(
        server,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=pkce_pair()[0],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_an_aud_naming_another_server_is_refused(server: SmartServer) -> None:
    url = build_authorize_url(
        server.issuer,
        server.base,
        "http://127.0.0.1:40003/callback",
        state="s",
        code_challenge=pkce_pair()[1],
        aud="https://elsewhere.example/fhir",
    )
    params = callback_params(drive_login(url))
    assert params["error"] == "invalid_request"
    assert "aud" in params["error_description"]


def test_denying_consent_redirects_with_access_denied(server: SmartServer) -> None:
    url = build_authorize_url(
        server.issuer,
        server.base,
        "http://127.0.0.1:40004/callback",
        state="s2",
        code_challenge=pkce_pair()[1],
    )
    params = callback_params(drive_login(url, approve=False))
    assert params == {
        "error": "access_denied",
        "error_description": params["error_description"],
        "state": "s2",
        "iss": server.issuer,
    }


def test_refresh_rotates_and_a_used_refresh_token_is_refused(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    first = refresh(server, tokens["refresh_token"]).raise_for_status().json()
    assert first["refresh_token"] != tokens["refresh_token"]
    assert first["patient"] == server.patient
    assert "offline_access" in first["scope"].split()
    httpx.get(f"{server.base}/Patient/{server.patient}", headers=bearer(first)).raise_for_status()

    reused = refresh(server, tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_a_revoked_refresh_token_cannot_be_used(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    revoke = httpx.post(
        f"{server.issuer}/token/revocation",
        data={"token": tokens["refresh_token"], "client_id": CLIENT_ID},
    )
    assert revoke.status_code == 200
    assert refresh(server, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_after_expire_access_tokens_the_api_says_401_and_refresh_recovers(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    patient_url = f"{server.base}/Patient/{server.patient}"
    httpx.get(patient_url, headers=bearer(tokens)).raise_for_status()
    assert server.expire_access_tokens() >= 1
    expired = httpx.get(patient_url, headers=bearer(tokens))
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    renewed = refresh(server, tokens["refresh_token"]).raise_for_status().json()
    httpx.get(patient_url, headers=bearer(renewed)).raise_for_status()


def test_no_token_gets_401_with_a_bearer_challenge(server: SmartServer) -> None:
    response = httpx.get(f"{server.base}/Observation", headers=FHIR_JSON)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


# --- FHIR API ----------------------------------------------------------------------------------


def test_search_pages_follow_next_links_to_every_observation(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    first = httpx.get(
        f"{server.base}/Observation",
        params={"patient": server.patient, "_count": 250},
        headers=bearer(tokens),
    ).raise_for_status()
    assert first.headers["content-type"].startswith("application/fhir+json")
    bundle = first.json()
    assert bundle["type"] == "searchset"
    assert bundle["total"] >= 1000
    assert len(bundle["entry"]) == 250
    assert all(link["url"].startswith(server.base) for link in bundle["link"])

    observations = search_all(
        server, tokens, f"{server.base}/Observation?patient={server.patient}&_count=250"
    )
    assert len(observations) == bundle["total"]
    assert len({o["id"] for o in observations}) == len(observations)
    assert {o["subject"]["reference"] for o in observations} == {f"Patient/{server.patient}"}


def test_subject_search_and_read_by_id_agree(server: SmartServer, tokens: dict[str, Any]) -> None:
    bundle = httpx.get(
        f"{server.base}/Condition",
        params={"subject": f"Patient/{server.patient}", "_count": 5},
        headers=bearer(tokens),
    ).raise_for_status()
    condition = bundle.json()["entry"][0]["resource"]
    read = httpx.get(f"{server.base}/Condition/{condition['id']}", headers=bearer(tokens))
    assert read.raise_for_status().json() == condition


def test_last_updated_gt_returns_only_what_changed_since(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    baseline = httpx.get(
        f"{server.base}/Immunization", params={"_count": 1}, headers=bearer(tokens)
    ).raise_for_status()
    since = baseline.json()["meta"]["lastUpdated"]
    changed = baseline.json()["entry"][0]["resource"]
    updated = server.put_resource({**changed, "status": "entered-in-error"})
    assert updated["meta"]["versionId"] == str(int(changed["meta"]["versionId"]) + 1)
    assert updated["meta"]["lastUpdated"] > since
    server.reset_stats()

    newer = search_all(server, tokens, f"{server.base}/Immunization?_lastUpdated=gt{since}")

    assert [(r["id"], r["status"]) for r in newer] == [(changed["id"], "entered-in-error")]
    queries = [r["query"] for r in server.stats()["recent"] if r["path"] == "/fhir/Immunization"]
    assert queries == [f"_lastUpdated=gt{since}"]


def test_another_patients_data_stays_invisible(server: SmartServer, tokens: dict[str, Any]) -> None:
    server.put_resource({"resourceType": "Patient", "id": "someone-else"})
    server.put_resource(
        {
            "resourceType": "AllergyIntolerance",
            "id": "not-yours",
            "patient": {"reference": "Patient/someone-else"},
        }
    )
    headers = bearer(tokens)
    allergies = search_all(server, tokens, f"{server.base}/AllergyIntolerance")
    assert "not-yours" not in {a["id"] for a in allergies}
    other = httpx.get(f"{server.base}/AllergyIntolerance/not-yours", headers=headers)
    assert other.status_code == 403
    asked = httpx.get(f"{server.base}/AllergyIntolerance?patient=someone-else", headers=headers)
    assert asked.status_code == 403
    assert httpx.get(f"{server.base}/Patient/someone-else", headers=headers).status_code == 403
    assert server.delete_resource("AllergyIntolerance", "not-yours")


def test_binary_is_served_raw_unless_fhir_json_is_asked_for(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    content = b"%PDF-1.4 letter from the clinic"
    server.put_resource(
        {
            "resourceType": "Binary",
            "id": "letter",
            "contentType": "application/pdf",
            "securityContext": {"reference": f"Patient/{server.patient}"},
            "data": base64.b64encode(content).decode(),
        }
    )
    raw = httpx.get(
        f"{server.base}/Binary/letter",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "Accept": "*/*"},
    ).raise_for_status()
    assert raw.headers["content-type"] == "application/pdf"
    assert raw.content == content
    as_json = httpx.get(f"{server.base}/Binary/letter", headers=bearer(tokens)).raise_for_status()
    assert as_json.json()["resourceType"] == "Binary"


def test_a_type_outside_the_granted_scopes_gets_403(server: SmartServer) -> None:
    narrow = obtain_tokens(
        server.issuer, server.base, scope="launch/patient patient/Observation.rs"
    )
    assert narrow["scope"] == "launch/patient patient/Observation.rs"
    assert "refresh_token" not in narrow
    ok = httpx.get(f"{server.base}/Observation?_count=1", headers=bearer(narrow))
    assert ok.status_code == 200
    refused = httpx.get(f"{server.base}/Condition", headers=bearer(narrow))
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"


# --- injected faults ---------------------------------------------------------------------------


def test_a_refused_type_always_gets_403(server: SmartServer, tokens: dict[str, Any]) -> None:
    server.faults(refuse_type="Immunization", status=403)
    for _ in range(2):
        response = httpx.get(f"{server.base}/Immunization", headers=bearer(tokens))
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"
    assert httpx.get(f"{server.base}/Condition", headers=bearer(tokens)).status_code == 200


def test_a_429_fault_carries_retry_after_for_count_requests(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    server.faults(status=429, count=2, retry_after=1, path_prefix="/fhir/Observation")
    url = f"{server.base}/Observation?_count=1"
    for _ in range(2):
        throttled = httpx.get(url, headers=bearer(tokens))
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "1"
        assert throttled.json()["issue"][0]["code"] == "throttled"
    assert httpx.get(url, headers=bearer(tokens)).status_code == 200


def test_a_5xx_fault_has_an_operation_outcome(server: SmartServer, tokens: dict[str, Any]) -> None:
    server.faults(status=503, count=1)
    response = httpx.get(f"{server.base}/Condition", headers=bearer(tokens))
    assert response.status_code == 503
    assert response.json()["issue"][0]["code"] == "transient"


def test_drop_after_requests_cuts_connections_until_cleared(
    server: SmartServer, tokens: dict[str, Any]
) -> None:
    server.faults(drop_after_requests=1)
    url = f"{server.base}/Patient/{server.patient}"
    assert httpx.get(url, headers=bearer(tokens)).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(url, headers=bearer(tokens))
    server.clear_faults()
    assert httpx.get(url, headers=bearer(tokens)).status_code == 200


# --- options -----------------------------------------------------------------------------------


def test_v1_server_without_smart_config_pkce_or_rotation(
    start_smart_server: StartSmartServer, synthea_seed: Path
) -> None:
    old = start_smart_server(
        synthea_seed, smart_version="v1", smart_config=False, pkce=False, rotate_refresh=False
    )
    assert httpx.get(f"{old.base}/.well-known/smart-configuration").status_code == 404
    metadata = httpx.get(f"{old.base}/metadata").raise_for_status().json()
    assert metadata["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"].endswith(
        "/oidc/auth"
    )

    redirect_uri = "http://127.0.0.1:40005/callback"
    scope = "launch/patient openid offline_access patient/*.read"
    url = build_authorize_url(
        old.issuer, old.base, redirect_uri, scope=scope, state="s", code_challenge=None
    )
    code = callback_params(drive_login(url))["code"]
    tokens = token_request(
        old, grant_type="authorization_code", code=code, redirect_uri=redirect_uri
    )
    tokens_json = tokens.raise_for_status().json()
    assert tokens_json["scope"] == scope
    httpx.get(f"{old.base}/Observation?_count=1", headers=bearer(tokens_json)).raise_for_status()
    # Without rotation the same refresh token keeps working.
    for _ in range(2):
        again = refresh(old, tokens_json["refresh_token"]).raise_for_status().json()
        assert (
            again.get("refresh_token", tokens_json["refresh_token"]) == tokens_json["refresh_token"]
        )
