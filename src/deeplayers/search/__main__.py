"""``python -m deeplayers.search ...``: the same program as ``deeplayers search ...``."""

from __future__ import annotations

import sys

from deeplayers.cli import main

if __name__ == "__main__":
    sys.exit(main(["search", *sys.argv[1:]]))
