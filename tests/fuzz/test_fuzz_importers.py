"""Property: whatever damage a FHIR JSON file, a C-CDA or a share file carries, reading it
ends in a result or in the app's own error (a message for the user), never in another
exception; memory stays bounded; and nothing already in the vault changes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from phr_desktop.interop.ccda.importer import parse_ccda
from phr_desktop.interop.errors import ImportError_
from phr_desktop.interop.fhir.fhir_json import parse_fhir_json
from phr_desktop.interop.fhir.json_stream import iter_fhir_json
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.share_viewer import open_share_session
from phr_desktop.sharing.bundle import seal
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.keys import fingerprint
from phr_desktop.sharing.share_key import ShareKey, new_share_key
from phr_desktop.vault.keys import KdfParams
from tests.conftest import DEMO_DIR, PASSPHRASE
from tests.fuzz.conftest import FUZZ, MAX_GROWTH_BYTES, peak_rss_bytes
from tests.fuzz.mutations import JSON_TOKENS, XML_TOKENS, mutated

HL7_CCD = Path(__file__).resolve().parents[1] / "data" / "ccda" / "vendors" / "C-CDA_R2-1_CCD.xml"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _fhir_seeds() -> list[bytes]:
    demo = orjson.loads((DEMO_DIR / "lakeside-hepatology-cerner.json").read_bytes())
    entries = demo["entry"][:8]
    bundle = orjson.dumps({**demo, "entry": entries}, option=orjson.OPT_INDENT_2)
    ndjson = b"\n".join(orjson.dumps(e["resource"]) for e in entries[:4]) + b"\n"
    single = orjson.dumps(entries[-1]["resource"])
    return [bundle.replace(b"2.9", b"2.90"), ndjson, single]


FHIR_SEEDS = _fhir_seeds()
CCDA_SEED = HL7_CCD.read_bytes()
# The same document as a bbClear "Blue Button" page carries it, and as one EHR declares it.
HTML_SEED = (
    b"<!DOCTYPE html><html><body><p>Record</p></body></html>\n"
    b'<script type="text/plain">' + CCDA_SEED + b"</script>"
)
BAD_NAMESPACE_SEED = CCDA_SEED.replace(
    b"<ClinicalDocument ", b'<ClinicalDocument xmlns:schemaLocation="urn:hl7-org:v3 CDA.xsd" ', 1
)


def _ccda_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        *(mutated(seed, XML_TOKENS) for seed in (CCDA_SEED, HTML_SEED, BAD_NAMESPACE_SEED))
    )


def _fhir_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(*(mutated(seed, JSON_TOKENS) for seed in FHIR_SEEDS))


class _Memory:
    """The process's high-water memory may not jump while one input is read."""

    def __enter__(self) -> None:
        self.before = peak_rss_bytes()

    def __exit__(self, *exc: object) -> None:
        grown = peak_rss_bytes() - self.before
        assert grown < MAX_GROWTH_BYTES, f"peak memory grew by {grown / 2**20:.0f} MiB"


@FUZZ
@given(_fhir_inputs())
def test_damaged_fhir_json_is_read_or_refused_with_a_message(data: bytes) -> None:
    with _Memory():
        try:
            whole = [p.body for p in parse_fhir_json(data, "f.json")]
        except ImportError_ as refused:
            assert "f.json" in str(refused)
            whole = None
        try:
            streamed = [p.body for p in iter_fhir_json(data, "f.json")]
        except ImportError_:
            streamed = None
    if whole is not None:  # read entry by entry or whole: the same resources
        assert streamed == whole
    else:  # what the whole-file reader refuses is never half-read entry by entry
        assert streamed is None


@FUZZ
@given(_ccda_inputs())
def test_a_damaged_ccda_is_read_or_refused_with_a_message(data: bytes) -> None:
    with _Memory():
        try:
            resources = parse_ccda(data, "c.xml")
        except ImportError_ as refused:
            assert "c.xml" in str(refused)
            return
    for item in resources:  # what is read is storable: JSON any reader here can load back
        assert isinstance(item.resource.get("resourceType"), str)


# --- through the import service, into a vault that already holds records ------------------


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        folder = tmp_path_factory.mktemp("fuzz-vault")
        session, _recovery = Profiles(folder / "data").create("fuzz", PASSPHRASE)
        with session:
            report = session.import_paths(sorted(DEMO_DIR.glob("*.json")))
            assert not report.failed
            yield session


def _stored(session: Session) -> set[tuple[Any, ...]]:
    conn = session.vault.conn
    raws = conn.execute("SELECT id, sha256, body FROM raw_resources").fetchall()
    documents = conn.execute("SELECT sha256 FROM source_documents").fetchall()
    return {("raw", *r) for r in raws} | {("document", *d) for d in documents}


@FUZZ
@given(
    st.one_of(
        st.tuples(st.just("f.json"), _fhir_inputs()),
        st.tuples(st.sampled_from(["c.xml", "c.txt", "c"]), _ccda_inputs()),
    )
)
def test_importing_a_damaged_file_changes_nothing_already_stored(
    vault: Session, named: tuple[str, bytes]
) -> None:
    name, data = named
    before = _stored(vault)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with _Memory():
            report = vault.import_paths([path])  # nothing may escape: the report says it all
    (outcome,) = report.files
    # other_person: a sample of someone else, held (nothing stored) with its reason
    assert outcome.status in ("imported", "unchanged", "failed", "other_person")
    assert outcome.status in ("imported", "unchanged") or outcome.error
    assert before <= _stored(vault)  # every raw resource and file kept, unchanged


# --- the share opener ---------------------------------------------------------------------

_SIGNER = ECKey.generate_key("P-256")
_CLAIMS = {
    "jti": "fuzz",
    "iat": int(NOW.timestamp()),
    "nbf": int(NOW.timestamp()),
    "exp": int((NOW + timedelta(days=1)).timestamp()),
    "recipient": "Dr Fuzz",
    "record_count": 8,
    "patient_name": "Pat Fuzz",
}
_SHARE_BUNDLE = FHIR_SEEDS[0].replace(b'"type": "transaction"', b'"type": "collection"')


def _open(sealed: bytes, key: ShareKey) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.phrshare"
        path.write_bytes(sealed)
        with _Memory():
            try:
                with open_share_session(path, key.text(), now=NOW) as opened:
                    opened.records()
            except (ShareError, ServiceError) as refused:
                assert str(refused)


@FUZZ
@given(mutated(_SHARE_BUNDLE, JSON_TOKENS))
def test_a_share_signed_over_damaged_content_opens_or_is_refused(bundle: bytes) -> None:
    key = new_share_key(fingerprint(_SIGNER))
    _open(seal(_SIGNER, _CLAIMS, bundle, key.content_key()), key)


_SHARE_KEY = new_share_key(fingerprint(_SIGNER))
_SEALED = seal(
    _SIGNER, _CLAIMS, _SHARE_BUNDLE, _SHARE_KEY.content_key()
)  # once: sealing is not repeatable


@FUZZ
@given(mutated(_SEALED, [b".", b"=", b"A", b"eyJ", b"\x00", b"~"]))
def test_a_damaged_share_file_is_refused(sealed: bytes) -> None:
    _open(sealed, _SHARE_KEY)
