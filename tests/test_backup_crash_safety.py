"""`kill -9` of a real process during an automatic backup: the previous backup is intact and
still restores, every backup folder in place is whole and verifies, the profile itself opens
and passes its checks, and the partial folder the dead run left is cleaned up later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.restore import restore_backup
from phr_desktop.vault.backup_copy import PARTIAL_PREFIX, remove_stale_partials, verify_backup
from phr_desktop.vault.keys import KdfParams
from tests.conftest import DEMO_DIR, PASSPHRASE, REPO

# Makes backups with the real services. PHR_TEST_STOP names a point inside a backup where it
# prints "at POINT" and waits on stdin, so the test kills it exactly there; "anywhere" stops
# nowhere and the kill lands wherever the running backup has got to.
HELPER = """\
import os
import sys
from datetime import timedelta
from pathlib import Path

import phr_desktop.services.auto_backup as auto_backup
import phr_desktop.vault.backup_copy as backup_copy
from phr_desktop.services.profiles import Profiles

STOP = os.environ["PHR_TEST_STOP"]


def pause_before(point, real):
    def paused(*args, **kwargs):
        print(f"at {point}", flush=True)
        sys.stdin.readline()
        return real(*args, **kwargs)

    return paused


if STOP == "database-copied":  # the header and description are written after the copy
    backup_copy.write_atomically = pause_before(STOP, backup_copy.write_atomically)
if STOP == "verifying":  # all written, not yet renamed into place
    backup_copy.verify_backup = pause_before(STOP, backup_copy.verify_backup)
if STOP == "rotating":  # the new backup in place, the old not yet removed
    auto_backup._remove_backup = pause_before(STOP, auto_backup._remove_backup)

data_dir, profile = sys.argv[1:]
session = Profiles(Path(data_dir)).unlock(profile, passphrase=os.environ["PHR_PASSPHRASE"])
session.auto_backup.min_interval = timedelta(0)
for n in range(50):
    session.add_note(None, f"note {n} from the child")
    print(f"start {n}", flush=True)
    outcome = session.auto_backup.run_now()
    assert outcome.ok, outcome.error
"""

POINTS = ["database-copied", "verifying", "rotating", "anywhere"]


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_during_a_backup_leaves_the_previous_one_intact(point: str, tmp_path: Path) -> None:
    data_dir, folder = tmp_path / "data", tmp_path / "backups"
    profiles = Profiles(data_dir)
    session, _ = profiles.create("p", PASSPHRASE, KdfParams.minimum())
    with session:
        session.import_paths(sorted(DEMO_DIR.glob("*.json")))
        session.auto_backup.turn_on(folder, keep=1)
        previous = session.auto_backup.run_now()
        assert previous.ok and previous.path is not None
    helper = tmp_path / "helper.py"
    helper.write_text(HELPER, encoding="utf-8")
    env = {**os.environ, "PHR_PASSPHRASE": PASSPHRASE, "PHR_TEST_STOP": point}
    env["PYTHONPATH"] = str(REPO)
    child = subprocess.Popen(
        [sys.executable, str(helper), str(data_dir), "p"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        wanted = "start 1" if point == "anywhere" else f"at {point}"
        seen = []
        for line in child.stdout:
            seen.append(line.strip())
            if line.strip() == wanted:
                break
        assert seen and seen[-1] == wanted, seen
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL

    with profiles.unlock("p", passphrase=PASSPHRASE) as reopened:
        assert reopened.check().ok
        data_key = reopened.vault.data_key
    in_place = sorted(folder.glob("phr-backup-*"))
    assert in_place, "no backup left at all"
    newest_whole = in_place[-1]
    if point != "anywhere":  # (anywhere: the child's first backup rotated it, as it should)
        assert previous.path in in_place  # keep=1, yet the new one never got to replace it
        newest_whole = previous.path if point != "rotating" else newest_whole
    for backup in in_place:
        verify_backup(backup, data_key)  # every backup in place is whole
    restored = Profiles(tmp_path / "elsewhere")
    restore_backup(restored, newest_whole, passphrase=PASSPHRASE)
    with restored.unlock("p", passphrase=PASSPHRASE) as opened:
        assert opened.check().ok and opened.records()

    partials = list(folder.glob(f"{PARTIAL_PREFIX}*"))
    if point in ("database-copied", "verifying"):
        assert partials  # the dead run's work, never renamed into place
    remove_stale_partials(folder, now=time.time())  # a live run's might still be going
    assert list(folder.glob(f"{PARTIAL_PREFIX}*")) == partials
    remove_stale_partials(folder, now=time.time() + 2 * 3600)
    assert not list(folder.glob(f"{PARTIAL_PREFIX}*"))
