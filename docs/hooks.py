"""MkDocs hook: the docstrings' Sphinx roles (:class:`~deeplayers.x.Y`, :func:`f`, ...) read as code.

The API reference renders the docstrings as Markdown, which leaves a role as the text ":class:"
before the code span; this drops the role and, as Sphinx does for a leading ``~``, the module path.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def _code(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_code, html)
