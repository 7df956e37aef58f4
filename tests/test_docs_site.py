"""The documentation site (mkdocs.yml, docs/, the API reference from the docstrings) builds with
``mkdocs build --strict``: a broken link, a missing snippet or a docstring the reference cannot
render fails the build, and so this test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = build(ROOT / "mkdocs.yml", site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    pages = [next(iter(entry.values())) for entry in nav]
    assert set(pages) == {p.name for p in (ROOT / "docs").glob("*.md")}, "every docs/ page is in mkdocs.yml's nav"
    for page in pages:
        html = site / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")
        assert html.is_file(), html
    text = {page: (site / page / "index.html").read_text(encoding="utf-8") for page in ("network", "reference", "performance")}
    assert "XOR-like labels" in text["network"], "the README's Network example is included in the network page"
    assert 'id="deeplayers.network.Network"' in text["reference"], "the API reference renders the docstrings"
    assert "Agreement (same math)" in text["performance"], "the benchmark report is included in the performance page"


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "index.md").write_text("# deeplayers\n\nSee [the missing page](missing.md).\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\n", encoding="utf-8")
    done = build(config, tmp_path / "site")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "'missing.md', but the target is not found" in output and "strict mode" in output, output


def test_the_api_reference_covers_every_public_module() -> None:
    package = ROOT / "src" / "deeplayers"
    public = {p.stem for p in package.glob("*.py") if not p.name.startswith("_")}
    public |= {p.parent.name for p in package.glob("*/__init__.py")}
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    referenced = set(re.findall(r"^::: deeplayers\.(\w+)", text, flags=re.M))
    assert not public - referenced, f"docs/reference.md lacks '::: deeplayers.X' for {sorted(public - referenced)}"
