"""``python -m deeplayers``: the same program as the ``deeplayers`` command (``python -m deeplayers
--help``); with no command at all it runs ``deeplayers demo``, the course's 4-layer model."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
