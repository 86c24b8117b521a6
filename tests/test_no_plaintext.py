"""No health data, passphrase or key ever reaches the disk in clear: 20 marker strings planted in
imported resources, documents and notes are searchable in the vault, yet no file under the data
folder (database, `-wal`, `-shm`, header, lock, attempt counter, anything) nor in a backup
folder contains them."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import restore_backup
from phr_desktop.services.session import Session
from phr_desktop.vault.errors import WrongPassphrase
from phr_desktop.vault.keys import KdfParams

PASSPHRASE = "plaintext-probe passphrase Quixotic7"
# Where each marker is planted; the flag says whether full-text search must find it there.
PLACES: tuple[tuple[str, bool], ...] = (
    ("patient given name", True),
    ("patient family name", True),
    ("patient address line", False),
    ("condition code text", True),
    ("condition coding display", True),
    ("condition note", True),
    ("observation code display", True),
    ("social-history observation valueString", True),
    ("lab observation valueString", False),
    ("observation note", True),
    ("medication text", True),
    ("medication dosage text", False),
    ("procedure code text", True),
    ("allergy code text", True),
    ("diagnostic report conclusion", True),
    ("diagnostic report text/plain base64 form", True),
    ("document description", True),
    ("document text/plain base64 attachment", True),
    ("document text/html base64 attachment", True),
    ("patient's own note", True),
)


def _markers() -> dict[str, str]:
    """20 distinct, single-word, mixed-case markers that cannot occur by chance."""
    rng = random.Random(20240611)
    alphabet = string.ascii_letters + string.digits
    out: dict[str, str] = {}
    for place, _searchable in PLACES:
        out[place] = "Mk" + "".join(rng.choice(alphabet) for _ in range(18))
    assert len(set(out.values())) == len(PLACES) == 20
    return out


MARKERS = _markers()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _attachment(content_type: str, text: str) -> dict[str, str]:
    return {"contentType": content_type, "data": _b64(text)}


def _bundle(m: dict[str, str]) -> dict[str, Any]:
    def entry(resource: dict[str, Any]) -> dict[str, Any]:
        return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}

    category = "http://terminology.hl7.org/CodeSystem/observation-category"
    lab, social = _concept(category, "laboratory"), _concept(category, "social-history")
    patient_ref = {"reference": "Patient/probe-patient"}
    resources = [
        {
            "resourceType": "Patient",
            "id": "probe-patient",
            "name": [{"family": m["patient family name"], "given": [m["patient given name"]]}],
            "address": [{"line": [f"12 {m['patient address line']} Street"], "city": "Leeds"}],
            "birthDate": "1970-03-01",
        },
        {
            "resourceType": "Condition",
            "id": "probe-condition-1",
            "subject": patient_ref,
            "code": {"text": f"Condition {m['condition code text']}"},
            "onsetDateTime": "2015-06-01",
            "note": [{"text": f"Noted by the clinic: {m['condition note']}."}],
        },
        {
            "resourceType": "Condition",
            "id": "probe-condition-2",
            "subject": patient_ref,
            "code": _concept(
                "http://snomed.info/sct", "1234567", f"Disorder {m['condition coding display']}"
            ),
            "onsetDateTime": "2016-06-01",
        },
        {
            "resourceType": "Observation",
            "id": "probe-observation-social",
            "status": "final",
            "subject": patient_ref,
            "category": [social],
            "code": _concept(
                "http://loinc.org", "72166-2", f"Habit {m['observation code display']}"
            ),
            "effectiveDateTime": "2020-01-02",
            "valueString": f"Reports {m['social-history observation valueString']} daily",
            "note": [{"text": m["observation note"]}],
        },
        {
            "resourceType": "Observation",
            "id": "probe-observation-lab",
            "status": "final",
            "subject": patient_ref,
            "category": [lab],
            "code": {"text": "Alpha-1 antitrypsin phenotype"},
            "effectiveDateTime": "2020-01-03",
            "valueString": f"Pi {m['lab observation valueString']}",
            "referenceRange": [{"low": {"value": 1.50, "unit": "g/L"}}],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "probe-medication",
            "status": "active",
            "intent": "order",
            "subject": patient_ref,
            "medicationCodeableConcept": {"text": f"Drug {m['medication text']}"},
            "authoredOn": "2021-02-03",
            "dosageInstruction": [{"text": f"Take {m['medication dosage text']} weekly"}],
        },
        {
            "resourceType": "Procedure",
            "id": "probe-procedure",
            "status": "completed",
            "subject": patient_ref,
            "code": {"text": f"Procedure {m['procedure code text']}"},
            "performedDateTime": "2019-05-05",
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "probe-allergy",
            "patient": patient_ref,
            "code": {"text": f"Allergy to {m['allergy code text']}"},
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "probe-report",
            "status": "final",
            "subject": patient_ref,
            "code": {"text": "Chest CT"},
            "effectiveDateTime": "2022-04-04",
            "conclusion": f"Finding {m['diagnostic report conclusion']}.",
            "presentedForm": [
                _attachment(
                    "text/plain", f"Full report: {m['diagnostic report text/plain base64 form']}."
                )
            ],
        },
        {
            "resourceType": "DocumentReference",
            "id": "probe-document",
            "status": "current",
            "subject": patient_ref,
            "date": "2023-03-03T10:00:00Z",
            "description": f"Letter about {m['document description']}",
            "content": [
                {
                    "attachment": _attachment(
                        "text/plain; charset=utf-8",
                        f"Dear patient, {m['document text/plain base64 attachment']}.",
                    )
                },
                {
                    "attachment": _attachment(
                        "text/html",
                        f"<p>See <b>{m['document text/html base64 attachment']}</b></p>",
                    )
                },
            ],
        },
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": [entry(r) for r in resources]}


def _variants(secret: str) -> set[bytes]:
    """The byte forms a leaked string would take in a file."""
    forms: set[bytes] = set()
    for text in {secret, secret.lower(), secret.upper()}:
        forms.add(text.encode("utf-8"))
        forms.add(text.encode("utf-16-le"))
        forms.add(text.encode("utf-16-be"))
    return forms


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _leaks(folder: Path, secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(file, secret) for every secret found, in any of its forms, in any file under folder."""
    needles = {form: secret for secret in secrets for form in _variants(secret)}
    found: list[tuple[str, str]] = []
    for path in _files_under(folder):
        data = path.read_bytes()
        for form, secret in needles.items():
            if form in data:
                found.append((str(path.relative_to(folder)), secret))
    return sorted(set(found))


