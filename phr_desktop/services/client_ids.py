"""The app's registered client id per EHR vendor: asked for once, used for every organisation
of that vendor, kept beside the profiles (not in one: it is the app's, not the person's).

A SMART client id of a public (PKCE) app is not a secret: it is sent in the browser's address
bar at every sign-in. It is still written 0600 like every file of ours.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from phr_desktop.domain.ehr_vendors import vendor
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.output_files import output_error, write_output_bytes

_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, no spaces, as OAuth allows


def checked_client_id(value: str) -> str:
    value = value.strip()
    if not _CLIENT_ID.fullmatch(value):
        raise ServiceError(
            "An app id (client id) is 1 to 200 visible characters without spaces, as the "
            "vendor's developer site shows it; copy it from there."
        )
    return value


class ClientIds:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "settings" / "client-ids.json"

    def all(self) -> dict[str, str]:
        try:
            value = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError):
            # A damaged settings file costs the user one question per vendor, never a crash.
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items() if isinstance(v, str) and v}

    def get(self, vendor_code: str) -> str | None:
        return self.all().get(vendor_code) if vendor_code else None

    def set(self, vendor_code: str, client_id: str) -> None:
        if not vendor_code:
            raise ServiceError("A client id is kept per EHR vendor; this provider names none.")
        ids = self.all()
        ids[vendor_code] = checked_client_id(client_id)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(self.path.parent, exc) from None
        write_output_bytes(self.path, orjson.dumps(ids, option=orjson.OPT_SORT_KEYS))

    def forget(self, vendor_code: str) -> bool:
        ids = self.all()
        if ids.pop(vendor_code, None) is None:
            return False
        write_output_bytes(self.path, orjson.dumps(ids, option=orjson.OPT_SORT_KEYS))
        return True


def missing_client_id_message(vendor_code: str) -> str:
    """What to do when no client id is known for a vendor, in plain words."""
    v = vendor(vendor_code)
    where = f" Register at {v.registration_url}." if v.registration_url else ""
    if not vendor_code:
        return (
            "This provider needs phr-desktop's registered app id (client id). "
            f"{v.how_to_register} Then pass --client-id ID."
        )
    return (
        f"Connecting to an organisation on {v.name} needs phr-desktop's app id (client id) "
        f"registered with {v.name}. {v.how_to_register}{where} Then pass --client-id ID once: "
        f"it is kept for every {v.name} organisation."
    )
