"""The demo profile: a synthetic AATD patient from resources/demo, created on first use."""

from __future__ import annotations

from phr_desktop.resources import resource_path
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import ProgressCallback, no_progress

DEMO_PROFILE = "demo"
# Printed in the README and by `phr demo`: the demo holds no real data, and a known passphrase
# lets anyone try the CLI and the app on it.
DEMO_PASSPHRASE = "demo-aatd-patient"


def open_demo(profiles: Profiles, progress: ProgressCallback = no_progress) -> tuple[Session, bool]:
    """The unlocked demo profile (created and filled if missing); True when it was just created."""
    created = False
    if profiles.exists(DEMO_PROFILE):
        session = profiles.unlock(DEMO_PROFILE, passphrase=DEMO_PASSPHRASE)
    else:
        session, _recovery_key = profiles.create(DEMO_PROFILE, DEMO_PASSPHRASE)
        created = True
    try:
        files = sorted(resource_path("demo").glob("*.json"))
        session.import_paths(files, progress=progress)  # idempotent: re-running changes nothing
    except BaseException:
        session.close()
        raise
    return session, created