@dataclass
class Planted:
    data_dir: Path
    session: Session
    recovery_key: str
    base64_forms: list[str]
    source: Path
    open: bool = True

    def close(self) -> None:
        if self.open:
            self.session.close()
            self.open = False


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[Planted]:
    """A profile holding the markers: imported from a bundle, plus the patient's own note."""
    data_dir = tmp_path / "phr-data"
    incoming = tmp_path / "incoming"  # the source file lives outside the data folder
    incoming.mkdir()
    bundle = _bundle(MARKERS)
    source = incoming / "probe.json"
    source.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    base64_forms = [
        attachment["data"]
        for e in bundle["entry"]
        for attachment in [
            *e["resource"].get("presentedForm", []),
            *(c["attachment"] for c in e["resource"].get("content", [])),
        ]
    ]
    session, recovery_key = Profiles(data_dir).create("probe", PASSPHRASE, KdfParams.minimum())
    try:
        report = session.import_paths([source])
        assert report.failed == []
        (condition,) = session.search(MARKERS["condition code text"])
        session.add_note(condition.id, "My own words: " + MARKERS["patient's own note"])
        planted = Planted(data_dir, session, recovery_key, base64_forms, source)
    except BaseException:
        session.close()
        raise
    yield planted
    planted.close()


def test_every_marker_is_stored_and_the_searchable_ones_are_found(planted: Planted) -> None:
    """The probe is only meaningful if the data really went in."""
    conn = planted.session.vault.conn
    stored = b"\n".join(bytes(body) for (body,) in conn.execute("SELECT body FROM raw_resources"))
    notes = "\n".join(text for (text,) in conn.execute("SELECT text FROM notes"))
    for place, searchable in PLACES:
        marker = MARKERS[place]
        if "base64" not in place:  # those are checked through search, decoded
            assert marker in stored.decode() + notes, place
        if searchable:
            assert planted.session.search(marker), f"search does not find the {place}"
            # Case-insensitive, as a person types it.
            assert planted.session.search(marker.lower()), f"lower-case search, {place}"


