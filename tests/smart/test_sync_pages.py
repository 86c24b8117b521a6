"""Reading one search page for the sync (services.search_pages.parse_page): one exact parse
gives the resources as the server wrote them and the `next` link, whatever the key order."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from phr_desktop.interop.fhir.fhir_json import parse_fhir_json
from phr_desktop.services.search_pages import parse_page
from phr_desktop.smart.errors import ServerError

OBSERVATION = (
    b'{"resourceType":"Observation","id":"o1","status":"final",'
    b'"valueQuantity":{"value":1.50,"unit":"g/L"},"referenceRange":[{"low":{"value":0.90}}]}'
)
NEXT = "https://ehr.example/fhir/Observation?patient=p&_count=2&_offset=2"


def _page(*, link_last: bool) -> bytes:
    link = b'"link":[{"relation":"self","url":"https://ehr.example/s"},{"relation":"next","url":"'
    link += NEXT.encode() + b'"}]'
    entry = b'"entry":[{"fullUrl":"x","resource":' + OBSERVATION + b',"search":{"mode":"match"}}]'
    parts = [b'"resourceType":"Bundle"', b'"type":"searchset"', entry]
    parts.insert(len(parts) if link_last else 1, link)
    return b"{" + b",".join(parts) + b"}"


@pytest.mark.parametrize("link_last", [False, True])
def test_the_next_link_is_found_before_or_after_the_entries(link_last: bool) -> None:
    page = parse_page(_page(link_last=link_last), "Observation page")
    assert page.next_url == NEXT
    assert [i.resource_id for i in page.items] == ["o1"]


def test_number_literals_are_kept_as_the_server_wrote_them() -> None:
    (item,) = parse_page(_page(link_last=False), "Observation page").items
    assert b'"value":1.50' in item.body and b'"value":0.90' in item.body
    assert item.sha256 == hashlib.sha256(item.body).hexdigest()


def test_a_page_reads_as_a_file_import_reads_the_same_bundle() -> None:
    body = _page(link_last=True)
    from_sync = parse_page(body, "page").items
    from_import = parse_fhir_json(body, "page")
    assert [(i.body, i.sha256) for i in from_sync] == [(i.body, i.sha256) for i in from_import]


def test_a_read_is_one_resource_and_has_no_next_page() -> None:
    page = parse_page(OBSERVATION, "Observation page")
    assert page.next_url is None
    assert [i.resource_type for i in page.items] == ["Observation"]


def test_the_last_page_has_no_next_link() -> None:
    bundle = {"resourceType": "Bundle", "link": [{"relation": "self", "url": "s"}], "entry": []}
    page = parse_page(orjson.dumps(bundle), "page")
    assert page.next_url is None and list(page.items) == []


@pytest.mark.parametrize(
    "body", [b"<html>busy</html>", b'{"entry": []}', b"[1, 2]", b'{"resourceType":"Bundle",']
)
def test_an_unreadable_page_is_a_sync_error_naming_the_page(body: bytes) -> None:
    with pytest.raises(ServerError, match="Observation page"):
        parse_page(body, "Observation page")


def _with_outcome(mode: str | None) -> bytes:
    note = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "warning", "code": "informational", "diagnostics": "Some results hidden"},
            {"severity": "information", "code": "processing", "details": {"text": "Be patient"}},
        ],
    }
    outcome_entry: dict[str, object] = {"resource": note}
    if mode:
        outcome_entry["search"] = {"mode": mode}
    entries = [{"resource": orjson.loads(OBSERVATION), "search": {"mode": "match"}}, outcome_entry]
    return orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})


@pytest.mark.parametrize("mode", ["outcome", None])
def test_outcome_entries_are_the_pages_warnings_never_its_resources(mode: str | None) -> None:
    page = parse_page(_with_outcome(mode), "Observation page")
    assert [i.resource_type for i in page.items] == ["Observation"]
    assert list(page.warnings) == ["Some results hidden"]  # the information issue is no warning


def test_a_page_without_outcome_entries_has_no_warnings() -> None:
    assert parse_page(_page(link_last=True), "Observation page").warnings == ()


def test_an_outcome_entry_spelled_with_escapes_is_still_a_warning_never_a_resource() -> None:
    # Pages are looked through for outcome entries only when they could hold one: a server
    # may escape any letter, so an escape anywhere counts as possibly one.
    escaped = _with_outcome("outcome").replace(b'"mode":"outcome"', b'"mode":"\\u006f\\u0075tcome"')
    body = escaped.replace(b'"OperationOutcome"', b'"Operation\\u004f\\u0075tcome"')
    assert b"utcome" not in body
    page = parse_page(body, "Observation page")
    assert [i.resource_type for i in page.items] == ["Observation"]
    assert list(page.warnings) == ["Some results hidden"]


def test_an_integer_beyond_64_bits_is_kept_as_the_server_wrote_it() -> None:
    big = b"123456789012345678901234567890"
    resource = OBSERVATION.replace(b'"status":"final"', b'"status":"final","_big":' + big)
    body = b'{"resourceType":"Bundle","type":"searchset","entry":[{"resource":' + resource + b"}]}"
    (item,) = parse_page(body, "Observation page").items
    assert b'"_big":' + big in item.body
    assert str(item.resource["_big"]) == big.decode()


def test_nested_bundles_and_entries_without_resources_read_as_an_import_reads_them() -> None:
    entries = [
        {"fullUrl": f"x{n}", "resource": {**orjson.loads(OBSERVATION), "id": f"o{n}"}}
        for n in range(3)
    ]
    nested = {"resourceType": "Bundle", "type": "collection", "entry": entries[:1]}
    bundle = {
        "resourceType": "Bundle",
        "entry": [*entries[1:], {"resource": nested}, {"fullUrl": "no resource"}, 7],
        "link": [{"relation": "next", "url": NEXT}, "not a link"],
    }
    body = orjson.dumps(bundle)
    page = parse_page(body, "page")
    from_import = parse_fhir_json(body, "page")
    assert [(i.body, i.sha256) for i in page.items] == [(i.body, i.sha256) for i in from_import]
    assert [i.resource_id for i in page.items] == ["o1", "o2", "o0"]
    assert page.next_url == NEXT


def test_an_entry_that_is_not_utf8_is_a_sync_error_naming_the_page() -> None:
    body = _page(link_last=True).replace(b'"unit":"g/L"', b'"unit":"g/\xff"')
    with pytest.raises(ServerError, match=r"Observation page.*UTF-8"):
        parse_page(body, "Observation page")


def test_a_bundle_whose_entry_is_not_a_list_is_refused_naming_the_page() -> None:
    # The splitter does not take it: the whole page's reader judges it, as it always has.
    body = b'{"resourceType":"Bundle","entry":{"resource":' + OBSERVATION + b"}}"
    with pytest.raises(ServerError, match=r"Observation page.*Bundle\.entry is not a list"):
        parse_page(body, "Observation page")


def test_a_bundle_whose_link_is_not_a_list_has_no_next_page() -> None:
    body = b'{"resourceType":"Bundle","link":"next","entry":[{"resource":' + OBSERVATION + b"}]}"
    page = parse_page(body, "Observation page")
    assert page.next_url is None
    assert [i.resource_id for i in page.items] == ["o1"]
