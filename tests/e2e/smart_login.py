"""Plays the patient in the browser against the test SMART server's login and consent pages.

`drive_login` stops at the redirect to the app's loopback redirect_uri and returns it unrequested,
so the app's own listener is the one that receives the code. `obtain_tokens` is a complete,
hand-rolled PKCE code flow for tests that need a token without going through the app.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

CLIENT_ID = "phr-desktop-test"
DEFAULT_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_STEPS = 20


class LoginError(AssertionError):
    """The server's pages did not lead back to the app (bad credentials, an error page…)."""


@dataclass
class _Form:
    action: str
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.error_text: str | None = None
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(attr.get("action", ""), attr.get("method", "get").lower()))
        elif tag == "input" and self.forms and "name" in attr:
            self.forms[-1].inputs[attr["name"]] = attr.get("value", "")
        elif tag == "button" and self.forms and "name" in attr:
            self.forms[-1].buttons.append((attr["name"], attr.get("value", "")))
        elif attr.get("id") == "error":
            self._in_error = True

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error_text = (self.error_text or "") + data

    def handle_endtag(self, tag: str) -> None:
        self._in_error = False


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def drive_login(
    authorize_url: str,
    username: str = "patient",
    password: str = "password",
    approve: bool = True,
    *,
    timeout: float = 15.0,
) -> str:
    """Follow the authorization request through login and consent; return the app's redirect.

    The returned URL (``http://127.0.0.1:APP_PORT/...?code=…&state=…&iss=…`` or ``?error=…``)
    is not requested here: the caller hands it to the app's loopback listener.
    """
    server = _origin(authorize_url)
    with httpx.Client(follow_redirects=False, timeout=timeout) as browser:
        response = browser.get(authorize_url)
        for _ in range(_MAX_STEPS):
            if response.status_code in _REDIRECTS:
                target = urljoin(str(response.url), response.headers["location"])
                if _origin(target) != server:
                    return target
                response = browser.get(target)
                continue
            if response.status_code != 200:
                raise LoginError(
                    f"HTTP {response.status_code} from {response.url}: {response.text[:500]}"
                )
            parser = _FormParser()
            parser.feed(response.text)
            if not parser.forms:
                raise LoginError(f"no form at {response.url}: {response.text[:500]}")
            form = parser.forms[0]
            if "username" in form.inputs:
                if parser.error_text:
                    raise LoginError(f"login refused: {parser.error_text.strip()}")
                data = {**form.inputs, "username": username, "password": password}
            elif any(name == "decision" for name, _ in form.buttons):
                data = {**form.inputs, "decision": "approve" if approve else "deny"}
            else:
                raise LoginError(f"unrecognised form at {response.url}: {response.text[:500]}")
            response = browser.post(urljoin(str(response.url), form.action), data=data)
        raise LoginError(f"no redirect back to the app after {_MAX_STEPS} steps")


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_authorize_url(
    issuer: str,
    fhir_base: str,
    redirect_uri: str,
    *,
    scope: str = DEFAULT_SCOPE,
    state: str,
    code_challenge: str | None,
    code_challenge_method: str | None = "S256",
    client_id: str = CLIENT_ID,
    aud: str | None = None,
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": fhir_base if aud is None else aud,
        "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method if code_challenge else None,
        **extra,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{issuer}/auth?{query}"


def callback_params(redirect: str) -> dict[str, str]:
    """The query of the app redirect as a flat dict (code, state, iss or error…)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect).query).items()}


def obtain_tokens(
    issuer: str,
    fhir_base: str,
    *,
    scope: str = DEFAULT_SCOPE,
    redirect_uri: str = "http://127.0.0.1:8765/callback",
) -> dict[str, object]:
    """Run the whole code flow with PKCE as the app would, and return the token response."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    url = build_authorize_url(
        issuer, fhir_base, redirect_uri, scope=scope, state=state, code_challenge=challenge
    )
    params = callback_params(drive_login(url))
    if params.get("state") != state or "code" not in params:
        raise LoginError(f"authorization failed: {params}")
    response = httpx.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
        timeout=15.0,
    )
    response.raise_for_status()
    tokens: dict[str, object] = response.json()
    return tokens


def connect_through_login(session: Any, server: Any, name: str = "Local SMART") -> Any:
    """Connect the profile to the test server as the app does, the patient signing in and
    consenting in "the browser" (drive_login) with the default test account."""
    return session.connections.connect(
        server.base,
        client_id=CLIENT_ID,
        name=name,
        open_url=lambda url: httpx.get(drive_login(url), timeout=10),
        timeout=30,
    )
