"""Every connection's HTTP client verifies certificates with one TLS context per process: the
CA bundle is read once, not for each sign-in, sync or disconnect (~70 ms of CPU each)."""

from __future__ import annotations

import ssl

import certifi
import httpx
import pytest

from phr_desktop.services.connections import new_http_client


def _tls_context(client: httpx.Client) -> ssl.SSLContext:
    transport = client._transport
    assert isinstance(transport, httpx.HTTPTransport)
    context = transport._pool._ssl_context
    assert context is not None
    return context


def test_new_clients_read_no_ca_bundle_after_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    new_http_client().close()  # the process's first client may read it
    read: list[str] = []
    where = certifi.where

    def counted() -> str:
        read.append("ca bundle")
        return where()

    monkeypatch.setattr(certifi, "where", counted)
    for _ in range(3):
        new_http_client().close()
    assert read == []


def test_the_shared_context_still_verifies_certificates_and_host_names() -> None:
    first, second = new_http_client(), new_http_client()
    try:
        context = _tls_context(first)
        assert context is _tls_context(second)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded
    finally:
        first.close()
        second.close()
