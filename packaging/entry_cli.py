"""PyInstaller's entry script for the `phr` executable (the command line)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A big import prepares files on a worker process. Frozen, that process is this program
    # started again, and freeze_support() turns it into the worker instead of a second app:
    # the command line is imported after it, so the worker does not load it.
    multiprocessing.freeze_support()
    from phr_desktop.cli import main

    sys.exit(main())
