"""The patient's own entries and uploads, stored as FHIR R4 resources like everything else.

Entries go to source kind `manual_entry`, uploaded files to `patient_upload`; corrections to
imported records are kept beside the original, never written over it.
"""

from __future__ import annotations

import base64
import hashlib
import math
import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.domain.codes import ICD10_CM, LOINC, RXNORM, SNOMED
from phr_desktop.domain.records import parse_partial_date
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.terminology import aatd_pack, normalise_resource
from phr_desktop.vault.database import transaction
from phr_desktop.vault.timestamps import now_iso

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

MANUAL_SOURCE = "Entered by me"
UPLOAD_SOURCE = "Uploaded by me"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
UPLOAD_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/heic",
    "text/plain",
)
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GENOTYPE_TITLE = "Alpha-1 antitrypsin genotype (SERPINA1)"


@dataclass(frozen=True)
class _Incoming:
    resource: dict[str, Any]
    body: bytes
    sha256: str
    resource_type: str
    resource_id: str


def _incoming(resource: dict[str, Any]) -> _Incoming:
    body = orjson.dumps(resource)
    return _Incoming(
        resource, body, hashlib.sha256(body).hexdigest(), resource["resourceType"], resource["id"]
    )


def _date(text: str, what: str = "date") -> str:
    parsed = parse_partial_date(text.strip() if text else "")
    if parsed is None:
        raise ServiceError(f"The {what} {text!r} is not a date; use YYYY-MM-DD (or YYYY-MM, YYYY).")
    return parsed.text


def _number(value: float, what: str) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ServiceError(f"The {what} must be a number.")
    return float(value)


def _name(text: str, what: str) -> str:
    if not text or not text.strip():
        raise ServiceError(f"Give the {what} a name.")
    return text.strip()


def _coding(system: str, code: str | None, display: str) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": display}
    if code:
        concept["coding"] = [{"system": system, "code": code, "display": display}]
    return concept


