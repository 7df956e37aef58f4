"""The tests that need the shared data (../shared/data beside the repository, or DEEPLAYERS_SHARED)
reach it only through conftest.py's fixtures: on a fresh clone without it they skip, saying how to
run them; in CI (CI=true) they fail instead, so a missing ../shared never passes unnoticed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = re.compile(r"def \w+\([^)]*\b(cat_data|cat_dir|mnist_dir)\b|\bneed_shared\(")
# the files whose tests (or fixtures) ask for MNIST or the cat pictures: 19 tests when this was written
USERS = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py") if FIXTURES.search(p.read_text()))


def _pytest_setup_only(shared: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    # --setup-only runs the fixtures (where the data is looked for) and none of the tests' bodies
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["DEEPLAYERS_SHARED"] = str(shared)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--setup-only", "-q", "-rsf",
                           *USERS], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_without_the_shared_data_the_tests_skip_saying_how_to_run_them(tmp_path: Path) -> None:
    proc = _pytest_setup_only(tmp_path / "nowhere", None)
    assert proc.returncode == 0, proc.stdout[-2000:]
    reasons = re.findall(r"SKIPPED \[1\] \S+: (.*)", proc.stdout)
    assert re.search(rf"\b{len(reasons)} skipped\b", proc.stdout) and len(reasons) >= 18, proc.stdout[-2000:]
    assert all(
        r.startswith(f"needs the shared data at {tmp_path / 'nowhere' / 'data'}/") and "put the shared/ folder beside "
        "the repository" in r and "or set DEEPLAYERS_SHARED to the folder that holds data/" in r for r in reasons), reasons


def test_in_ci_missing_shared_data_fails_instead_of_skipping(tmp_path: Path) -> None:
    skipped = _pytest_setup_only(tmp_path / "nowhere", None).stdout.count("SKIPPED [1]")
    proc = _pytest_setup_only(tmp_path / "nowhere", "true")
    assert proc.returncode == 1 and re.search(rf"\b{skipped} errors?\b", proc.stdout) and skipped >= 18, proc.stdout[-2000:]
    assert "CI=true: missing shared data fails instead of skipping" in proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]


def test_no_test_reads_the_shared_data_except_through_the_fixtures() -> None:
    for path in sorted((REPO / "tests").glob("*.py")):
        if path.name in ("conftest.py", Path(__file__).name):
            continue
        text = path.read_text()
        # reading the variable or naming the folder is conftest.py's job (handing SHARED to a child is fine)
        assert not re.search(r"""environ(\.get\(|\[)["']DEEPLAYERS_SHARED|["']shared["']""", text), (
            f"{path.name} builds a path to the shared data itself; use the cat_data / cat_dir / mnist_dir fixtures")
