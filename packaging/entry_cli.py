"""PyInstaller's entry script for the `phr` executable (the command line)."""

import sys

from phr_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
