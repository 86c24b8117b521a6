"""Device-key registration and the JWT bearer grant without a server: the assertion's claims and
signature checked with jwcrypto (an independent JOSE library), and the HTTP exchanges against
httpx mock transports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto import jwt as jc_jwt

from phr_desktop.smart.discovery import SmartConfiguration, discover
from phr_desktop.smart.dynamic_registration import (
    ASSERTION_LIFETIME,
    JWT_BEARER_GRANT,
    DeviceRegistration,
    RegistrationError,
    build_assertion,
    generate_device_key,
    offers_dynamic_registration,
    public_jwks,
    register_device,
    token_with_device_key,
)
from phr_desktop.smart.errors import AuthorizationError, TokenExpired
from phr_desktop.smart.fhir_client import TokenKeeper
from phr_desktop.smart.oauth import TokenSet

TOKEN_ENDPOINT = "https://ehr.example/oauth2/token"
CONFIG = SmartConfiguration(
    "https://ehr.example/oauth2/authorize",
    TOKEN_ENDPOINT,
    code_challenge_methods=("S256",),
    registration_endpoint="https://ehr.example/oauth2/register",
    grant_types_supported=("authorization_code", "refresh_token", JWT_BEARER_GRANT),
)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


@pytest.fixture(scope="module")
def device() -> DeviceRegistration:
    key = generate_device_key()
    return DeviceRegistration("dyn-client-1", json.dumps(key.as_dict(private=True)))


def _public(device: DeviceRegistration) -> jc_jwk.JWK:
    private = json.loads(device.private_jwk)
    return jc_jwk.JWK(**{k: v for k, v in private.items() if k not in PRIVATE_MEMBERS})


def _http(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_the_assertion_carries_the_claims_epic_asks_for_and_verifies_with_the_device_key(
    device: DeviceRegistration,
) -> None:
    before = int(time.time())
    assertion = build_assertion(device, TOKEN_ENDPOINT)
    checked = jc_jwt.JWT(
        jwt=assertion,
        key=_public(device),
        algs=["RS384"],
        check_claims={"iss": "dyn-client-1", "sub": "dyn-client-1", "aud": TOKEN_ENDPOINT},
    )
    claims = json.loads(checked.claims)
    header = json.loads(checked.header)
    assert header == {"alg": "RS384", "typ": "JWT", "kid": _public(device).thumbprint()}
    assert claims["iss"] == claims["sub"] == "dyn-client-1"
    assert claims["aud"] == TOKEN_ENDPOINT
    assert before <= claims["iat"] == claims["nbf"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME <= 300  # Epic: at most 5 minutes
    assert len(claims["jti"]) >= 32
    assert set(claims) == {"iss", "sub", "aud", "jti", "iat", "nbf", "exp"}


def test_every_assertion_has_a_fresh_jti(device: DeviceRegistration) -> None:
    jtis = set()
    for _ in range(20):
        token = jc_jwt.JWT(jwt=build_assertion(device, TOKEN_ENDPOINT), key=_public(device))
        jtis.add(json.loads(token.claims)["jti"])
    assert len(jtis) == 20


def test_the_assertion_does_not_verify_with_another_key(device: DeviceRegistration) -> None:
    other = jc_jwk.JWK.generate(kty="RSA", size=2048)
    with pytest.raises(jc_jws.InvalidJWSSignature):
        jc_jwt.JWT(jwt=build_assertion(device, TOKEN_ENDPOINT), key=other, algs=["RS384"])


def test_an_assertion_from_the_past_is_seen_as_expired_by_an_independent_check(
    device: DeviceRegistration,
) -> None:
    old = build_assertion(device, TOKEN_ENDPOINT, now=time.time() - 3600)
    with pytest.raises(jc_jwt.JWTExpired):
        jc_jwt.JWT(jwt=old, key=_public(device), algs=["RS384"], check_claims={"exp": None})


def test_the_device_key_is_rs384_rsa_2048_and_only_its_public_half_is_sent() -> None:
    key = generate_device_key()
    sent = public_jwks(key)["keys"]
    assert len(sent) == 1
    assert sent[0]["kty"] == "RSA" and sent[0]["alg"] == "RS384" and sent[0]["use"] == "sig"
    assert not PRIVATE_MEMBERS & set(sent[0])
    independent = jc_jwk.JWK(**sent[0])
    assert not independent.has_private
    assert independent.thumbprint() == sent[0]["kid"]
    n = jc_jwk.base64url_decode(sent[0]["n"])
    assert len(n) * 8 == 2048


def test_registration_posts_software_id_and_public_jwks_with_the_access_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"client_id": "dyn-42", "software_id": "app"})

    key = generate_device_key()
    with _http(handler) as http:
        registration = register_device(http, CONFIG, "app", "access-123", key=key)
    (request,) = seen
    assert str(request.url) == CONFIG.registration_endpoint
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer access-123"
    body = json.loads(request.content)
    assert body == {"software_id": "app", "jwks": public_jwks(key)}
    assert registration.client_id == "dyn-42"
    private = json.loads(registration.private_jwk)
    assert set(private) >= PRIVATE_MEMBERS and private["kid"] == key.kid
    assert "private_jwk" not in repr(registration) and private["d"] not in repr(registration)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, {"error": "invalid_token"}, "401: invalid_token"),
        (500, None, "500"),
        (201, {"software_id": "app"}, "no client_id"),
        (200, ["not", "an", "object"], "no client_id"),
    ],
)
def test_a_refused_or_odd_registration_raises_a_registration_error(
    status: int, body: object, message: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    with _http(handler) as http, pytest.raises(RegistrationError, match=message):
        register_device(http, CONFIG, "app", "access-123")


def test_registration_that_cannot_reach_the_server_raises_a_registration_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _http(handler) as http, pytest.raises(RegistrationError, match="ConnectError"):
        register_device(http, CONFIG, "app", "access-123")


def test_the_jwt_bearer_grant_sends_the_assertion_and_keeps_what_the_answer_omits(
    device: DeviceRegistration,
) -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(
            200, json={"access_token": "new", "expires_in": 600, "scope": "patient/*.rs"}
        )

    previous = TokenSet("old", "refresh-1", time.time() - 1, "patient/*.rs", "p1", "id-1")
    with _http(handler) as http:
        tokens = token_with_device_key(http, CONFIG, device, previous)
    (form,) = forms
    assert form["grant_type"] == JWT_BEARER_GRANT
    assert form["client_id"] == "dyn-client-1"
    assert set(form) == {"grant_type", "assertion", "client_id"}
    jc_jwt.JWT(jwt=form["assertion"], key=_public(device), algs=["RS384"])
    assert tokens.access_token == "new" and tokens.patient == "p1"
    assert tokens.refresh_token == "refresh-1"  # untouched: the device key renews instead
    assert tokens.expires_at is not None and tokens.expires_at > time.time() + 500


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_client"])
def test_a_refused_assertion_means_reconnecting(device: DeviceRegistration, error: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400 if error == "invalid_grant" else 401, json={"error": error})

    with _http(handler) as http, pytest.raises(TokenExpired, match="Reconnect"):
        token_with_device_key(http, CONFIG, device)


def test_an_unreadable_stored_key_is_reported_not_crashed_on() -> None:
    broken = DeviceRegistration("dyn", '{"kty": "RSA", "n": "AQAB"}')
    with _http(lambda r: httpx.Response(500)) as http, pytest.raises(AuthorizationError):
        token_with_device_key(http, CONFIG, broken)


def test_a_public_only_stored_key_cannot_sign(device: DeviceRegistration) -> None:
    public = {k: v for k, v in json.loads(device.private_jwk).items() if k not in PRIVATE_MEMBERS}
    with _http(lambda r: httpx.Response(500)) as http, pytest.raises(AuthorizationError):
        token_with_device_key(http, CONFIG, DeviceRegistration("dyn", json.dumps(public)))


def test_discovery_reads_the_registration_endpoint_and_grant_types() -> None:
    well_known = {
        "authorization_endpoint": "https://ehr.example/a",
        "token_endpoint": "https://ehr.example/t",
        "code_challenge_methods_supported": ["S256"],
        "registration_endpoint": "https://ehr.example/oauth2/register",
        "grant_types_supported": ["authorization_code", JWT_BEARER_GRANT, 7],
    }
    with _http(lambda r: httpx.Response(200, json=well_known)) as http:
        config = discover(http, "https://ehr.example/fhir")
    assert config.registration_endpoint == "https://ehr.example/oauth2/register"
    assert config.grant_types_supported == ("authorization_code", JWT_BEARER_GRANT)
    assert offers_dynamic_registration(config)


@pytest.mark.parametrize(
    ("endpoint", "grants"),
    [(None, (JWT_BEARER_GRANT,)), ("https://ehr.example/r", ("refresh_token",)), (None, ())],
)
def test_without_both_an_endpoint_and_the_grant_there_is_no_registration(
    endpoint: str | None, grants: tuple[str, ...]
) -> None:
    config = SmartConfiguration(
        "a", "t", registration_endpoint=endpoint, grant_types_supported=grants
    )
    assert not offers_dynamic_registration(config)


def test_a_device_key_keeper_renews_ahead_of_expiry_without_a_refresh_token() -> None:
    expiring = TokenSet("old", None, time.time() + 10, "patient/*.rs", "p1")
    renewed: list[str] = []

    def renew(old: TokenSet) -> TokenSet:
        renewed.append(old.access_token)
        return TokenSet("new", None, time.time() + 3600, old.scope, old.patient)

    TokenKeeper(expiring, renew).refresh_if_expiring()
    assert renewed == []  # no refresh token and no device key: nothing to renew with
    keeper = TokenKeeper(expiring, renew, renews_without_refresh_token=True)
    keeper.refresh_if_expiring()
    assert renewed == ["old"] and keeper.current.access_token == "new"
