"""The trials file: one JSON line per finished trial, appended (flush + fsync) as each finishes; a search
started again with the same file skips the stored trials."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .space import _plain


# -- storage ---------------------------------------------------------------------------------------
class _Storage:
    """Finished trials, one JSON line each, appended (flush + fsync) as each finishes."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = None if path is None else Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.dropped = 0
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            # a line cut short by a kill mid-write: drop it from the file so appends start clean
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
            self.dropped += 1
        for n, line in enumerate(data[:cut].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or "id" not in rec:
                    raise ValueError("not a trial record")
            except (ValueError, UnicodeDecodeError):
                print(f"deeplayers.search: {self.path}:{n}: skipping a damaged line", file=sys.stderr)
                self.dropped += 1
                continue
            self.records[rec["id"]] = rec

    def append(self, record: Mapping[str, Any]) -> None:
        clean = {k: v for k, v in record.items() if not k.startswith("_")}
        self.records[clean["id"]] = clean
        if self.path is None:
            return
        line = json.dumps(_finite(_plain(clean)), default=_plain, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def _finite(value: Any) -> Any:
    """inf and nan (a diverged trial's curve, a space's .nan) as null: JSON has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
