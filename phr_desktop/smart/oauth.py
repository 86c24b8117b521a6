"""SMART standalone patient launch: authorization code + PKCE S256, and token refresh.

Built on authlib's OAuth 2 primitives (grant URI, PKCE challenge, token parsing); HTTP goes
through the caller's httpx client.
"""

from __future__ import annotations

import hmac
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from phr_desktop.smart.discovery import SmartConfiguration
from phr_desktop.smart.errors import AuthorizationError, TokenExpired
from phr_desktop.smart.loopback import LoopbackListener
from phr_desktop.smart.url_rules import require_secure

SHOWN_TEXT_CHARS = 200  # of a provider's error_description, in a message
STATE_CHARS = 43  # ≈ 256 bits from authlib's 62-symbol alphabet (≥ 128 bits required)
VERIFIER_CHARS = 64


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    scope: str
    patient: str | None
    id_token: str | None = None

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - (now if now is not None else time.time()) <= seconds


def token_set_from_response(data: dict[str, Any], previous: TokenSet | None = None) -> TokenSet:
    """Parse a token response; a refresh may omit fields that then stay as they were."""
    if not isinstance(data.get("access_token"), str):
        raise AuthorizationError("The server's token response has no access token.")
    expires_in = data.get("expires_in")
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token") or (previous.refresh_token if previous else None),
        expires_at=time.time() + float(expires_in) if isinstance(expires_in, int | float) else None,
        scope=str(data.get("scope") or (previous.scope if previous else "")),
        patient=data.get("patient") or (previous.patient if previous else None),
        id_token=data.get("id_token") or (previous.id_token if previous else None),
    )


def shown_text(value: str, limit: int = SHOWN_TEXT_CHARS) -> str:
    """Text from the network made safe to show: no control or format characters (newlines
    that forge message lines, bidi overrides that reverse them), spaces collapsed, cut short."""
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith("C") else ch for ch in value[: limit * 4]
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class PendingAuthorization:
    url: str
    state: str
    code_verifier: str
    redirect_uri: str


def build_authorization(
    config: SmartConfiguration, client_id: str, fhir_base: str, scope: str, redirect_uri: str
) -> PendingAuthorization:
    require_secure(config.authorization_endpoint, "sign-in page")
    state = generate_token(STATE_CHARS)
    verifier = generate_token(VERIFIER_CHARS)
    url = prepare_grant_uri(
        config.authorization_endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        aud=fhir_base,
    )
    return PendingAuthorization(url, state, verifier, redirect_uri)


def check_callback(
    params: dict[str, str], pending: PendingAuthorization, config: SmartConfiguration
) -> str:
    """The authorization code, after checking state, errors and iss (RFC 9207)."""
    if not hmac.compare_digest(params.get("state", ""), pending.state):
        raise AuthorizationError(
            "The sign-in answer did not match the request (wrong state), so it was ignored. "
            "Start connecting again; if this repeats, something may be interfering."
        )
    if "error" in params:
        if params["error"] == "access_denied":
            raise AuthorizationError(
                "Access was not granted at the provider's page. Nothing was stored."
            )
        detail = shown_text(params.get("error_description") or "") or shown_text(params["error"])
        raise AuthorizationError(
            f"The provider refused the sign-in: {detail or 'no reason given'}. Nothing was stored."
        )
    issuer = params.get("iss")
    if issuer is not None and config.issuer is not None and issuer != config.issuer:
        raise AuthorizationError(
            f"The sign-in answer came from an unexpected issuer ({shown_text(issuer)}); it was "
            "ignored."
        )
    code = params.get("code")
    if not code:
        raise AuthorizationError("The sign-in answer had no authorization code. Try again.")
    return code


def token_request(
    client: httpx.Client,
    endpoint: str,
    form: dict[str, str],
    expired_errors: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """POST a token request; an OAuth error in `expired_errors` means the patient must reconnect."""
    require_secure(endpoint, "token service")
    try:
        # Never redirected: a 307 would re-send the code, verifier or refresh token elsewhere.
        response = client.post(
            endpoint, data=form, headers={"Accept": "application/json"}, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise AuthorizationError(
            f"Could not reach the provider's token service ({exc.__class__.__name__}). Try again."
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        error = data.get("error") if isinstance(data, dict) else None
        if error in expired_errors:
            raise TokenExpired(
                "The provider no longer accepts this connection's sign-in. Reconnect to go on "
                "syncing; your records are kept."
            )
        raise AuthorizationError(
            f"The provider's token service refused the request ({response.status_code}"
            f"{': ' + error if error else ''})."
        )
    if not isinstance(data, dict):
        raise AuthorizationError("The provider's token service answered with something unreadable.")
    return data


def exchange_code(
    client: httpx.Client,
    config: SmartConfiguration,
    client_id: str,
    code: str,
    pending: PendingAuthorization,
) -> TokenSet:
    data = token_request(
        client,
        config.token_endpoint,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "client_id": client_id,
            "code_verifier": pending.code_verifier,
        },
    )
    return token_set_from_response(data)


def refresh(
    client: httpx.Client, config: SmartConfiguration, client_id: str, tokens: TokenSet
) -> TokenSet:
    if not tokens.refresh_token:
        raise TokenExpired(
            "This connection's access has expired and the provider gave no way to renew it. "
            "Reconnect to go on syncing; your records are kept."
        )
    data = token_request(
        client,
        config.token_endpoint,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": client_id,
        },
        expired_errors=frozenset({"invalid_grant"}),
    )
    return token_set_from_response(data, previous=tokens)


def authorize(
    client: httpx.Client,
    config: SmartConfiguration,
    client_id: str,
    fhir_base: str,
    scope: str,
    open_url: Callable[[str], object],
    timeout: float = 300.0,
    cancelled: threading.Event | None = None,
) -> TokenSet:
    """The whole sign-in: open the provider's page, take one callback, exchange the code."""
    with LoopbackListener() as listener:
        pending = build_authorization(config, client_id, fhir_base, scope, listener.redirect_uri)
        listener.expect_state(pending.state)  # any other callback is answered and ignored
        open_url(pending.url)
        params = listener.wait(timeout, cancelled)
        ignored = listener.ignored
    if params is None:
        if cancelled is not None and cancelled.is_set():
            raise AuthorizationError("Sign-in was cancelled. Nothing was stored.")
        stray = (
            f" {ignored} answer(s) that did not match this sign-in (wrong state) were ignored."
            if ignored
            else ""
        )
        raise AuthorizationError(
            f"No answer from the provider's sign-in page within {timeout:.0f} s.{stray} Nothing "
            "was stored; start connecting again when ready."
        )
    code = check_callback(params, pending, config)
    return exchange_code(client, config, client_id, code, pending)
