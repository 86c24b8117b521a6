"""Where the app may send a request: https (plain http only on loopback), and the bearer token
only to URLs under the connection's FHIR base.

URLs reach us from data (a Bundle's `next` link, an attachment's `url`, a server's SMART
configuration), so each is checked before any request leaves the machine. The path check is
strict rather than clever: a URL with dot segments, backslashes, encoded slashes or userinfo
is outside the base, because servers and proxies disagree on how to read them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, unquote, urlsplit

from phr_desktop.smart.errors import SyncError

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = frozenset({"localhost"})


class InsecureUrl(SyncError):
    """A sign-in or FHIR address that would travel unencrypted to another machine."""


class OutsideFhirBase(SyncError):
    """A URL from the server's data that is not under the connection's FHIR base."""


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and `localhost`: traffic that never leaves this machine."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parts


def require_secure(url: str, what: str) -> str:
    """`url` itself when it is https, or http to this machine; InsecureUrl (before any request)
    otherwise, naming `what` the address is for."""
    parts = _split(url)
    scheme = parts.scheme.lower() if parts else ""
    host = parts.hostname if parts else None
    if parts is None or scheme not in DEFAULT_PORTS or not host:
        raise InsecureUrl(
            f"The {what} address {url!r} is not a web address phr-desktop can use; it must "
            "start with https://."
        )
    if scheme == "http" and not is_loopback_host(host):
        raise InsecureUrl(
            f"The {what} address {url} uses plain http, which would send your sign-in and health "
            "data unencrypted over the network. phr-desktop only connects over https (plain "
            "http is allowed only to this computer, for testing); ask the provider for the "
            "https address."
        )
    return url


def _port(parts: SplitResult) -> int | None:
    return parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme.lower())


def _path_is_plain(path: str) -> bool:
    """False when a server could read the path as another one: dot segments, backslashes,
    encoded slashes or NULs, once percent-decoded."""
    decoded = unquote(path)
    if "\\" in decoded or "\x00" in decoded or decoded.count("/") != path.count("/"):
        return False
    return not any(segment in (".", "..") for segment in decoded.split("/"))


def resolve(base: str, path_or_url: str) -> str:
    """An absolute URL: a relative reference (`Binary/1`, `/Binary/1`) is under the base."""
    if "://" in path_or_url.split("?", 1)[0]:
        return path_or_url
    return f"{base.rstrip('/')}/{path_or_url.lstrip('/')}"


def is_under_base(url: str, base: str) -> bool:
    """True when `url` (absolute) has the base's scheme, host and port, no userinfo, and a
    path at or below the base's path."""
    target, root = _split(url), _split(base)
    if target is None or root is None or not target.hostname or not root.hostname:
        return False
    if target.username is not None or target.password is not None:
        return False  # https://base@evil.example/ is evil.example; userinfo is never ours
    if (
        target.scheme.lower() != root.scheme.lower()
        or target.hostname != root.hostname  # urlsplit lower-cases host names
        or _port(target) != _port(root)
    ):
        return False
    if not _path_is_plain(target.path):
        return False
    # Whole segments: a base of "/fhir" admits "/fhir" and "/fhir/…", never "/fhirevil".
    root_path = root.path.rstrip("/")
    return target.path == root_path or target.path.startswith(f"{root_path}/")


def require_under_base(url: str, base: str, what: str) -> str:
    """`url` when it is under `base`; OutsideFhirBase otherwise, so no token goes there."""
    if not is_under_base(url, base):
        raise OutsideFhirBase(
            f"The server pointed the {what} at {_shown(url)}, which is not under this "
            f"connection's FHIR address ({base}). phr-desktop did not follow it, so your sign-in "
            "was not sent there; the provider's server may be misconfigured."
        )
    return url


def _shown(url: str) -> str:
    """A URL for a message: scheme, host and path, without userinfo or query."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return repr(url[:200])
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path[:200]}"
