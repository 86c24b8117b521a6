"""Why a share could not be made or opened; each message says what happened in plain words."""

from __future__ import annotations


class ShareError(Exception):
    """A share could not be created or opened. Nothing of its content was shown."""


class WrongShareKey(ShareError):
    """The key (or the passcode) does not open this file, or the file was changed."""


class ShareExpired(ShareError):
    """The share's validity window (`nbf` … `exp`) does not include now."""


class ShareRejected(ShareError):
    """The file is not in the one format we accept (algorithms, sizes, signature, claims)."""


class SignerMismatch(ShareRejected):
    """The share was signed by another key than the one its share key names: someone who had
    the key re-signed the content."""
