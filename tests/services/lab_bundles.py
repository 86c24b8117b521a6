"""A person's FHIR Bundle of lab results, written to a file, for the import tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def lab_bundle_file(
    folder: Path, name: str, labs: int, given: str = "Rebecca", family: str = "Larson"
) -> Path:
    """A FHIR Bundle: a Patient and `labs` lab results of its own."""
    patient = {
        "resourceType": "Patient",
        "id": f"p-{name}",
        "name": [{"given": [given], "family": family}],
        "birthDate": "1970-05-01",
    }
    results: list[dict[str, Any]] = [
        {
            "resourceType": "Observation",
            "id": f"o-{name}-{n}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "effectiveDateTime": f"2021-03-{n % 28 + 1:02d}T10:00:00Z",
            "valueQuantity": {"value": 10 + n, "unit": "g/dL"},
        }
        for n in range(labs)
    ]
    path = folder / name
    entries = [{"resource": r} for r in (patient, *results)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    path.write_bytes(orjson.dumps(bundle))
    return path
