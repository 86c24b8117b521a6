"""Epic-style dynamic client registration against the real SMART server (dynamic_registration):
the device key is registered at connect, kept only in the vault, and renews the sign-in with the
JWT bearer grant once access and refresh tokens are gone; the server refuses forged assertions."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.smart.dynamic_registration import (
    JWT_BEARER_GRANT,
    DeviceRegistration,
    build_assertion,
    generate_device_key,
    public_jwks,
)
from tests.conftest import PASSPHRASE
from tests.e2e.smart_login import CLIENT_ID, drive_login, obtain_tokens

NAME = "Local Epic-style"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _browser() -> Callable[[str], None]:
    """The system browser: signs in on the server's pages, then calls the app's loopback."""

    def open_url(url: str) -> None:
        httpx.get(drive_login(url), timeout=10)

    return open_url


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("e2e-dcr", PASSPHRASE)
    with session:
        yield session


def _connect(session: Session, server: Any) -> Any:
    return session.connections.connect(
        server.base, client_id=CLIENT_ID, name=NAME, open_url=_browser(), timeout=30
    )


def _row(session: Session) -> tuple[Any, ...]:
    row: tuple[Any, ...] = session.vault.conn.execute(
        "SELECT c.dynamic_client_id, c.device_key, c.last_error, c.status, t.access_token, "
        "t.refresh_token FROM connections c JOIN tokens t ON t.connection_id = c.id"
    ).fetchone()
    return row


def _smart_config(server: Any) -> dict[str, Any]:
    config: dict[str, Any] = httpx.get(
        f"{server.base}/.well-known/smart-configuration", timeout=10
    ).json()
    return config


def _jwt_bearer(token_endpoint: str, assertion: str, client_id: str) -> httpx.Response:
    return httpx.post(
        token_endpoint,
        data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "client_id": client_id},
        timeout=10,
    )


def _files_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def _b64url_int(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_connect_registers_a_device_key_kept_only_in_the_vault_and_sync_works(
    profile: Session, data_dir: Path, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, dynamic_registration=True)
    config = _smart_config(server)
    assert config["registration_endpoint"] == f"{server.issuer}/register"
    assert JWT_BEARER_GRANT in config["grant_types_supported"]

    connection = _connect(profile, server)
    dynamic_client_id, device_key, last_error, status, _access, refresh = _row(profile)
    (registered,) = server.dynamic_clients()
    assert connection.dynamic_client_id == dynamic_client_id == registered["clientId"]
    assert registered["softwareId"] == CLIENT_ID and last_error is None and status == "active"
    private = json.loads(device_key)
    assert private["kty"] == "RSA" and private["alg"] == "RS384"
    assert all(member in private for member in PRIVATE_MEMBERS)
    (public,) = registered["jwks"]["keys"]  # what the server received: the public half only
    assert not set(PRIVATE_MEMBERS) & set(public)
    assert (public["n"], public["e"], public["kid"]) == (private["n"], private["e"], private["kid"])
    assert refresh  # still kept: the normal connection stays intact beside the device key
    assert "device_key" not in repr(connection) and private["d"] not in repr(connection)

    report = profile.connections.sync()[NAME]
    assert not report.failed and report.counts.new > 0

    # No private key material anywhere on disk outside the encrypted vault's pages.
    secrets = [private[m] for m in PRIVATE_MEMBERS]
    needles = [s.encode() for s in secrets] + [_b64url_int(s) for s in secrets]
    for path, content in _files_under(data_dir):
        for needle in needles:
            assert needle not in content, f"device key material in clear in {path.name}"


def test_with_access_and_refresh_tokens_gone_sync_renews_with_the_device_key(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, dynamic_registration=True)
    _connect(profile, server)
    profile.connections.sync()
    _, _, _, _, access_before, refresh_before = _row(profile)
    assert server.expire_access_tokens() >= 1
    assert server.expire_refresh_tokens() >= 1  # a refresh could no longer succeed
    server.reset_stats()

    report = profile.connections.sync()[NAME]
    assert not report.failed and not report.reconnect_needed, report.outcomes
    _, _, last_error, status, access_after, refresh_after = _row(profile)
    assert status == "active" and last_error is None
    assert access_after != access_before  # renewed, and stored
    assert refresh_after == refresh_before  # the refresh token was not used
    recent = server.stats()["recent"]
    assert [r["status"] for r in recent if r["path"] == "/oidc/token"] == [200]
    # The new token belongs to the dynamic client and reads the patient's data.
    patient = httpx.get(
        f"{server.base}/Patient/{server.patient}",
        headers={"Authorization": f"Bearer {access_after}"},
        timeout=10,
    )
    assert patient.status_code == 200


def test_tokens_about_to_expire_are_renewed_ahead_with_the_device_key(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, dynamic_registration=True, access_ttl=30)
    _connect(profile, server)
    server.expire_refresh_tokens()
    server.reset_stats()
    report = profile.connections.sync()[NAME]
    assert not report.failed
    statuses = [r["status"] for r in server.stats()["recent"] if r["path"].startswith("/fhir")]
    assert 401 not in statuses  # renewed before use, not after a refusal


def test_a_refused_device_key_marks_the_connection_expired_and_keeps_the_data(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, dynamic_registration=True)
    _connect(profile, server)
    profile.connections.sync()
    records = sum(profile.counts_by_kind().values())
    profile.vault.conn.execute("UPDATE connections SET dynamic_client_id = 'unknown-client'")
    server.expire_access_tokens()
    report = profile.connections.sync()[NAME]
    assert report.reconnect_needed
    assert _row(profile)[3] == "expired"
    assert sum(profile.counts_by_kind().values()) == records


def test_a_failed_registration_keeps_the_refresh_token_connection_and_says_so(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, dynamic_registration=True)
    server.faults(status=503, count=1, path_prefix="/oidc/register")
    connection = _connect(profile, server)
    dynamic_client_id, device_key, last_error, status, _, refresh_before = _row(profile)
    assert connection.dynamic_client_id is None and dynamic_client_id is None
    assert device_key is None and status == "active"
    assert "503" in last_error and "refresh token" in last_error
    assert server.dynamic_clients() == []
    server.expire_access_tokens()
    report = profile.connections.sync()[NAME]
    assert not report.failed
    assert _row(profile)[5] != refresh_before  # renewed by the (rotated) refresh token


def test_without_the_option_the_connection_uses_refresh_tokens_as_before(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    config = _smart_config(server)
    assert "registration_endpoint" not in config
    assert JWT_BEARER_GRANT not in config["grant_types_supported"]
    assert httpx.post(f"{server.issuer}/register", json={}, timeout=10).status_code == 404
    connection = _connect(profile, server)
    dynamic_client_id, device_key, last_error, _, _, refresh_before = _row(profile)
    assert (connection.dynamic_client_id, dynamic_client_id, device_key) == (None, None, None)
    assert last_error is None
    server.expire_access_tokens()
    report = profile.connections.sync()[NAME]
    assert not report.failed
    assert _row(profile)[5] != refresh_before  # refreshed and rotated, as before


# --- the server's side, tested directly ------------------------------------------------------


@pytest.fixture(scope="module")
def registered_server(
    start_module_smart_server, synthea_seed: Path
) -> tuple[Any, dict[str, Any], RSAKey, str]:  # type: ignore[no-untyped-def]
    """A server with one device key registered by hand: (server, smart config, key, client id)."""
    server = start_module_smart_server(synthea_seed, dynamic_registration=True)
    config = _smart_config(server)
    tokens = obtain_tokens(server.issuer, server.base)
    key = generate_device_key()
    response = httpx.post(
        config["registration_endpoint"],
        json={"software_id": CLIENT_ID, "jwks": public_jwks(key)},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return server, config, key, response.json()["client_id"]


def _claims(client_id: str, token_endpoint: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": client_id, "sub": client_id, "aud": token_endpoint, "jti": str(uuid.uuid4()),
        "iat": now, "nbf": now, "exp": now + 240,
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(key: RSAKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS384", "typ": "JWT", "kid": key.kid}, claims, key, ["RS384"])


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def test_the_genuine_assertion_gets_a_token_for_the_patient_once(registered_server) -> None:  # type: ignore[no-untyped-def]
    server, config, key, client_id = registered_server
    device = DeviceRegistration(client_id, json.dumps(key.as_dict(private=True)))
    assertion = build_assertion(device, config["token_endpoint"])
    granted = _jwt_bearer(config["token_endpoint"], assertion, client_id)
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["patient"] == server.patient and body["expires_in"] > 0
    assert "patient/*.rs" in body["scope"].split() and "offline_access" not in body["scope"]
    assert "refresh_token" not in body
    replay = _jwt_bearer(config["token_endpoint"], assertion, client_id)
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]


@pytest.mark.parametrize(
    ("forge", "why"),
    [
        ("other_key", "signature"),
        ("hs256_with_public_key", "alg"),
        ("alg_none", "alg"),
        ("wrong_iss", "iss"),
        ("wrong_sub", "sub"),
        ("wrong_aud", "aud"),
        ("expired", "expired"),
        ("exp_too_far", "at most 300"),
        ("no_exp", "exp"),
        ("no_jti", "jti"),
    ],
)
def test_a_forged_or_malformed_assertion_is_refused(
    registered_server, forge: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    _server, config, key, client_id = registered_server
    endpoint = config["token_endpoint"]
    now = int(time.time())
    if forge == "other_key":
        assertion = _signed(generate_device_key(), _claims(client_id, endpoint))
    elif forge == "hs256_with_public_key":
        secret = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
        claims = _claims(client_id, endpoint)
        assertion = jwt.encode({"alg": "HS256"}, claims, secret, ["HS256"])
    elif forge == "alg_none":
        assertion = _unsigned(_claims(client_id, endpoint))
    else:
        changes = {
            "wrong_iss": {"iss": "someone-else"},
            "wrong_sub": {"sub": "someone-else"},
            "wrong_aud": {"aud": f"{endpoint}/elsewhere"},
            "expired": {"iat": now - 600, "nbf": now - 600, "exp": now - 300},
            "exp_too_far": {"exp": now + 3600},
            "no_exp": {"exp": None},
            "no_jti": {"jti": None},
        }[forge]
        assertion = _signed(key, _claims(client_id, endpoint, **changes))
    refused = _jwt_bearer(endpoint, assertion, client_id)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
    assert why in refused.json()["error_description"]


def test_the_original_client_cannot_use_the_jwt_bearer_grant(registered_server) -> None:  # type: ignore[no-untyped-def]
    _server, config, key, client_id = registered_server
    assertion = _signed(key, _claims(client_id, config["token_endpoint"]))
    refused = _jwt_bearer(config["token_endpoint"], assertion, CLIENT_ID)
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("no_bearer", 401, "invalid_token"),
        ("bad_bearer", 401, "invalid_token"),
        ("private_key_sent", 400, "invalid_client_metadata"),
        ("small_key", 400, "invalid_client_metadata"),
        ("other_software_id", 400, "invalid_software_statement"),
        ("no_keys", 400, "invalid_client_metadata"),
    ],
)
def test_the_registration_endpoint_wants_a_valid_token_and_a_public_key_only(
    registered_server, case: str, status: int, error: str
) -> None:  # type: ignore[no-untyped-def]
    server, config, _key, _client_id = registered_server
    before = len(server.dynamic_clients())
    key = generate_device_key()
    body: dict[str, Any] = {"software_id": CLIENT_ID, "jwks": public_jwks(key)}
    headers = {}
    if case != "no_bearer":
        token = "not-a-token" if case == "bad_bearer" else obtain_tokens(server.issuer, server.base)
        headers["Authorization"] = (
            f"Bearer {token if isinstance(token, str) else token['access_token']}"
        )
    if case == "private_key_sent":
        body["jwks"] = {"keys": [key.as_dict(private=True)]}
    elif case == "small_key":
        numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
        body["jwks"] = {"keys": [{"kty": "RSA", "n": _b64url(numbers.n), "e": _b64url(numbers.e)}]}
    elif case == "other_software_id":
        body["software_id"] = "another-app"
    elif case == "no_keys":
        body["jwks"] = {"keys": []}
    response = httpx.post(config["registration_endpoint"], json=body, headers=headers, timeout=10)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert len(server.dynamic_clients()) == before  # nothing registered
