"""What an attachment URL may answer, and what is kept: raw bytes of the asked type, a FHIR
Binary whose base64 `data` is the file, or a JSON document that is itself the file."""

from __future__ import annotations

import base64

import httpx
import orjson

from phr_desktop.smart.fhir_client import FhirClient, TokenKeeper
from phr_desktop.smart.oauth import TokenSet

BASE = "https://ehr.example/fhir"
TOKENS = TokenSet("access", None, None, "patient/*.rs", "p1")


def _client(body: bytes, content_type: str, asked: list[str]) -> FhirClient:
    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["Accept"])
        return httpx.Response(200, headers={"Content-Type": content_type}, content=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return FhirClient(http, BASE, TokenKeeper(TOKENS, lambda t: t))


def _binary(data: bytes, content_type: str | None) -> bytes:
    resource = {"resourceType": "Binary", "data": base64.b64encode(data).decode()}
    return orjson.dumps(resource | ({"contentType": content_type} if content_type else {}))


def test_a_binary_wrapper_is_decoded_even_for_a_json_attachment() -> None:
    asked: list[str] = []
    inner = b'{"resourceType": "Bundle", "type": "document"}'
    client = _client(_binary(inner, "application/json"), "application/fhir+json", asked)
    assert client.get_binary("Binary/1", 1000, "application/json") == (inner, "application/json")
    assert asked == ["application/fhir+json"]


def test_a_binary_without_its_own_type_takes_the_attachments() -> None:
    client = _client(_binary(b"%PDF", None), "application/fhir+json", [])
    assert client.get_binary("Binary/1", 1000, "application/pdf") == (b"%PDF", "application/pdf")


def test_a_json_document_that_is_not_a_binary_is_the_file_itself() -> None:
    document = b'{"resourceType": "Bundle", "type": "document"}'
    client = _client(document, "application/json", [])
    assert client.get_binary("doc/1", 1000, None) == (document, "application/json")
    assert client.get_binary("doc/1", 10, None) is None  # over the cap


def test_a_binary_whose_data_is_over_the_cap_is_refused() -> None:
    client = _client(_binary(b"x" * 2000, "text/plain"), "application/fhir+json", [])
    assert client.get_binary("Binary/1", 1999, "text/plain") is None
    assert client.get_binary("Binary/1", 2000, "text/plain") == (b"x" * 2000, "text/plain")