class ManualEntries:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _patient_reference(self) -> dict[str, str] | None:
        row = self.session.vault.conn.execute(
            "SELECT resource_id FROM records WHERE kind = 'patient' ORDER BY id LIMIT 1"
        ).fetchone()
        return {"reference": f"Patient/{row[0]}"} if row else None

    def _base(self, resource_type: str, source: str) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": resource_type,
            "id": str(uuid.uuid4()),
            "meta": {"versionId": "1", "lastUpdated": now_iso(), "source": source},
        }
        patient = self._patient_reference()
        if patient:
            resource["patient" if resource_type == "AllergyIntolerance" else "subject"] = patient
        return resource

    def _save(self, kind: str, source: str, resources: list[dict[str, Any]]) -> list[int]:
        items = [_incoming(r) for r in resources]
        conn = self.session.vault.conn
        with transaction(conn):
            source_id = self.session.store.ensure_source(kind, source)
            self.session.store.write_resources(source_id, None, items, normalise_resource, source)
            self.session.vault.audit.append("manual_entry", resources=len(items))
        ids = []
        for item in items:
            row = conn.execute(
                "SELECT r.id FROM records r JOIN raw_resources w ON w.id = r.raw_id "
                "WHERE w.resource_id = ? AND w.resource_type = ?",
                (item.resource_id, item.resource_type),
            ).fetchone()
            ids.append(int(row[0]))
        return ids

    # --- entries ------------------------------------------------------------------------------

    def _observation(
        self,
        title: str,
        loinc: str | None,
        value: float,
        unit: str,
        date: str,
        category: str,
        low: float | None = None,
        high: float | None = None,
    ) -> dict[str, Any]:
        obs = self._base("Observation", MANUAL_SOURCE)
        obs.update(
            status="final",
            category=[{"coding": [{"system": _CATEGORY, "code": category}]}],
            code=_coding(LOINC, loinc, title),
            effectiveDateTime=date,
            valueQuantity={"value": value, "unit": unit},
        )
        if low is not None or high is not None:
            band: dict[str, Any] = {}
            if low is not None:
                band["low"] = {"value": low, "unit": unit}
            if high is not None:
                band["high"] = {"value": high, "unit": unit}
            obs["referenceRange"] = [band]
        return obs

    def add_lab_result(
        self,
        title: str,
        value: float,
        unit: str,
        date: str,
        *,
        loinc: str | None = None,
        low: float | None = None,
        high: float | None = None,
    ) -> int:
        obs = self._observation(
            _name(title, "test"), loinc, _number(value, "value"), unit.strip(), _date(date),
            "laboratory", low, high,
        )  # fmt: skip
        return self._save("manual_entry", MANUAL_SOURCE, [obs])[0]

    def add_spirometry(
        self,
        date: str,
        fev1_litres: float,
        *,
        fev1_percent_predicted: float | None = None,
        fvc_litres: float | None = None,
    ) -> list[int]:
        day = _date(date)
        results = [
            self._observation(
                "FEV1", "20150-9", _number(fev1_litres, "FEV1"), "L", day, "procedure"
            )
        ]
        if fev1_percent_predicted is not None:
            pct = _number(fev1_percent_predicted, "FEV1 % predicted")
            results.append(
                self._observation("FEV1 % predicted", "20152-5", pct, "%", day, "procedure")
            )
        if fvc_litres is not None:
            fvc = _number(fvc_litres, "FVC")
            results.append(self._observation("FVC", "19870-5", fvc, "L", day, "procedure"))
        return self._save("manual_entry", MANUAL_SOURCE, results)

    def add_medication(
        self, name: str, start: str, *, dose: str | None = None, rxnorm: str | None = None
    ) -> int:
        med = self._base("MedicationStatement", MANUAL_SOURCE)
        med.update(
            status="active",
            medicationCodeableConcept=_coding(RXNORM, rxnorm, _name(name, "medication")),
            effectivePeriod={"start": _date(start, "start date")},
        )
        if dose:
            med["dosage"] = [{"text": dose}]
        return self._save("manual_entry", MANUAL_SOURCE, [med])[0]

    def add_infusion(self, name: str, date: str, dose: float, dose_unit: str = "mg/kg") -> int:
        """One entry of the augmentation infusion log (a MedicationAdministration)."""
        given = self._base("MedicationAdministration", MANUAL_SOURCE)
        given.update(
            status="completed",
            medicationCodeableConcept=_coding(RXNORM, None, _name(name, "medication")),
            effectiveDateTime=_date(date),
            dosage={
                "dose": {"value": _number(dose, "dose"), "unit": dose_unit},
                "route": {"text": "IV"},
            },
        )
        return self._save("manual_entry", MANUAL_SOURCE, [given])[0]

    def add_genotype(self, genotype: str, date: str) -> int:
        """An AAT genotype or phenotype typed by hand (from a letter or a test report):
        "ZZ", "Pi*SZ" or "S/Null" is kept as the canonical "Pi*ZZ"; other text as typed.
        No SERPINA1 genotype LOINC could be verified (resources/valuesets/aatd.json), so the
        result is recognised, like a lab's, by its title and its value."""
        typed = _name(genotype, "genotype")
        value = aatd_pack().genotype_of(typed) or typed
        obs = self._base("Observation", MANUAL_SOURCE)
        obs.update(
            status="final",
            category=[{"coding": [{"system": _CATEGORY, "code": "laboratory"}]}],
            code={"text": GENOTYPE_TITLE},
            effectiveDateTime=_date(date),
            valueString=value,
        )
        return self._save("manual_entry", MANUAL_SOURCE, [obs])[0]

    def add_condition(
        self, name: str, onset: str, *, icd10: str | None = None, snomed: str | None = None
    ) -> int:
        condition = self._base("Condition", MANUAL_SOURCE)
        concept = _coding(ICD10_CM, icd10, _name(name, "condition"))
        if snomed:
            concept.setdefault("coding", []).append(
                {"system": SNOMED, "code": snomed, "display": name}
            )
        condition.update(
            clinicalStatus={
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            code=concept,
            onsetDateTime=_date(onset, "onset date"),
        )
        return self._save("manual_entry", MANUAL_SOURCE, [condition])[0]

    def add_note(self, text: str, date: str, title: str = "My note") -> int:
        if not text.strip():
            raise ServiceError("A note needs some text.")
        doc = self._base("DocumentReference", MANUAL_SOURCE)
        doc.update(
            status="current",
            type={"text": title},
            date=_date(date),
            content=[
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(text.encode()).decode(),
                        "title": title,
                    }
                }
            ],
        )
        return self._save("manual_entry", MANUAL_SOURCE, [doc])[0]

    def upload_document(self, path: Path, title: str, date: str) -> int:
        """Keep a PDF or image in the vault as a DocumentReference with its file attached."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ServiceError(f"{path} does not exist.") from None
        if size > MAX_UPLOAD_BYTES:
            raise ServiceError(f"{path.name} is larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type not in UPLOAD_TYPES:
            raise ServiceError(f"{path.name} is not a PDF, image or text file ({content_type}).")
        data = path.read_bytes()
        doc = self._base("DocumentReference", UPLOAD_SOURCE)
        doc.update(
            status="current",
            type={"text": _name(title, "document")},
            description=path.name,
            date=_date(date),
            content=[
                {
                    "attachment": {
                        "contentType": content_type,
                        "title": path.name,
                        "size": len(data),
                        "hash": base64.b64encode(
                            hashlib.sha1(data).digest()
                        ).decode(),  # FHIR R4 hash is SHA-1
                    }
                }
            ],
        )
        (record_id,) = self._save("patient_upload", UPLOAD_SOURCE, [doc])
        conn = self.session.vault.conn
        with transaction(conn):
            raw_id = conn.execute(
                "SELECT raw_id FROM records WHERE id = ?", (record_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, sha256, "
                "data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    raw_id, record_id, path.name, content_type, len(data),
                    hashlib.sha256(data).hexdigest(), data, now_iso(),
                ),
            )  # fmt: skip
        return record_id

    # --- corrections --------------------------------------------------------------------------

    def add_correction(self, record_id: int, field: str, value: str, reason: str = "") -> int:
        """'This value is wrong': kept beside the imported record, which stays as it came."""
        self.session.record(record_id)
        if not field.strip() or not value.strip():
            raise ServiceError("Say which detail is wrong and what it should be.")
        conn = self.session.vault.conn
        with transaction(conn):
            cur = conn.execute(
                "INSERT INTO corrections (record_id, field, value, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (record_id, field.strip(), value.strip(), reason.strip(), now_iso()),
            )
        return int(cur.lastrowid or 0)

    def corrections(self, record_id: int) -> list[tuple[int, str, str, str, str]]:
        """(id, field, value, reason, when) for a record, oldest first."""
        return self.session.corrections(record_id)
