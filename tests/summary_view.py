"""A job summary as GitHub renders it: read back with a CommonMark parser with tables (markdown-it-py, already in
the dev lock), for the summary's tests (tests/unit/test_summary_render.py, tests/integration/test_summary_e2e.py)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from streampixel_deploy.core import errors


def _parse(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def tokens(markdown: str) -> list[Token]:
    """Every token of ``markdown``, inline children included."""
    flat: list[Token] = []
    for token in _parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def cells(markdown: str) -> dict[str, str]:
    """The tables' rows as rendered text, {first cell: second cell} (the first row of a key wins)."""
    found: dict[str, str] = {}
    row: list[str] = []
    for token in _parse(markdown):
        if token.type == "tr_open":
            row = []
        elif token.type == "inline":
            row.append("".join(c.content for c in token.children or [] if c.type in ("text", "code_inline")))
        elif token.type == "tr_close" and len(row) >= 2:
            found.setdefault(row[0], row[1])
    return found


def headers(markdown: str) -> list[str]:
    """The text of every table header cell."""
    found: list[str] = []
    inside = False
    for token in _parse(markdown):
        inside = {"th_open": True, "th_close": False}.get(token.type, inside)
        if inside and token.type == "inline":
            found.append(token.content.strip())
    return found


def markup_from_data(markdown: str) -> list[str]:
    """Emphasis and HTML: the summary's own Markdown has neither, so any comes from a string."""
    return [t.type for t in tokens(markdown) if t.type in ("em_open", "strong_open") or "html" in t.type]


def error_class_names() -> set[str]:
    """Every class name of the exception tree (none belongs in a summary)."""
    names, todo = set(), [errors.StreampixelDeployError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names
