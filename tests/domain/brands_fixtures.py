"""Small SMART User-access Brands bundles for the provider-directory tests, built in code
(the shape of ../shared/directory/endpoints.json, whose README gives the format)."""

from __future__ import annotations

from typing import Any

VENDOR_EXT = "https://phr-desktop.invalid/fhir/StructureDefinition/ehr-vendor"
SANDBOX_TAG = {
    "system": "https://phr-desktop.invalid/fhir/CodeSystem/directory-tag",
    "code": "sandbox",
}


def endpoint(eid: str, address: str, vendor: str, *, sandbox: bool = False) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Endpoint",
        "id": eid,
        "status": "active",
        "connectionType": {"code": "hl7-fhir-rest"},
        "address": address,
        "extension": [{"url": VENDOR_EXT, "valueCode": vendor}],
    }
    if sandbox:
        resource["meta"] = {"tag": [SANDBOX_TAG]}
    return {
        "fullUrl": f"https://phr-desktop.invalid/directory/Endpoint/{eid}",
        "resource": resource,
    }


def organization(oid: str, name: str, eid: str, **extra: Any) -> dict[str, Any]:
    resource = {"resourceType": "Organization", "id": oid, "name": name,
                "endpoint": [{"reference": f"Endpoint/{eid}"}], **extra}  # fmt: skip
    return {
        "fullUrl": f"https://phr-desktop.invalid/directory/Organization/{oid}",
        "resource": resource,
    }


def brands_bundle(
    *entries: dict[str, Any], timestamp: str = "2027-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
            "entry": list(entries)}  # fmt: skip


def sample_bundle(timestamp: str = "2027-01-01T00:00:00Z") -> dict[str, Any]:
    return brands_bundle(
        endpoint("e1", "https://fhir.mayo.example/api/FHIR/R4/", "epic"),
        organization("o1", "Mayo Clinic", "e1", alias=["Mayo Clinic Health System"]),
        endpoint("e2", "https://fhir-myrecord.cerner.example/r4/denver/", "oracle"),
        organization("o2", "Denver Health", "e2",
                     address=[{"city": "Denver", "state": "CO", "postalCode": "80204"}]),
        endpoint("e3", "https://fhir.epic.example/sandbox/R4/", "epic", sandbox=True),
        organization("o3", "Epic Sandbox", "e3"),
        endpoint("e4", "http://plain.example/fhir", "greenway"),
        organization("o4", "Plain Clinic", "e4"),
        endpoint("e5", "https://fhir.zoe.example/r4", "ecw"),
        organization("o5", "Clínica Zoë", "e5"),
        timestamp=timestamp,
    )  # fmt: skip