def test_the_scan_does_see_plaintext_where_it_is(planted: Planted) -> None:
    """The scanner itself works: every marker not hidden in base64 is in the source file."""
    clear = [MARKERS[place] for place, _ in PLACES if "base64" not in place]
    clear.remove(MARKERS["patient's own note"])  # added in the app, not imported
    leaked = {secret for _, secret in _leaks(planted.source.parent, clear)}
    assert leaked == set(clear)
    assert {s for _, s in _leaks(planted.source.parent, planted.base64_forms)} == set(
        planted.base64_forms
    )


def test_document_text_inside_base64_is_indexed(planted: Planted) -> None:
    for place in (
        "diagnostic report text/plain base64 form",
        "document text/plain base64 attachment",
        "document text/html base64 attachment",
    ):
        (hit,) = planted.session.search(MARKERS[place])
        assert hit.record.resource_type in {"DiagnosticReport", "DocumentReference"}


def test_no_marker_is_in_any_file_while_the_vault_is_open(planted: Planted) -> None:
    for term in ("condition code text", "document text/plain base64 attachment"):
        assert planted.session.search(MARKERS[term])
    profile_dir = planted.data_dir / "profiles" / "probe"
    names = {p.name for p in _files_under(profile_dir)}
    # The write-ahead log and its index are there now: they must be encrypted too.
    assert {"vault.db", "vault.db-wal", "vault.db-shm", "header.json"} <= names
    assert (profile_dir / "vault.db-wal").stat().st_size > 0

    secrets = [*MARKERS.values(), *planted.base64_forms]
    assert _leaks(planted.data_dir, secrets) == []


def test_no_marker_is_in_any_file_after_close(planted: Planted) -> None:
    planted.close()
    secrets = [*MARKERS.values(), *planted.base64_forms]
    assert _files_under(planted.data_dir)
    assert _leaks(planted.data_dir, secrets) == []


def test_passphrase_recovery_key_and_data_key_are_never_written(planted: Planted) -> None:
    data_key = planted.session.vault.data_key
    recovery_plain = planted.recovery_key.replace("-", "")
    secrets = [PASSPHRASE, planted.recovery_key, recovery_plain, data_key.hex()]

    assert _leaks(planted.data_dir, secrets) == []
    planted.close()
    assert _leaks(planted.data_dir, secrets) == []
    for path in _files_under(planted.data_dir):
        assert data_key not in path.read_bytes(), path


def test_wrong_passphrase_attempts_do_not_write_the_guess(planted: Planted) -> None:
    planted.close()
    guess = "wrong guess Zebra42 plaintext"
    with pytest.raises(WrongPassphrase):
        Profiles(planted.data_dir).unlock("probe", passphrase=guess)
    assert _leaks(planted.data_dir, [guess, PASSPHRASE]) == []


def test_backups_hold_no_marker_passphrase_or_key(planted: Planted, tmp_path: Path) -> None:
    """A backup folder may be a cloud's: nothing in it is readable without the keys."""
    folder = tmp_path / "cloud-synced backups"
    auto = planted.session.auto_backup
    auto.turn_on(folder)
    outcome = auto.run_now()
    assert outcome.ok and outcome.path is not None
    assert {p.name for p in _files_under(folder)} == {"vault.db", "header.json", "backup.json"}
    data_key = planted.session.vault.data_key
    recovery_plain = planted.recovery_key.replace("-", "")
    secrets = [*MARKERS.values(), *planted.base64_forms, PASSPHRASE, planted.recovery_key]
    secrets += [recovery_plain, data_key.hex(), "probe"]  # "probe": the profile's name too
    assert _leaks(folder, secrets) == []
    for path in _files_under(folder):
        assert data_key not in path.read_bytes(), path
    # The copy really holds the data: it is encrypted, not empty.
    planted.close()
    restored = Profiles(tmp_path / "restored")
    restore_backup(restored, folder, passphrase=PASSPHRASE)
    with restored.unlock("probe", passphrase=PASSPHRASE) as session:
        assert session.search(MARKERS["patient's own note"])
    assert _leaks(restored.data_dir, secrets[:-1]) == []
