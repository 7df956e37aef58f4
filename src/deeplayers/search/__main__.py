"""``python -m deeplayers.search ...``: the same program as ``deeplayers search ...``."""

from __future__ import annotations

import sys

from deeplayers.search import search_command_main

if __name__ == "__main__":
    sys.exit(search_command_main())
