"""The README and the docs/ pages say true things.

- Every ```python block runs as written (each in a fresh namespace and a temp dir).
- A comment on a ``print(...)`` line is a promise of what that line prints: the printed text is
  compared with it (``...`` stands for any text; runs of spaces and line breaks count as one space).
- The README's file map lists every module of ``src/deeplayers``, and nothing that is not there.
- The README stays short (the rest of the documentation lives in docs/).
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import sys
import tokenize
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PACKAGE = ROOT / "src" / "deeplayers"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 250


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the block's first code line, code) for every ```python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)]


BLOCKS = [(path, line, code) for path in PAGES for line, code in python_blocks(path)]


def promises(code: str) -> dict[tuple[int, int], str]:
    """{(first line, last line) of a print(...) statement: the comment on its last line}."""
    comments = {tok.start[0]: tok.string[1:].strip()
                for tok in tokenize.generate_tokens(io.StringIO(code).readline) if tok.type == tokenize.COMMENT}
    found = {}
    for node in ast.walk(ast.parse(code)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "print"
                and node.end_lineno in comments):
            found[(node.lineno, node.end_lineno)] = comments[node.end_lineno]
    return found


def matches(printed: str, promised: str) -> bool:
    """Does ``printed`` read as ``promised``, with ``...`` for any text and whitespace runs as one space?"""
    def squash(s: str) -> str:
        return " ".join(s.split())

    pattern = ".*?".join(re.escape(part) for part in squash(promised).split("..."))
    return re.fullmatch(pattern, squash(printed), flags=re.S) is not None


class PrintRecorder:
    """Stands in for ``print`` inside a block: records what each line of the block printed."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.by_line: dict[int, list[str]] = defaultdict(list)

    def __call__(self, *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
                 flush: bool = False) -> None:
        if file is not None and file is not sys.stdout:
            builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
            return
        buf = io.StringIO()
        builtins.print(*args, sep=sep, end=end, file=buf)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        if frame is not None:
            self.by_line[frame.f_lineno].append(buf.getvalue())
        sys.stdout.write(buf.getvalue())


def run_block(path: Path, line: int, code: str) -> None:
    filename = f"{path.relative_to(ROOT)} (block at line {line})"
    record = PrintRecorder(filename)
    exec(compile(code, filename, "exec"), {"__name__": "__docs__", "print": record})
    for (first, last), promised in promises(code).items():
        printed = [text for l in range(first, last + 1) for text in record.by_line.get(l, [])]
        where = f"{path.relative_to(ROOT)} line {line + last - 1}"
        assert printed, f"{where}: the print promising {promised!r} never ran"
        for text in printed:
            assert matches(text, promised), f"{where}: printed {text.strip()!r}, the comment promises {promised!r}"


def test_every_page_has_its_examples() -> None:
    per_page = {path.name: len(python_blocks(path)) for path in PAGES}
    assert per_page["README.md"] >= 3
    for name in ("network.md", "course.md", "sklearn.md", "data.md", "pictures.md", "search.md", "errors.md"):
        assert per_page[name] >= 1, f"docs/{name} has no python example"


@pytest.mark.parametrize("path,line,code", BLOCKS, ids=[f"{p.relative_to(ROOT)}:{line}" for p, line, _ in BLOCKS])
def test_example_runs_and_prints_what_it_promises(path: Path, line: int, code: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_block(path, line, code)


def test_a_broken_promise_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_block(README, 1, 'print("W[1] is (4, 3)")   # W[1] is (4, ...)\n')
    with pytest.raises(AssertionError, match=r"printed 'W\[1\] is \(4, 3\)', the comment promises 'W\[1\] is \(3, 4\)'"):
        run_block(README, 1, 'print("W[1] is (4, 3)")   # W[1] is (3, 4)\n')
    with pytest.raises(AssertionError, match="never ran"):
        run_block(README, 1, 'if False:\n    print("x")   # x\n')
    multi = 'for l in (1, 2):\n    print(\n        f"layer {l}"\n    )   # layer 1\n'
    with pytest.raises(AssertionError, match="printed 'layer 2'"):
        run_block(README, 1, multi)


def file_map() -> set[str]:
    """The module paths the README's file map table names (a `pkg/` row names the files in its row inside pkg/)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Where things are")
    end = text.find("\n## ", start + 3)
    listed = set()
    for row in text[start:end if end > 0 else None].splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if not row.startswith("|") or len(cells) < 2:
            continue
        first = cells[0].strip("`")
        if first.endswith("/"):
            listed.add(first)
            listed.update(first + name for name in re.findall(r"`([\w/]+\.py)`", row))
        elif first.endswith(".py"):
            listed.add(first)
    return listed


def package_modules() -> set[str]:
    """Every .py file of src/deeplayers as a path relative to it; a sub-package appears as `pkg/` plus its modules."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if "__pycache__" in rel.parts:
            continue
        if len(rel.parts) > 1 and rel.name == "__init__.py":
            found.add(rel.parent.as_posix() + "/")
        else:
            found.add(rel.as_posix())
    return found


def test_the_file_map_lists_every_module() -> None:
    listed, present = file_map(), package_modules()
    assert "network.py" in listed and "__init__.py" in listed
    assert not present - listed, f"README's file map ('## Where things are') lacks: {sorted(present - listed)}"
    assert not listed - present, f"README's file map lists what src/deeplayers does not have: {sorted(listed - present)}"


def test_the_readme_stays_short() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; move details to a docs/ page (at most {MAX_README_LINES})"


def test_the_readme_links_lead_somewhere() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([\w./:-]+)(?:#[\w-]*)?\)", text)     # not g[l](Z[l]): no brackets in a path
    local = [link for link in links if "://" not in link]
    assert len(local) >= 9, local
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
