"""HL7's CDA R2 XML schema with the SDTC extensions (CDA_SDTC.xsd), loaded once by lxml.

The schema is HL7's (tests/data/schema/, provenance in its README), the validator libxml2's:
neither is ours. It checks what the Schematron does not, the CDA R2 element order and data
types (a `codeSystem` that is no uid, a `value` of the wrong type, an element out of place).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "schema" / "infrastructure" / "cda"
CDA_SDTC = SCHEMA / "CDA_SDTC.xsd"


@cache
def cda_schema() -> etree.XMLSchema:
    # Relative xs:include/xs:import resolve inside tests/data/schema; nothing is fetched.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(CDA_SDTC), parser))


def schema_errors(document: bytes | etree._Element) -> list[str]:
    """Every error of the document against CDA_SDTC.xsd, one line each; [] when valid."""
    tree = etree.fromstring(document) if isinstance(document, bytes) else document
    schema = cda_schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def schema_summary(errors: list[str], limit: int = 30) -> str:
    return f"{len(errors)} schema errors:\n" + "\n".join(errors[:limit])
