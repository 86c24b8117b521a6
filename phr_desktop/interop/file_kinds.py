"""What a file holds, told from its first bytes, never from its name: portals hand out C-CDAs
named .txt, .ccd, .cda, .XML or with no extension at all, and patients pick PDFs and photos
by mistake.
"""

from __future__ import annotations

import enum
import re

HEAD_BYTES = 64 * 1024  # far enough to pass the comments some vendors put before the root

_BOM = b"\xef\xbb\xbf"
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_CLINICAL_DOCUMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s>/]")


class FileKind(enum.Enum):
    FHIR_JSON = "FHIR JSON"
    CCDA = "C-CDA"
    HTML_WITH_CCDA = "a web page with a C-CDA inside"
    HTML = "a web page (HTML)"
    XML = "XML that is not a C-CDA document"
    PDF = "a PDF"
    IMAGE = "an image"
    ZIP = "a ZIP archive"
    EMPTY = "an empty file"
    UNKNOWN = "not FHIR JSON or C-CDA XML"

    @property
    def importable(self) -> bool:
        return self in (FileKind.FHIR_JSON, FileKind.CCDA, FileKind.HTML_WITH_CCDA)

    @property
    def is_xml(self) -> bool:
        return self in (FileKind.CCDA, FileKind.HTML_WITH_CCDA, FileKind.HTML, FileKind.XML)

    @property
    def is_document(self) -> bool:
        """A file to keep as a document (a scan, a letter), not records to import."""
        return self in (FileKind.PDF, FileKind.IMAGE)


def _image_type(head: bytes) -> str | None:
    for magic, name in _IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "HEIC"
    return None


def detect(head: bytes) -> FileKind:
    """The kind of file whose first bytes (HEAD_BYTES of them, or all) are `head`."""
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if _image_type(head):
        return FileKind.IMAGE
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return FileKind.ZIP
    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not text:
        return FileKind.EMPTY
    if text[:1] in (b"{", b"["):
        return FileKind.FHIR_JSON
    if text[:1] != b"<":
        return FileKind.UNKNOWN
    html = _HTML_START.search(text[:4096]) is not None
    ccda = _CLINICAL_DOCUMENT.search(text) is not None
    if html:
        return FileKind.HTML_WITH_CCDA if ccda else FileKind.HTML
    return FileKind.CCDA if ccda else FileKind.XML


def describe(kind: FileKind, head: bytes) -> str:
    """ "a PDF", "an image (PNG)": for messages."""
    if kind is FileKind.IMAGE:
        return f"an image ({_image_type(head)})"
    return kind.value


def unwrap_html(data: bytes) -> bytes | None:
    """The C-CDA a web page carries as raw text (bbClear and other "Blue Button" viewers put
    it in a <script type="text/plain"> block), or None when there is none to take out whole.

    Only raw markup is taken: a C-CDA escaped into HTML text (&lt;ClinicalDocument) is not
    found, and the page is refused as a web page.
    """
    start = _CLINICAL_DOCUMENT.search(data)
    if start is None:
        return None
    prefix = data[: start.start()]
    declaration = prefix.rfind(b"<?xml")
    if declaration >= 0 and not prefix[declaration:].split(b"?>", 1)[-1].strip(b" \t\r\n"):
        begin = declaration
    else:
        begin = start.start()
    tag = start.group(0)[1:-1]  # "ClinicalDocument" or "cda:ClinicalDocument"
    end = data.rfind(b"</" + tag + b">")
    if end < begin:
        return None
    return data[begin : end + len(tag) + 3]
