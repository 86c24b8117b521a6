"""Provider organisations read from a SMART User-access Brands bundle, and the compact form
the app ships and stores them in.

A brands bundle is data from outside (a download the user chose): it is only ever read as
JSON values, checked field by field, and nothing in it is followed, fetched or run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

COMPACT_FORMAT = "phr-desktop provider directory"
COMPACT_VERSION = 1
VENDOR_EXTENSION_SUFFIX = "/StructureDefinition/ehr-vendor"
TEST_SYSTEM_TAG = "sandbox"
MAX_NAME_CHARS = 300
MAX_ENTRIES = 500_000


class DirectoryFormatError(ValueError):
    """The file is not a brands bundle this app can read; the message says what is wrong."""


@dataclass(frozen=True)
class Provider:
    """One organisation a patient can pick, on the FHIR server that holds its records."""

    name: str
    fhir_base: str
    vendor: str = ""  # EHR vendor code (ehr_vendors.VENDORS), "" when the bundle does not say
    city: str = ""
    state: str = ""
    postal_code: str = ""
    aliases: tuple[str, ...] = ()
    test_system: bool = False  # a vendor sandbox: hidden unless asked for


@dataclass(frozen=True)
class ParsedDirectory:
    providers: list[Provider]
    timestamp: str  # Bundle.timestamp (or meta.lastUpdated), "" when absent
    skipped: int  # organisations left out (no name, no usable https endpoint)


def _text(value: Any, limit: int = MAX_NAME_CHARS) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _is_test_system(resource: dict[str, Any]) -> bool:
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return isinstance(tags, list) and any(
        isinstance(t, dict) and t.get("code") == TEST_SYSTEM_TAG for t in tags
    )


def _vendor_of(endpoint: dict[str, Any]) -> str:
    for ext in endpoint.get("extension") or []:
        url = ext.get("url") if isinstance(ext, dict) else None
        if isinstance(url, str) and url.endswith(VENDOR_EXTENSION_SUFFIX):
            return _text(ext.get("valueCode"), 40)
    return ""


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def usable_fhir_base(address: Any) -> str | None:
    """The address if it is a well-formed https URL with a host, else None: the directory
    never offers a plain-http or malformed server (but for this computer's own loopback, a
    developer's test server, as the sign-in rules allow)."""
    if not isinstance(address, str) or len(address) > 2000:
        return None
    try:
        parts = urlsplit(address.strip())
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password:
        return None
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    ):
        return None
    return address.strip()


def _resources(bundle: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise DirectoryFormatError(
            'This file is not a FHIR Bundle (resourceType must be "Bundle"); choose a SMART '
            "User-access Brands bundle (.json)."
        )
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise DirectoryFormatError("The Bundle has no entries; choose a brands bundle with some.")
    if len(entries) > MAX_ENTRIES:
        raise DirectoryFormatError(
            f"The Bundle has {len(entries):,} entries, more than the {MAX_ENTRIES:,} a provider "
            "directory may hold."
        )
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            full_url = entry.get("fullUrl")
            yield (full_url if isinstance(full_url, str) else ""), resource


def parse_brands_bundle(bundle: Any) -> ParsedDirectory:
    """Every (Organization, Endpoint) pair of a User-access Brands bundle as a Provider."""
    endpoints: dict[str, dict[str, Any]] = {}
    organizations: list[dict[str, Any]] = []
    for full_url, resource in _resources(bundle):
        kind = resource.get("resourceType")
        if kind == "Endpoint":
            if isinstance(resource.get("id"), str):
                endpoints[f"Endpoint/{resource['id']}"] = resource
            if full_url:
                endpoints[full_url] = resource
        elif kind == "Organization":
            organizations.append(resource)
    providers: list[Provider] = []
    skipped = 0
    for org in organizations:
        found = list(_providers_of(org, endpoints))
        providers.extend(found)
        skipped += not found
    if not providers:
        raise DirectoryFormatError(
            "The Bundle lists no organisation with a usable https FHIR address (each "
            "Organization needs a name and an endpoint reference to an Endpoint in the Bundle)."
        )
    timestamp = bundle.get("timestamp") or (bundle.get("meta") or {}).get("lastUpdated") or ""
    return ParsedDirectory(providers, _text(timestamp, 40), skipped)


def _providers_of(org: dict[str, Any], endpoints: dict[str, dict[str, Any]]) -> Iterator[Provider]:
    name = _text(org.get("name"))
    if not name:
        return
    aliases = tuple(
        a for a in (_text(x) for x in org.get("alias") or [] if isinstance(x, str)) if a != name
    )
    address = next((a for a in org.get("address") or [] if isinstance(a, dict)), {})
    for ref in org.get("endpoint") or []:
        target = ref.get("reference") if isinstance(ref, dict) else None
        endpoint = endpoints.get(target) if isinstance(target, str) else None
        if endpoint is None:
            continue
        base = usable_fhir_base(endpoint.get("address"))
        if base is None:
            continue
        yield Provider(
            name=name,
            fhir_base=base,
            vendor=_vendor_of(endpoint),
            city=_text(address.get("city"), 80),
            state=_text(address.get("state"), 40),
            postal_code=_text(address.get("postalCode"), 20),
            aliases=aliases,
            test_system=_is_test_system(endpoint) or _is_test_system(org),
        )


# --- the compact form: one list of bases, one row per provider --------------------------------


def to_compact(providers: Iterable[Provider], timestamp: str) -> dict[str, Any]:
    """A JSON-ready form about a fifth of the bundle's size: bases are listed once (20,000
    athena practices share one) and rows are positional."""
    bases: dict[str, int] = {}
    rows = []
    for p in providers:
        base_index = bases.setdefault(p.fhir_base, len(bases))
        rows.append(
            [p.name, p.vendor, base_index, p.city, p.state, p.postal_code, list(p.aliases),
             1 if p.test_system else 0]
        )  # fmt: skip
    return {
        "format": COMPACT_FORMAT,
        "version": COMPACT_VERSION,
        "timestamp": timestamp,
        "bases": list(bases),
        "rows": rows,
    }


def from_compact(data: Any) -> list[Provider]:
    """The providers of a compact directory; DirectoryFormatError if it is not one."""
    if not isinstance(data, dict) or data.get("format") != COMPACT_FORMAT:
        raise DirectoryFormatError("This is not a phr-desktop provider directory file.")
    if data.get("version") != COMPACT_VERSION:
        raise DirectoryFormatError(
            f"This provider directory is format version {data.get('version')!r}; this app reads "
            f"version {COMPACT_VERSION}. Update phr-desktop or load the brands bundle again."
        )
    try:
        bases = [str(b) for b in data["bases"]]
        return [
            Provider(
                name=str(name), fhir_base=bases[base], vendor=str(vendor), city=str(city),
                state=str(state), postal_code=str(postal), aliases=tuple(map(str, aliases)),
                test_system=bool(test),
            )
            for name, vendor, base, city, state, postal, aliases, test in data["rows"]
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DirectoryFormatError(f"The provider directory file is damaged ({exc}).") from None
