"""Bodies for a caller that lets go of them at once (the import's worker) skip the copy that
fits orjson's buffer to the body; the text and hash are the same either way (issue 16)."""

from __future__ import annotations

import tracemalloc

import orjson

from phr_desktop.interop.fhir.fhir_json import iter_parse_fhir_json

BUNDLE = orjson.dumps(
    {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {"resourceType": "Observation", "id": f"o{i}", "valueQuantity": {
                "value": 1.50 + i, "unit": "mg"}}}
            for i in range(50)
        ]
        + [{"resource": {"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}}]}}],
    }
)  # fmt: skip


def test_unfitted_bodies_are_the_same_text_and_hash() -> None:
    fitted = list(iter_parse_fhir_json(BUNDLE, "b.json"))
    unfitted = list(iter_parse_fhir_json(BUNDLE, "b.json", fit=False))
    assert len(fitted) == 51
    assert [(r.body, r.sha256) for r in unfitted] == [(r.body, r.sha256) for r in fitted]


def test_kept_bodies_are_fitted_by_default() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = list(iter_parse_fhir_json(BUNDLE, "b.json"))
        bodies = [r.body for r in kept]
        del kept
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert sum(map(len, bodies)) < 6_000
    assert held < 51 * 4096  # orjson's own buffers would hold 4 KiB each
