"""``python -m deeplayers``: the command line (``python -m deeplayers --help``); with no command it
runs the main job, the course's 4-layer model on built-in data."""

from __future__ import annotations

import argparse
import sys


def _demo(argv: list[str]) -> int:
    from .demo import run_demo

    parser = argparse.ArgumentParser(prog="python -m deeplayers", description=__doc__)
    parser.add_argument("--cat", metavar="DIR", help="folder with the course's train/test_catvnoncat.h5")
    parser.add_argument("--iterations", type=int, default=2500)
    parser.add_argument("--lr", type=float, default=0.0075)
    args = parser.parse_args(argv)
    run_demo(args.cat, args.iterations, args.lr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("--cat") or argv[0] in ("--iterations", "--lr"):
        return _demo(argv)
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
