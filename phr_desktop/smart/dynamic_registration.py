"""Epic-style offline access: register a per-connection device key after sign-in (RFC 7591), then
renew access tokens with a JWT signed by that key (RFC 7523 JWT bearer grant), not a refresh token.

JOSE through joserfc (authlib's own successor; authlib.jose is deprecated). The private key is
returned as JWK JSON for the vault to keep; it is never sent anywhere.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from phr_desktop.smart.discovery import SmartConfiguration
from phr_desktop.smart.errors import AuthorizationError, SyncError
from phr_desktop.smart.oauth import TokenSet, token_request, token_set_from_response
from phr_desktop.smart.url_rules import require_secure

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SIGNING_ALG = "RS384"  # what Epic accepts for device keys
RSA_BITS = 2048
ASSERTION_LIFETIME = 240  # seconds; Epic refuses an exp more than 5 minutes ahead
JTI_CHARS = 43  # ≈ 256 bits from authlib's 62-symbol alphabet
# A refused assertion means the registration is gone (invalid_grant) or the dynamic client is
# unknown (invalid_client): either way only a new sign-in helps.
EXPIRED_ERRORS = frozenset({"invalid_grant", "invalid_client"})


class RegistrationError(SyncError):
    """The provider did not register the device key; the connection keeps its refresh token."""


@dataclass(frozen=True)
class DeviceRegistration:
    """A dynamic client: its id at the provider and the private JWK (JSON) that signs for it."""

    client_id: str
    private_jwk: str = field(repr=False)


def offers_dynamic_registration(config: SmartConfiguration) -> bool:
    return bool(config.registration_endpoint) and JWT_BEARER_GRANT in config.grant_types_supported


def generate_device_key() -> RSAKey:
    """A fresh RSA signing key; its `kid` is the RFC 7638 thumbprint."""
    return RSAKey.generate_key(
        RSA_BITS, parameters={"alg": SIGNING_ALG, "use": "sig"}, private=True, auto_kid=True
    )


def public_jwks(key: RSAKey) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False)]}


def _load_key(private_jwk: str) -> RSAKey:
    key = RSAKey.import_key(json.loads(private_jwk))
    if not key.is_private:
        raise ValueError("the stored device key has no private part")
    return key


def register_device(
    http: httpx.Client,
    config: SmartConfiguration,
    software_id: str,
    access_token: str,
    key: RSAKey | None = None,
) -> DeviceRegistration:
    """Register the device's public key under the app's client id; RegistrationError if refused."""
    if not config.registration_endpoint:
        raise RegistrationError("The provider offers no registration endpoint.")
    require_secure(config.registration_endpoint, "registration service")
    key = key or generate_device_key()
    try:
        response = http.post(
            config.registration_endpoint,
            json={"software_id": software_id, "jwks": public_jwks(key)},
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            follow_redirects=False,  # the access token goes to the registration endpoint only
        )
    except httpx.HTTPError as exc:
        raise RegistrationError(
            f"the provider's registration service could not be reached ({exc.__class__.__name__})"
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code not in (200, 201):
        error = data.get("error") if isinstance(data, dict) else None
        raise RegistrationError(
            f"the provider's registration service refused it ({response.status_code}"
            f"{': ' + str(error) if error else ''})"
        )
    client_id = data.get("client_id") if isinstance(data, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("the provider's registration answer has no client_id")
    return DeviceRegistration(client_id, json.dumps(key.as_dict(private=True)))


def build_assertion(
    registration: DeviceRegistration,
    token_endpoint: str,
    now: float | None = None,
    lifetime: int = ASSERTION_LIFETIME,
) -> str:
    """The JWT for one token request: iss = sub = the dynamic client id, aud = the token
    endpoint, a fresh jti, exp within five minutes; signed RS384 with the device key."""
    key = _load_key(registration.private_jwk)
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": registration.client_id,
        "sub": registration.client_id,
        "aud": token_endpoint,
        "jti": generate_token(JTI_CHARS),
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
    }
    header = {"alg": SIGNING_ALG, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALG])


def token_with_device_key(
    http: httpx.Client,
    config: SmartConfiguration,
    registration: DeviceRegistration,
    previous: TokenSet | None = None,
) -> TokenSet:
    """A new access token by the JWT bearer grant; TokenExpired once the provider refuses it."""
    try:
        assertion = build_assertion(registration, config.token_endpoint)
    except (ValueError, TypeError, JoseError) as exc:
        raise AuthorizationError(
            f"This connection's stored device key cannot be used ({exc.__class__.__name__}); "
            "reconnect to register a new one."
        ) from None
    data = token_request(
        http,
        config.token_endpoint,
        {
            "grant_type": JWT_BEARER_GRANT,
            "assertion": assertion,
            "client_id": registration.client_id,
        },
        expired_errors=EXPIRED_ERRORS,
    )
    return token_set_from_response(data, previous=previous)
