"""The SMART layer's exceptions, each with a message the patient can act on."""

from __future__ import annotations


class SyncError(Exception):
    """Connecting or syncing failed; `str(error)` says what happened and what to do."""


class DiscoveryError(SyncError):
    pass


class AuthorizationError(SyncError):
    """The sign-in did not complete (cancelled, refused, timed out, or tampered with)."""


class TokenExpired(SyncError):
    """The connection's tokens no longer work; the patient must reconnect."""


class ServerError(SyncError):
    """The server kept failing (5xx, 429) or the network dropped; safe to retry later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ResourceRefused(SyncError):
    """The server refused one resource type (403/400/OperationOutcome); others go on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
