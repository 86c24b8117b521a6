"""Keep the unlocked data key out of core dumps: called first thing by `phr` and `phr-desktop`.

A crash of a process holding an unlocked vault would otherwise write its memory (the data key,
decrypted records) to a core file any later reader of the disk could open.

- Linux: the core-size limit is set to 0 (inherited by child processes, the import worker
  too) and the process is marked not dumpable (`prctl(PR_SET_DUMPABLE, 0)`), which also stops
  other processes of the same user from attaching a debugger or reading `/proc/<pid>/mem`.
  A core handler in `core_pattern` (systemd-coredump, apport) honours both.
- macOS: the core-size limit is set to 0. `ptrace(PT_DENY_ATTACH)` is not used: it would also
  stop crash reports, and a debugger of the same user is no worse than that user's disk access.
- Windows: there are no core files; Windows Error Reporting writes a minidump only when an
  administrator set up `LocalDumps` in the registry, which an app cannot turn off for itself.
  Nothing is done there (written down in the README).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

PR_SET_DUMPABLE = 4


def harden_process() -> list[str]:
    """Turn off core dumps where the OS allows it; returns what was done. Never raises: an OS
    that refuses (a sandbox) must not stop the app from starting."""
    done: list[str] = []
    if sys.platform == "win32":
        return done
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        done.append("RLIMIT_CORE=0")
    except (ImportError, OSError, ValueError):
        pass
    if sys.platform.startswith("linux") and _set_not_dumpable():
        done.append("PR_SET_DUMPABLE=0")
    return done


def _set_not_dumpable() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False
