"""`python -m phr_desktop.cli`: the same as `phr`."""

import sys

from phr_desktop.cli import main

sys.exit(main())
