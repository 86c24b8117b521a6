"""The worker prepares a file a chunk at a time: each Bundle entry leaves the parsed tree as its
resource is given, resources are pickled as they are prepared, and a file that breaks part way
still comes back whole as a failure, with none of its resources."""

from __future__ import annotations

import json
from pathlib import Path

from phr_desktop.interop.fhir.fhir_json import flatten
from phr_desktop.services.import_prepare import load_prepared, prepare_file, prepare_file_pickled


def _observations(count: int) -> list[dict[str, object]]:
    return [
        {"resource": {"resourceType": "Observation", "id": f"o{i}", "status": "final"}}
        for i in range(count)
    ]


def test_releasing_flatten_takes_each_entry_out_of_the_tree_as_it_gives_its_resource() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": _observations(3)}
    resources = flatten(bundle, "bundle.json", release=True)
    first = next(resources)
    assert first.resource_id == "o0"
    assert bundle["entry"][0] is None and bundle["entry"][1] is not None
    assert [r.resource_id for r in resources] == ["o1", "o2"]
    assert bundle["entry"] == [None, None, None]


def test_a_file_of_many_chunks_comes_back_whole_and_in_order(tmp_path: Path) -> None:
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps({"resourceType": "Bundle", "entry": _observations(2500)}))
    on_worker = load_prepared(prepare_file_pickled(file))
    on_thread = prepare_file(file)
    assert on_worker.error is None and on_worker.resources is not None
    assert [r[1] for r in on_worker.resources] == [f"o{i}" for i in range(2500)]
    assert on_worker.resources == on_thread.resources


def test_a_file_that_breaks_after_its_first_chunks_fails_whole_with_its_bytes_kept(
    tmp_path: Path,
) -> None:
    broken = {"resource": {"resourceType": "Bundle", "entry": 5}}
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps({"resourceType": "Bundle", "entry": [*_observations(2500), broken]}))
    prepared = load_prepared(prepare_file_pickled(file))
    assert prepared.resources is None  # none of the 2,500 resources pickled before the break
    assert prepared.error is not None and "Bundle.entry is not a list" in prepared.error
    assert prepared.document is not None  # the raw bytes are still kept


def test_a_resource_whose_identifier_is_a_number_is_prepared_not_a_crash(tmp_path: Path) -> None:
    file = tmp_path / "visit.json"
    file.write_text(
        json.dumps({"resourceType": "Encounter", "id": "e1", "status": "finished", "identifier": 5})
    )
    prepared = prepare_file(file)
    assert prepared.error is None and prepared.resources is not None
    [(resource_type, resource_id, *_, record)] = prepared.resources
    assert (resource_type, resource_id) == ("Encounter", "e1") and record is not None
