"""The loopback redirect: a listener on 127.0.0.1 with an OS-chosen port that takes one callback.

RFC 8252 §7.3: native apps receive the authorization response on the loopback interface, on
any port; listening on 127.0.0.1 (not "localhost") keeps it off other interfaces. Any local
program can reach that port, so a callback whose `state` is not the one we sent is answered
and ignored: it must not use up the listener before the provider's real answer arrives.
"""

from __future__ import annotations

import hmac
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>phr-desktop</title>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{body}</p></body></html>"
)
_IGNORED_PAGE = _PAGE.format(
    title="This answer was ignored",
    body="It does not belong to the sign-in phr-desktop is waiting for. If you are signing in, "
    "finish on the provider's page.",
).encode()


class LoopbackListener:
    """Start, read `redirect_uri`, then `wait(timeout)` for the one callback's query."""

    def __init__(self) -> None:
        self._received = threading.Event()
        self._params: dict[str, str] = {}
        self._state: str | None = None  # until set, every callback is ignored
        self._taken = False
        self._lock = threading.Lock()
        self.ignored = 0  # callbacks answered and dropped for a wrong or missing state
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if not listener._take(query):
                    self._send_page(400, _IGNORED_PAGE)
                    return
                failed = "error" in query
                page = _PAGE.format(
                    title="Sign-in was not completed" if failed else "You are signed in",
                    body="Return to phr-desktop for details. You can close this tab."
                    if failed
                    else "phr-desktop is fetching your records. You can close this tab.",
                ).encode()
                self._send_page(200, page)
                listener._received.set()  # after the page: closing must not cut it off

            def _send_page(self, status: int, page: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: object) -> None:
                """Silent: the query holds the authorization code, which must not be logged."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="phr-loopback", daemon=True
        )
        self._thread.start()

    def expect_state(self, state: str) -> None:
        """Accept only the callback that carries `state` (the one sent to the provider)."""
        self._state = state

    def _take(self, query: dict[str, str]) -> bool:
        """Keep the first callback with the expected state; count and drop any other."""
        with self._lock:
            expected = self._state
            if (
                expected is None
                or self._taken
                or not hmac.compare_digest(query.get("state", "").encode(), expected.encode())
            ):
                self.ignored += 1
                return False
            self._params, self._taken = query, True
            return True

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def wait(
        self, timeout: float | None, cancelled: threading.Event | None = None
    ) -> dict[str, str] | None:
        """The callback's query parameters, or None on timeout or cancel."""
        step = 0.2
        remaining = timeout
        while remaining is None or remaining > 0:
            if self._received.wait(step if remaining is None else min(step, remaining)):
                return dict(self._params)
            if cancelled is not None and cancelled.is_set():
                return None
            if remaining is not None:
                remaining -= step
        return None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
