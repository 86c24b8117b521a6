"""The files a resource points at (DocumentReference content, DiagnosticReport presentedForm),
and which of them sync may fetch: only those under the connection's FHIR base. The others are
never requested; the patient sees them as links to open in the browser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from phr_desktop.smart.url_rules import is_under_base, resolve

WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class AttachmentLink:
    url: str  # as the resource gives it (maybe relative to the FHIR base)
    content_type: str | None
    title: str


def attachment_links(resource: dict[str, Any]) -> list[AttachmentLink]:
    """The attachments that name a URL instead of carrying their bytes (`data`)."""
    if resource.get("resourceType") == "DocumentReference":
        attachments = [
            c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)
        ]
    else:
        attachments = list(resource.get("presentedForm") or [])
    links = []
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("data"):
            continue
        url, content_type = attachment.get("url"), attachment.get("contentType")
        if isinstance(url, str) and url.strip():
            links.append(
                AttachmentLink(
                    url.strip(),
                    content_type if isinstance(content_type, str) and content_type else None,
                    str(attachment.get("title") or ""),
                )
            )
    return links


def fetchable(link: AttachmentLink, fhir_base: str) -> bool:
    """True when the file is under the FHIR base, so it may be asked for with the token."""
    return is_under_base(resolve(fhir_base, link.url), fhir_base)


def external_links(resource: dict[str, Any], fhir_base: str | None) -> list[AttachmentLink]:
    """Web links the patient may open: http(s) attachment URLs outside `fhir_base` (all of them
    for a resource that did not come from a FHIR server)."""
    out = []
    for link in attachment_links(resource):
        try:
            scheme = urlsplit(link.url).scheme.lower()
        except ValueError:
            continue  # not a URL a browser could open either
        if scheme not in WEB_SCHEMES:
            continue  # relative (under the base), urn:, data:, file:, javascript:… never
        if fhir_base is None or not fetchable(link, fhir_base):
            out.append(link)
    return out
