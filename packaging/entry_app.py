"""PyInstaller's entry script for the `phr-desktop` executable (the app)."""

import sys

from phr_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
