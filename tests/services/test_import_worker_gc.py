"""The import's worker process collects cycles only between files, and what earlier files left
alive (the normaliser's caches, kept for the whole import) is frozen: each collection walks
only what the last file left, not everything every file before it left."""

from __future__ import annotations

from pathlib import Path

from tests.services.child_python import python_output

# Prepares two files on a process set up as the worker is, and reports whether a value the
# first file left in the normaliser's cache is still walked by the collector after the second.
_CHILD = """
import gc, json, sys
from pathlib import Path
from phr_desktop.services import import_prepare
from phr_desktop.vault import prepared

if sys.argv[1] == "worker":
    import_prepare.start_worker()
folder = Path(sys.argv[2])
for name, code in (("first", "8867-4"), ("second", "8310-5")):
    observation = {
        "resourceType": "Observation", "id": name, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(observation))
    import_prepare.prepare_file_pickled(path)
    if name == "first":
        [left_by_first] = prepared._CODES_COLUMNS.values()
print(any(o is left_by_first for o in gc.get_objects()))
"""


def _still_walked(entry: str, folder: Path) -> bool:
    return python_output(_CHILD, entry, str(folder))[-1] == "True"


def test_the_worker_does_not_walk_again_what_earlier_files_left_alive(tmp_path: Path) -> None:
    assert not _still_walked("worker", tmp_path)


def test_a_process_that_is_not_the_worker_keeps_its_collector_as_it_was(tmp_path: Path) -> None:
    # Preparing on a thread (a small import, the tests) freezes nothing of the caller's.
    assert _still_walked("thread", tmp_path)


def test_the_worker_loads_the_c_cda_reader_only_for_an_xml_file(tmp_path: Path) -> None:
    # lxml and the C-CDA modules cost the worker ~0.05 s of CPU and ~5 MB of RSS at its start.
    child = """
import json, sys
from pathlib import Path
from phr_desktop.services import import_prepare
folder = Path(sys.argv[1])
(folder / "a.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
import_prepare.prepare_file_pickled(folder / "a.json")
print("lxml.etree" in sys.modules, "phr_desktop.interop.ccda.importer" in sys.modules)
"""
    assert python_output(child, str(tmp_path)) == ["False", "False"]
