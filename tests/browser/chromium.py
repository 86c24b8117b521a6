"""A real Chromium, headless, driven over the DevTools protocol on a pipe (no WebDriver, no
port: `--remote-debugging-pipe` reads JSON messages on fd 3 and answers on fd 4).

Every network request the page makes is recorded from the protocol's Network domain, so a
test can say that a page made none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


_TRAMPOLINE = """
import fcntl, os, sys
high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
for fd in sys.argv[1:3]:
    os.close(int(fd))
for target, fd in zip((3, 4), high):
    os.dup2(fd, target)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class DevToolsError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The pipe ends become the browser's fds 3 and 4 in a small Python trampoline (no
        # preexec_fn, which is unsafe while threads run): moved above 9 first, so that neither
        # overwrites the other, then duplicated onto 3 and 4, and the browser exec'd.
        self.process = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_child_r), str(from_child_w), executable,
             *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w),
        )  # fmt: skip
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_child, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(1 << 16)
                if not chunk:
                    break
                buffer += chunk
                while b"\0" in buffer:
                    raw, buffer = buffer.split(b"\0", 1)
                    message = json.loads(raw)
                    with self._lock:
                        if "id" in message:
                            self._replies[message["id"]] = message
                        else:
                            self.events.append(message)
                        self._lock.notify_all()

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        with self._lock:
            if not self._lock.wait_for(lambda: ident in self._replies, timeout=60):
                raise DevToolsError(f"no answer to {method}")
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def wait_for_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        with self._lock:
            found = self._lock.wait_for(
                lambda: any(e.get("method") == method for e in self.events), timeout=timeout
            )
            if not found:
                raise DevToolsError(f"no {method} event")
            return next(e for e in self.events if e.get("method") == method)

    def close(self) -> None:
        with suppress(DevToolsError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)


class Page:
    """One tab: open a file, run JavaScript in it, type into it, and read what it requested."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send(
            "Target.attachToTarget", {"targetId": self.target, "flatten": True}
        )["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})

    def open(self, path: Path) -> None:
        self.browser.events.clear()
        self.send("Page.navigate", {"url": path.resolve().as_uri()})
        deadline = time.monotonic() + 30
        while self.evaluate("document.body && document.body.dataset.ready") != "1":
            if time.monotonic() > deadline:
                raise DevToolsError("the page never became ready (did its script run?)")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise DevToolsError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def type_text(self, selector: str, text: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def press(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            params = {"type": kind, "key": key, "windowsVirtualKeyCode": code}
            self.send("Input.dispatchKeyEvent", params)
            if kind == "rawKeyDown" and key == "Enter":
                self.send("Input.dispatchKeyEvent", {"type": "char", "text": "\r"})

    def wait_until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise DevToolsError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [
            e["params"]
            for e in list(self.browser.events)
            if e.get("method") == method and e.get("sessionId") == self.session
        ]

    def requested_urls(self) -> list[str]:
        """Every request this tab made since `open`, the page's own file included."""
        return [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    def console_errors(self) -> list[str]:
        return [
            e["entry"]["text"]
            for e in self._events("Log.entryAdded")
            if e["entry"]["level"] == "error"
        ]


@contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        raise DevToolsError("Chromium is not installed")
    browser = Browser(executable, profile)
    try:
        yield browser
    finally:
        browser.close()
