"""FHIR REST reads with the connection's bearer token: retries, backoff, one refresh on 401."""

from __future__ import annotations

import base64
import email.utils
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from phr_desktop.smart.errors import ResourceRefused, ServerError, TokenExpired
from phr_desktop.smart.oauth import TokenSet

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0
FHIR_JSON = "application/fhir+json"


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


def _outcome_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        issues = data.get("issue") or []
        texts = [
            i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code", "")
            for i in issues
            if isinstance(i, dict)
        ]
        return "; ".join(t for t in texts if t)
    return ""


class FhirClient:
    def __init__(
        self,
        http: httpx.Client,
        base: str,
        tokens: TokenKeeper,
        sleep: Callable[[float], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.tokens = tokens
        self._sleep = sleep
        self._max_attempts = max_attempts

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base}/{path_or_url.lstrip('/')}"

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        hinted = _retry_after(response) if response is not None else None
        backoff = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
        pause = self._sleep or time.sleep  # looked up late so tests can stand in for it
        pause(min(MAX_WAIT_SECONDS, hinted if hinted is not None else backoff))

    def get(
        self, path_or_url: str, params: dict[str, str] | None = None, accept: str = FHIR_JSON
    ) -> httpx.Response:
        """A successful response; raises SyncError subclasses after retries are exhausted."""
        url = self.url(path_or_url)
        self.tokens.refresh_if_expiring()
        refreshed = False
        last_problem = ""
        for attempt in range(self._max_attempts):
            token = self.tokens.current.access_token
            try:
                response = self.http.get(
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}", "Accept": accept},
                )
            except httpx.TransportError as exc:
                last_problem = f"network problem ({exc.__class__.__name__})"
                self._wait(attempt, None)
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
                continue
            if response.status_code >= 400:
                detail = _outcome_text(response)
                suffix = f": {detail}" if detail else ""
                raise ResourceRefused(
                    f"the server refused it ({response.status_code}{suffix})", response.status_code
                )
            return response
        raise ServerError(
            f"The provider's server kept failing ({last_problem}); what was fetched is kept and "
            "the next sync goes on from there.",
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

    def get_binary(self, path_or_url: str, max_bytes: int) -> tuple[bytes, str] | None:
        """Attachment bytes and content type, or None when larger than `max_bytes`."""
        response = self.get(path_or_url, accept="*/*")
        if len(response.content) > max_bytes:
            return None
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        if content_type.startswith(("application/fhir+json", "application/json")):
            # A Binary resource came back as JSON: its data is base64 inside.
            data = orjson.loads(response.content)
            if isinstance(data, dict) and data.get("resourceType") == "Binary":
                raw = base64.b64decode(data.get("data") or "")
                return (
                    (raw, str(data.get("contentType") or "application/octet-stream"))
                    if len(raw) <= max_bytes
                    else None
                )
        return response.content, content_type.split(";")[0]
