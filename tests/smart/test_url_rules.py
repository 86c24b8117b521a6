"""Where a request may go: the bearer token only under the connection's FHIR base, and plain
http only to this machine."""

from __future__ import annotations

import pytest

from phr_desktop.smart.url_rules import (
    InsecureUrl,
    OutsideFhirBase,
    is_loopback_host,
    is_under_base,
    require_secure,
    require_under_base,
    resolve,
)

BASE = "https://ehr.example/api/FHIR/R4"


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example/api/FHIR/R4",
        "https://ehr.example/api/FHIR/R4/",
        "https://ehr.example/api/FHIR/R4/Binary/abc",
        "https://ehr.example/api/FHIR/R4/Observation?patient=1&_count=50&next=https://evil.example",
        "https://EHR.Example/api/FHIR/R4/Binary/abc",  # host names are case-insensitive
        "HTTPS://ehr.example/api/FHIR/R4/Binary/abc",
        "https://ehr.example:443/api/FHIR/R4/Binary/abc",  # the default port, spelled out
        "https://ehr.example/api/FHIR/R4/Binary/abc#page=2",
    ],
)
def test_urls_under_the_base_may_carry_the_token(url: str) -> None:
    assert is_under_base(url, BASE)
    assert is_under_base(url, BASE + "/")  # a base with a trailing slash is the same base


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://evil.example/api/FHIR/R4/Binary/abc", "another host"),
        ("https://ehr.example.evil.example/api/FHIR/R4/Binary/abc", "a look-alike host"),
        ("https://ehr.example./api/FHIR/R4/Binary/abc", "a host with a trailing dot"),
        ("http://ehr.example/api/FHIR/R4/Binary/abc", "another scheme"),
        ("https://ehr.example:8443/api/FHIR/R4/Binary/abc", "another port"),
        ("https://ehr.example:80/api/FHIR/R4/Binary/abc", "http's default port on https"),
        ("https://ehr.example/api/FHIR/R4evil/Binary/abc", "a path that only starts alike"),
        ("https://ehr.example/api/FHIR/Binary/abc", "a path above the base"),
        ("https://ehr.example/api/fhir/R4/Binary/abc", "paths are case-sensitive"),
        ("https://ehr.example/", "the host's root"),
        ("https://ehr.example/api/FHIR/R4/../../admin", "dot segments"),
        ("https://ehr.example/api/FHIR/R4/./Binary/abc", "a single-dot segment"),
        ("https://ehr.example/api/FHIR/R4/%2e%2e/%2E%2E/admin", "encoded dot segments"),
        ("https://ehr.example/api/FHIR/R4/..%2f..%2fadmin", "an encoded slash"),
        ("https://ehr.example/api/FHIR/R4/..\\..\\admin", "backslashes"),
        ("https://ehr.example/api/FHIR/R4%00/Binary", "an encoded NUL"),
        ("https://ehr.example//api/FHIR/R4/Binary/abc", "an empty first segment"),
        ("https://ehr.example/api/FHIR/R4@evil.example/x", "a path segment that only starts alike"),
        ("https://ehr.example@evil.example/api/FHIR/R4/Binary/abc", "userinfo naming the base"),
        ("https://user:pw@ehr.example/api/FHIR/R4/Binary/abc", "userinfo on the right host"),
        ("https://ehr.example:notaport/api/FHIR/R4/Binary/abc", "a port that is not a number"),
        ("ftp://ehr.example/api/FHIR/R4/Binary/abc", "not a web address"),
        ("https:///api/FHIR/R4/Binary/abc", "no host"),
    ],
)
def test_urls_elsewhere_never_get_the_token(url: str, why: str) -> None:
    assert not is_under_base(url, BASE), why


def test_a_base_at_the_hosts_root_admits_every_plain_path_on_that_host() -> None:
    assert is_under_base("https://ehr.example/Binary/1", "https://ehr.example")
    assert is_under_base("https://ehr.example/Binary/1", "https://ehr.example/")
    assert not is_under_base("https://ehr.example/a/../../b", "https://ehr.example/")


def test_relative_references_resolve_under_the_base() -> None:
    assert resolve(BASE, "Binary/abc") == f"{BASE}/Binary/abc"
    assert resolve(BASE + "/", "/Binary/abc") == f"{BASE}/Binary/abc"
    assert resolve(BASE, "Observation?next=https://evil.example") == (
        f"{BASE}/Observation?next=https://evil.example"
    )
    assert resolve(BASE, "https://evil.example/x") == "https://evil.example/x"
    assert not is_under_base(resolve(BASE, "../../admin"), BASE)


def test_a_url_elsewhere_is_refused_with_a_message_that_says_why() -> None:
    with pytest.raises(OutsideFhirBase, match=r"next page at https://evil\.example/x.*not sent"):
        require_under_base("https://user:secret@evil.example/x?token=1", BASE, "next page")
    assert require_under_base(f"{BASE}/Binary/1", BASE, "file") == f"{BASE}/Binary/1"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", "app.localhost"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["128.0.0.1", "10.0.0.1", "localhost.evil.example", "ehr.example", "::2", "", None]
)
def test_hosts_that_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example/fhir",
        "http://127.0.0.1:8080/fhir",
        "http://localhost/fhir",
        "http://[::1]:9/fhir",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert require_secure(url, "FHIR server") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example/fhir",
        "HTTP://ehr.example/fhir",
        "http://127.0.0.1.evil.example/fhir",
        "http://localhost@ehr.example/fhir",
        "http://10.1.2.3/fhir",
    ],
)
def test_plain_http_to_another_machine_is_refused_saying_why(url: str) -> None:
    with pytest.raises(InsecureUrl, match=r"plain http.*unencrypted.*https"):
        require_secure(url, "FHIR server")


@pytest.mark.parametrize("url", ["ehr.example/fhir", "ftp://ehr.example/fhir", "", "https://"])
def test_an_address_that_is_not_a_web_address_is_refused(url: str) -> None:
    with pytest.raises(InsecureUrl, match="must start with https://"):
        require_secure(url, "FHIR server")
