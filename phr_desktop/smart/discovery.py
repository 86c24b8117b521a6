"""SMART discovery: `.well-known/smart-configuration`, else the CapabilityStatement's oauth-uris."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from phr_desktop.smart.errors import DiscoveryError
from phr_desktop.smart.url_rules import require_secure

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    issuer: str | None = None
    code_challenge_methods: tuple[str, ...] | None = None  # None: the server did not say
    scopes_supported: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    registration_endpoint: str | None = None  # RFC 7591; Epic's device-key registration
    grant_types_supported: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def smart_v2(self) -> bool:
        return "permission-v2" in self.capabilities or any(
            s.endswith((".rs", ".cruds")) for s in self.scopes_supported
        )


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_well_known(data: dict[str, Any]) -> SmartConfiguration:
    try:
        return SmartConfiguration(
            authorization_endpoint=str(data["authorization_endpoint"]),
            token_endpoint=str(data["token_endpoint"]),
            revocation_endpoint=data.get("revocation_endpoint"),
            issuer=data.get("issuer"),
            code_challenge_methods=_strings(data.get("code_challenge_methods_supported")),
            scopes_supported=_strings(data.get("scopes_supported")),
            capabilities=_strings(data.get("capabilities")),
            registration_endpoint=_string(data.get("registration_endpoint")),
            grant_types_supported=_strings(data.get("grant_types_supported")),
            raw=data,
        )
    except KeyError as missing:
        raise DiscoveryError(
            f"The server's SMART configuration lacks {missing.args[0]}; it cannot be used for "
            "sign-in."
        ) from None


def _from_capability_statement(data: dict[str, Any]) -> SmartConfiguration | None:
    for rest in data.get("rest") or []:
        security = rest.get("security") or {}
        for ext in security.get("extension") or []:
            if ext.get("url") != OAUTH_URIS:
                continue
            uris = {e.get("url"): e.get("valueUri") for e in ext.get("extension") or []}
            if uris.get("authorize") and uris.get("token"):
                return SmartConfiguration(
                    authorization_endpoint=uris["authorize"],
                    token_endpoint=uris["token"],
                    revocation_endpoint=uris.get("revoke"),
                    raw=data,
                )
    return None


def require_secure_endpoints(config: SmartConfiguration) -> SmartConfiguration:
    """`config` when every endpoint it names is https (or loopback); InsecureUrl otherwise."""
    require_secure(config.authorization_endpoint, "sign-in page")
    require_secure(config.token_endpoint, "token service")
    for url, what in (
        (config.registration_endpoint, "registration service"),
        (config.revocation_endpoint, "sign-out (revocation) service"),
    ):
        if url:
            require_secure(url, what)
    return config


def discover(client: httpx.Client, fhir_base: str) -> SmartConfiguration:
    """Find the sign-in endpoints; refuse servers that cannot do PKCE S256, and plain http to
    another machine (before any request for the base, after discovery for the endpoints)."""
    base = require_secure(fhir_base, "FHIR server").rstrip("/")
    config: SmartConfiguration | None = None
    try:
        response = client.get(
            f"{base}/.well-known/smart-configuration", headers={"Accept": "application/json"}
        )
        if response.status_code == 200:
            config = _from_well_known(response.json())
        if config is None:
            response = client.get(f"{base}/metadata", headers={"Accept": "application/fhir+json"})
            if response.status_code == 200:
                config = _from_capability_statement(response.json())
    except httpx.HTTPError as exc:
        raise DiscoveryError(
            f"Could not reach {base} ({exc.__class__.__name__}). Check the address and your "
            "internet connection."
        ) from None
    except ValueError:
        raise DiscoveryError(
            f"{base} did not answer with JSON; is it a FHIR server address?"
        ) from None
    if config is None:
        raise DiscoveryError(
            f"{base} does not say how to sign in (no SMART configuration, no OAuth URIs in its "
            "CapabilityStatement). It may not support patient access apps."
        )
    methods = config.code_challenge_methods
    if methods is not None and "S256" not in methods:
        raise DiscoveryError(
            f"{base} does not offer PKCE with S256, which phr-desktop requires to sign in "
            "safely from a desktop app. Ask the provider to enable it."
        )
    return require_secure_endpoints(config)
