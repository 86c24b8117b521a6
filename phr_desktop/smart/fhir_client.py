"""FHIR REST reads with the connection's bearer token: retries, backoff, one refresh on 401."""

from __future__ import annotations

import base64
import binascii
import email.utils
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from phr_desktop.smart.errors import ResourceRefused, ServerError, TokenExpired
from phr_desktop.smart.oauth import TokenSet, shown_text
from phr_desktop.smart.url_rules import require_secure, require_under_base, resolve

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0
FHIR_JSON = "application/fhir+json"
JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir"})
MAX_REDIRECTS = 5
MAX_ERROR_BYTES = 256 * 1024  # an error's OperationOutcome; a larger body is not read
BINARY_JSON_SLACK = 64 * 1024


class TokenKeeper:
    """Hands out the current access token and refreshes it once for all threads.

    `refresh` is called with the token set to renew and must return (and durably store) the
    new one; it runs under this keeper's lock, so concurrent 401s cause one refresh. Renewal
    ahead of expiry needs a refresh token, unless `renews_without_refresh_token` (a device key).
    """

    def __init__(
        self,
        tokens: TokenSet,
        refresh: Callable[[TokenSet], TokenSet],
        *,
        renews_without_refresh_token: bool = False,
    ) -> None:
        self._tokens = tokens
        self._refresh = refresh
        self._renews_without_refresh_token = renews_without_refresh_token
        self._lock = threading.Lock()

    @property
    def current(self) -> TokenSet:
        return self._tokens

    def refresh_after(self, failed_access_token: str) -> TokenSet:
        with self._lock:
            if self._tokens.access_token == failed_access_token:
                self._tokens = self._refresh(self._tokens)
            return self._tokens

    def refresh_if_expiring(self, margin: float = 60.0) -> None:
        token = self._tokens
        if token.expires_within(margin) and (
            token.refresh_token or self._renews_without_refresh_token
        ):
            self.refresh_after(token.access_token)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _outcome_text(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        issues = data.get("issue") or []
        texts = [
            i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code", "")
            for i in issues
            if isinstance(i, dict)
        ]
        return "; ".join(str(t) for t in texts if t)
    return ""


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The streamed body, or None as soon as it passes `limit` bytes: a huge body is never held
    whole (the rest is not read; closing the response drops the connection)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _binary_accepts(content_type: str | None) -> tuple[str, ...]:
    """What to ask a `Binary` (or any attachment URL) for, in order: Oracle Health answers only
    the attachment's own type (raw bytes) or FHIR JSON (a Binary with base64 `data`)."""
    if content_type and content_type.lower() not in JSON_TYPES:
        return (content_type, FHIR_JSON)
    return (FHIR_JSON, "*/*")


class FhirClient:
    """GETs under one FHIR base with its bearer token; the token never leaves that base."""

    def __init__(
        self,
        http: httpx.Client,
        base: str,
        tokens: TokenKeeper,
        sleep: Callable[[float], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.http = http
        self.base = require_secure(base, "FHIR server").rstrip("/")
        self.tokens = tokens
        self._sleep = sleep
        self._max_attempts = max_attempts

    def url(self, path_or_url: str) -> str:
        return resolve(self.base, path_or_url)

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        hinted = _retry_after(response) if response is not None else None
        backoff = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
        pause = self._sleep or time.sleep  # looked up late so tests can stand in for it
        pause(min(MAX_WAIT_SECONDS, hinted if hinted is not None else backoff))

    def _open(
        self, path_or_url: str, params: dict[str, str] | None, accept: str, what: str
    ) -> httpx.Response:
        """A successful response, its body not read yet (close it); raises SyncError
        subclasses after retries are exhausted. Every URL asked, redirects included, must be
        under the base: OutsideFhirBase before any request to one that is not."""
        url = require_under_base(self.url(path_or_url), self.base, what)
        self.tokens.refresh_if_expiring()
        refreshed = False
        last_problem = ""
        redirects = 0
        attempt = 0
        while attempt < self._max_attempts:
            token = self.tokens.current.access_token
            request = self.http.build_request(
                "GET",
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": accept},
            )
            try:
                response = self.http.send(request, stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                last_problem = f"network problem ({exc.__class__.__name__})"
                self._wait(attempt, None)
                attempt += 1
                continue
            if response.is_success:
                return response
            try:
                error_body = _read_at_most(response, MAX_ERROR_BYTES) or b""
            except httpx.TransportError:
                error_body = b""  # the status says enough
            finally:
                response.close()
            if response.is_redirect and redirects < MAX_REDIRECTS:
                # Followed by hand: httpx would carry the token to any path on the same host.
                location = str(response.next_request.url) if response.next_request else ""
                url = require_under_base(location, self.base, f"{what} (redirected)")
                params, redirects = None, redirects + 1
                continue
            if response.status_code == 401:
                if refreshed:
                    raise TokenExpired(
                        "The provider no longer accepts this connection's sign-in. Reconnect to "
                        "go on syncing; your records are kept."
                    )
                self.tokens.refresh_after(token)
                refreshed = True
                continue
            if response.status_code in RETRY_STATUSES:
                last_problem = f"the server answered {response.status_code}"
                self._wait(attempt, response)
                attempt += 1
                continue
            detail = shown_text(_outcome_text(error_body), 500)  # no forged lines
            suffix = f": {detail}" if detail else ""
            raise ResourceRefused(
                f"the server refused it ({response.status_code}{suffix})", response.status_code
            )
        raise ServerError(
            f"The provider's server kept failing ({last_problem}); what was fetched is kept and "
            "the next sync goes on from there.",
        )

    def get(
        self, path_or_url: str, params: dict[str, str] | None = None, accept: str = FHIR_JSON
    ) -> httpx.Response:
        """A successful response, read; raises SyncError subclasses after retries are exhausted
        (OutsideFhirBase for a URL not under the base, before any request)."""
        problem = ""
        for attempt in range(self._max_attempts):
            response = self._open(path_or_url, params, accept, "next page")
            try:
                response.read()
                return response
            except httpx.TransportError as exc:  # dropped mid-body: asked again, as before
                problem = exc.__class__.__name__
            finally:
                response.close()
            self._wait(attempt, None)
        raise ServerError(
            f"The connection kept dropping while reading the provider's answer ({problem}); "
            "what was fetched is kept and the next sync goes on from there."
        )

    def get_json(self, path_or_url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.get(path_or_url, params)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ServerError("The provider's server sent something that is not JSON.") from None
        if not isinstance(data, dict):
            raise ServerError("The provider's server sent JSON that is not a FHIR resource.")
        return data

    def get_binary(
        self, path_or_url: str, max_bytes: int, content_type: str | None = None
    ) -> tuple[bytes, str] | None:
        """An attachment's bytes and content type, or None when larger than `max_bytes`.

        Asks for the attachment's own `content_type` first, then for a FHIR Binary (whose
        base64 `data` is decoded); the body is read in chunks and dropped once past the cap,
        so memory never holds more than about the cap.
        """
        refused: ResourceRefused | None = None
        for accept in _binary_accepts(content_type):
            try:
                response = self._open(path_or_url, None, accept, "attached file")
            except ResourceRefused as exc:
                if exc.status in (403, 404, 410):
                    raise  # no other Accept makes a missing or forbidden file appear
                refused = exc
                continue
            try:
                return self._read_binary(response, max_bytes, content_type)
            finally:
                response.close()
        assert refused is not None
        raise refused

    def _read_binary(
        self, response: httpx.Response, max_bytes: int, content_type: str | None
    ) -> tuple[bytes, str] | None:
        media_type = _media_type(response)
        as_json = media_type in JSON_TYPES  # maybe a FHIR Binary around the file
        # Base64 is 4/3 of the bytes; the JSON around it is small.
        limit = max_bytes * 4 // 3 + BINARY_JSON_SLACK if as_json else max_bytes
        try:
            body = _read_at_most(response, limit)
        except httpx.TransportError as exc:
            raise ServerError(
                f"The connection dropped while downloading a file ({exc.__class__.__name__})."
            ) from None
        if body is None:
            return None
        if as_json:
            return _binary_data(body, max_bytes, media_type, content_type)
        return body, media_type or content_type or "application/octet-stream"


def _binary_data(
    body: bytes, max_bytes: int, media_type: str, content_type: str | None
) -> tuple[bytes, str] | None:
    """The bytes inside a FHIR Binary resource; JSON that is not a Binary is the file itself
    (a JSON document)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or data.get("resourceType") != "Binary":
        return (body, media_type) if len(body) <= max_bytes else None
    try:
        raw = base64.b64decode(str(data.get("data") or ""))
    except (binascii.Error, ValueError):
        raise ServerError("The provider sent a Binary whose data is not base64.") from None
    if len(raw) > max_bytes:
        return None
    return raw, str(data.get("contentType") or content_type or "application/octet-stream")
