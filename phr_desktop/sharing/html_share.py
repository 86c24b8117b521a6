"""The browser form of a share: one self-contained HTML file holding the same JWE as the
`.phrshare` and the small viewer in `resources/share_viewer/` (plain JavaScript and CSS).

The viewer's script and style are inlined here and named in the page's Content-Security-Policy
by their SHA-256 hashes; everything else is forbidden (`default-src 'none'`), so the page can
run only its own code and can fetch, post or load nothing. The JWE and the AATD value sets
travel as non-executable data blocks. Nothing about the patient is outside the JWE: the title
is the same for every share.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

import orjson

from phr_desktop.resources import load_json, resource_path
from phr_desktop.sharing.errors import ShareError

HTML_SUFFIX = ".html"
_VIEWER = ("share_viewer",)
_SCRIPTS = ("crypto.js", "records.js", "ui.js")  # in this order: each builds on the last
_PLACEHOLDER = re.compile(r"\{\{([A-Z]+)\}\}")
_JWE_CHARACTERS = re.compile(rb"^[A-Za-z0-9_.\-]+$")


def _source(name: str) -> str:
    return resource_path(*_VIEWER, name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(script: str, style: str) -> str:
    """Only this page's own script and style, by hash; no network, no forms, no frames."""
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_hash(script)}",
            f"style-src {_hash(style)}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


@cache
def _viewer_parts() -> tuple[str, str, str, str]:
    """(template, script, style, value sets) — read once; a missing file is a packaging bug."""
    script = "\n".join(_source(name) for name in _SCRIPTS)
    style = _source("viewer.css")
    if "</script" in script.lower() or "</style" in style.lower():
        raise ShareError("The share viewer's source closes its own tag; it cannot be inlined.")
    pack = orjson.dumps(load_json("valuesets", "aatd.json")).decode("utf-8")
    # JSON inside <script> must not close the element: "</" is written as "<\/" (same JSON).
    pack = pack.replace("</", "<\\/")
    return _source("viewer.html"), script, style, pack


def html_share_bytes(jwe: bytes) -> bytes:
    """The `.html` for a sealed share: the viewer with this JWE inside, nothing else."""
    if not _JWE_CHARACTERS.match(jwe):
        raise ShareError("The sealed share is not a JWE compact serialisation.")
    template, script, style, pack = _viewer_parts()
    values = {
        "CSP": content_security_policy(script, style),
        "STYLE": style,
        "SCRIPT": script,
        "PACK": pack,
        "JWE": jwe.decode("ascii"),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template).encode("utf-8")
