"""An import's peak memory stays within three times the file plus 300 MB, measured in a
child process (its own peak, after the profile is made), or the file is refused saying why."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from phr_desktop.services.session import Session

REPO = Path(__file__).resolve().parents[2]
HL7_CCD = REPO / "tests" / "data" / "ccda" / "vendors" / "C-CDA_R2-1_CCD.xml"
MB = 2**20

# The child: make a profile (the KDF's 64 MiB are setup, not import), start a new high-water
# mark where Linux allows it, import, and report its own peak. VmHWM, not ru_maxrss: a child
# started by vfork may inherit its parent's (pytest's) ru_maxrss.
_CHILD = """
import json, resource, sys
from pathlib import Path
from phr_desktop.services.profiles import Profiles
from phr_desktop.vault.keys import KdfParams

def peak():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024

session, _ = Profiles(Path(sys.argv[1])).create("m", "pw", kdf=KdfParams.minimum())
try:
    Path("/proc/self/clear_refs").write_text("5")
except OSError:
    pass
report = session.import_paths([Path(sys.argv[2])])
session.close()
print(json.dumps({"peak": peak(), "new": report.totals.new,
                  "errors": [f.error for f in report.failed]}))
"""


def _import_in_child(tmp_path: Path, file: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "data"), str(file)],
        capture_output=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _bound(file: Path) -> int:
    return 3 * file.stat().st_size + 300 * MB


def test_a_bundle_of_100000_tiny_entries_imports_within_the_memory_bound(tmp_path: Path) -> None:
    # The shape that took 4.8 GB for a 52 MB file: per byte, the most objects JSON can make.
    # At 7 MB this took about 600 MB read whole; the bound is 321 MB.
    entries = b",".join(
        b'{"resource":{"resourceType":"Observation","id":"o%d","status":"final"}}' % i
        for i in range(100_000)
    )
    file = tmp_path / "tiny.json"
    file.write_bytes(b'{"resourceType":"Bundle","type":"collection","entry":[' + entries + b"]}")
    result = _import_in_child(tmp_path, file)
    assert result["errors"] == [] and result["new"] == 100_000
    assert isinstance(result["peak"], int) and result["peak"] <= _bound(file), result["peak"] / MB


def _dense_ccda(tags_wanted: int) -> bytes:
    """HL7's R2.1 CCD with its results entries repeated (each with ids of its own) until the
    document has about `tags_wanted` tags: the densest markup a C-CDA holds."""
    source = HL7_CCD.read_bytes()
    section = source.index(b"2.16.840.1.113883.10.20.22.2.3.1")
    first = source.index(b"<entry", section)
    last = source.rindex(b"</entry>", first, source.index(b"</section>", first)) + len(b"</entry>")
    block = source[first:last].replace(b' extension="', b' data-x="')
    copies = max(1, (tags_wanted - source.count(b"<")) // block.count(b"<"))
    entries = b"".join(
        re.sub(rb'(<id root="[^"]*")', rb'\1 extension="x%d"' % n, block) for n in range(copies)
    )
    return source[:first] + entries + source[last:]


def test_a_ccda_at_the_tag_cap_imports_within_the_memory_bound(tmp_path: Path) -> None:
    from phr_desktop.interop.ccda.importer import MAX_CCDA_TAGS

    file = tmp_path / "dense.xml"
    file.write_bytes(_dense_ccda(MAX_CCDA_TAGS - 5_000))
    result = _import_in_child(tmp_path, file)
    assert result["errors"] == [] and isinstance(result["new"], int) and result["new"] > 1000
    assert isinstance(result["peak"], int) and result["peak"] <= _bound(file), result["peak"] / MB


def test_a_ccda_past_the_tag_cap_is_refused_saying_why_and_kept(
    session: Session, tmp_path: Path
) -> None:
    from phr_desktop.interop.ccda.importer import MAX_CCDA_TAGS

    file = tmp_path / "huge.xml"
    file.write_bytes(_dense_ccda(MAX_CCDA_TAGS + 20_000))
    (outcome,) = session.import_paths([file]).files
    assert outcome.status == "failed"
    assert "XML tags" in str(outcome.error) and "FHIR JSON" in str(outcome.error)
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == 0
    assert session.vault.conn.execute("SELECT count(*) FROM source_documents").fetchone()[0] == 1


@pytest.mark.parametrize("broken_at", ["start", "end"])
def test_a_streamed_file_broken_late_leaves_nothing_but_its_kept_bytes(
    session: Session, tmp_path: Path, broken_at: str
) -> None:
    entries = [
        b'{"resource":{"resourceType":"Observation","id":"o%d","status":"final"}}' % i
        for i in range(30_000)
    ]
    index = 0 if broken_at == "start" else len(entries) - 1
    entries[index] = b'{"resource":{"resourceType":"Observation","id":tru}}'
    file = tmp_path / "late.json"
    file.write_bytes(b'{"resourceType":"Bundle","entry":[' + b",\n".join(entries) + b"]}")
    (outcome,) = session.import_paths([file]).files
    assert outcome.status == "failed" and f"line {index + 1}" in str(outcome.error)
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == 0
    assert session.vault.conn.execute("SELECT count(*) FROM source_documents").fetchone()[0] == 1


def test_a_large_ndjson_is_read_line_by_line_and_a_late_fault_names_its_line(
    session: Session, tmp_path: Path
) -> None:
    lines = [
        b'{"resourceType":"Observation","id":"n%d","status":"final","valueQuantity":'
        b'{"value":1.50}}' % i
        for i in range(25_000)
    ]
    good = tmp_path / "bulk.ndjson"
    good.write_bytes(b"\n".join(lines) + b"\n")
    (outcome,) = session.import_paths([good]).files
    assert outcome.status == "imported" and outcome.counts and outcome.counts.new == 25_000
    (raw,) = session.vault.conn.execute(
        "SELECT body FROM raw_resources WHERE resource_id = 'n24999'"
    ).fetchone()
    assert b'"value":1.50' in raw  # literals as written, also when read line by line
    lines[24_000] = b'{"resourceType":"Observation","id":"late",}'
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"\n".join(lines))
    (outcome,) = session.import_paths([bad]).files
    assert outcome.status == "failed" and "line 24001" in str(outcome.error)
