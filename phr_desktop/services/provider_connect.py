"""Which server to sign in to and with which app id, from a provider's name or a typed FHIR
address: the directory gives the vendor, the vendor gives the client id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phr_desktop.domain.ehr_vendors import EhrVendor, vendor
from phr_desktop.services.client_ids import ClientIds, missing_client_id_message
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.provider_directory import ProviderDirectory


@dataclass(frozen=True)
class ConnectTarget:
    fhir_base: str
    name: str | None  # the organisation's name when the directory knows it
    vendor_code: str  # "" when unknown (a typed address not in the directory)
    client_id: str | None

    @property
    def vendor(self) -> EhrVendor:
        return vendor(self.vendor_code)

    def require_client_id(self) -> str:
        if not self.client_id:
            raise ServiceError(missing_client_id_message(self.vendor_code))
        return self.client_id


def connect_target(
    data_dir: Path,
    *,
    provider: str | None = None,
    fhir_base: str | None = None,
    client_id: str | None = None,
    vendor_filter: str | None = None,
) -> ConnectTarget:
    """Resolve a provider name (exact, from the directory) or a FHIR address. A client id
    given here is remembered for the vendor, so the next organisation of that vendor needs
    none."""
    directory = ProviderDirectory(data_dir)
    name: str | None
    if provider:
        found = directory.named(provider, vendor=vendor_filter)
        base, name, code = found.fhir_base, found.name, found.vendor
    elif fhir_base:
        known = directory.for_base(fhir_base)
        base, name, code = (
            fhir_base,
            (known.name if known else None),
            (known.vendor if known else ""),
        )
    else:
        raise ServiceError("Name a provider (--provider NAME) or give its FHIR address.")
    ids = ClientIds(data_dir)
    if client_id and code:
        ids.set(code, client_id)
    return ConnectTarget(base, name, code, client_id or ids.get(code))
