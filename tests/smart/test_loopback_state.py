"""The loopback listener waits for the provider's real answer: a callback with a wrong state
(any local program can reach the port) is answered, ignored and does not end the sign-in; the
provider's error text is shown without control characters."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from phr_desktop.smart.discovery import SmartConfiguration
from phr_desktop.smart.errors import AuthorizationError
from phr_desktop.smart.loopback import LoopbackListener
from phr_desktop.smart.oauth import authorize, build_authorization, check_callback, shown_text

CONFIG = SmartConfiguration(
    "https://ehr.example/authorize",
    "https://ehr.example/token",
    issuer="https://ehr.example",
    code_challenge_methods=("S256",),
)


def _callback(listener: LoopbackListener, **query: str) -> httpx.Response:
    return httpx.get(f"{listener.redirect_uri}?{urlencode(query)}", timeout=10)


def test_a_wrong_state_is_ignored_and_the_real_callback_still_arrives() -> None:
    with LoopbackListener() as listener:
        listener.expect_state("the-real-state")
        received: list[dict[str, str] | None] = []
        waiter = threading.Thread(target=lambda: received.append(listener.wait(10)))
        waiter.start()
        forged = _callback(listener, code="attacker", state="forged")
        missing = _callback(listener, code="attacker")
        assert forged.status_code == missing.status_code == 400
        assert "ignored" in forged.text
        assert waiter.is_alive()  # still waiting for the provider
        real = _callback(listener, code="the-code", state="the-real-state")
        waiter.join(10)
        assert real.status_code == 200 and "signed in" in real.text
        assert received == [{"code": "the-code", "state": "the-real-state"}]
        assert listener.ignored == 2


def test_callbacks_before_the_state_is_known_are_ignored() -> None:
    with LoopbackListener() as listener:
        early = _callback(listener, code="c", state="")
        assert early.status_code == 400
        assert listener.wait(0.3) is None


def test_a_sign_in_that_only_gets_forged_callbacks_times_out_saying_so() -> None:
    def forging_browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        httpx.get(f"{redirect}?code=attacker&state=forged", timeout=10)

    expected = r"within 1 s\. 1 answer.*wrong state.*ignored"
    with httpx.Client() as client, pytest.raises(AuthorizationError, match=expected):
        authorize(client, CONFIG, "app", "https://ehr.example/fhir", "s", forging_browser, 1.0)


def test_the_providers_error_description_is_shown_sanitised() -> None:
    pending = build_authorization(
        CONFIG, "app", "https://ehr.example/fhir", "s", "http://127.0.0.1:5/cb"
    )
    description = "bad\nrequest\r\nFAKE: your data was deleted\x1b[31m\u202eevil\u200b" + "x" * 5000
    params = {"state": pending.state, "error": "invalid_request", "error_description": description}
    with pytest.raises(AuthorizationError) as refused:
        check_callback(params, pending, CONFIG)
    message = str(refused.value)
    assert message.startswith("The provider refused the sign-in: bad request FAKE: your data")
    assert not any(ch in message for ch in "\n\r\x1b\u202e\u200b")
    assert len(message) < 300 and "…" in message


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain words", "plain words"),
        ("two\nlines", "two lines"),
        ("tab\tand  spaces", "tab and spaces"),
        ("\u202ereversed", "reversed"),
        ("\x00\x07", ""),
        ("café ✓", "café ✓"),
    ],
)
def test_shown_text_keeps_words_and_drops_control_characters(raw: str, shown: str) -> None:
    assert shown_text(raw) == shown


def test_an_error_with_only_control_characters_still_reads_plainly() -> None:
    pending = build_authorization(CONFIG, "app", "https://ehr.example/fhir", "s", "http://x")
    with pytest.raises(AuthorizationError, match="no reason given"):
        check_callback({"state": pending.state, "error": "\n\x1b"}, pending, CONFIG)
