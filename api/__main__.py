"""``python -m api <command>``: the same command line as ``yunshang``."""

from __future__ import annotations

import sys

from api.cli import main

if __name__ == "__main__":
    sys.exit(main())
