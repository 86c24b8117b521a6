"""The corpus C-CDA documents (tests/data/ccda/corpus, provenance in its README), for the round
trip test and the interop benchmark."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ccda" / "corpus"


def corpus_documents() -> list[Path]:
    """Every whole C-CDA document of the corpus: not the HL7 section fragments (a `<section>`
    each), nor the Kinsights page that wraps a C-CDA in HTML."""
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file()
        and path.suffix != ".html"
        and b"<ClinicalDocument" in path.read_bytes()[:20_000]
    )
