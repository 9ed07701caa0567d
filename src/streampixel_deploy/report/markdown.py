"""Markdown for the job summary: any text (API strings included) as data, and the sizes GitHub and Mermaid accept.

Every value is redacted first, then clipped, then escaped: escaping first would hide a secret holding a Markdown
character from the redaction, and redacting escaped text turns ``\\*\\*\\*`` back into a bare ``***``, which
Markdown reads as emphasis. Clipping after the redaction never leaves half a secret behind.
"""

from __future__ import annotations

import re

from streampixel_deploy.core.redact import REDACTED, SECRETS, scrub

#: GitHub drops a step summary over 1 MiB; ours stays well under.
SUMMARY_LIMIT_BYTES = 900 * 1024
#: Mermaid refuses a diagram over 50,000 characters (its default ``maxTextSize``).
CHART_LIMIT = 40_000
#: Characters of one status shown in a table (the pipeline's statuses are a few words).
STATUS_LIMIT = 300
#: Characters of one longer text (a message, an objection) shown in the summary.
TEXT_LIMIT = 4_000
#: Characters of one bar's label in the chart.
LABEL_LIMIT = 60

_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]+")
#: Emphasis, code, links, cells, HTML (parentheses alone are text): each gets a backslash.
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]|~<>&"})
_PLAIN_CODE = re.compile(r"[\w .:/+=@-]*")
_CHART_UNSAFE = re.compile(r"[^\w &'()./,+-]+")
_ESCAPED_MARK = "".join("\\" + c for c in REDACTED)
_FENCE = re.compile(r"^```", re.MULTILINE)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … ({len(text) - limit:,} more characters cut)"


def _escape(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text).translate(_MARKDOWN)


def cell(value: str, limit: int = TEXT_LIMIT) -> str:
    """Any text as data in a table cell or a paragraph: redacted, one line, no Markdown, no HTML, no cell break."""
    return _escape(clip(scrub(value), limit))


def code(value: str, limit: int = TEXT_LIMIT) -> str:
    """A code span for plain values (IDs, hashes, statuses); anything else as an escaped cell."""
    shown = scrub(value)
    return f"`{shown}`" if len(shown) <= limit and _PLAIN_CODE.fullmatch(shown) else cell(value, limit)


def is_plain(value: str) -> bool:
    """True when ``value`` can sit in a code span or a YAML block as it is (an upload ID, a project ID)."""
    return scrub(value) == value and bool(_PLAIN_CODE.fullmatch(value)) and "`" not in value


def chart_text(value: str) -> str:
    """Text for a Mermaid chart: what could end a task, a line or the code block (``:``, ``;``, ``#``, backticks,
    line breaks, HTML) becomes a space; the table beside the chart keeps the exact string."""
    text = " ".join(_CHART_UNSAFE.sub(" ", scrub(value)).split()) or "?"
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1].rstrip() + "…"


def unmarked(markdown: str) -> str:
    """The last pass over the whole summary: any secret of the run's registry, as it is or as :func:`cell` would
    have escaped it, becomes an escaped mark (``\\*\\*\\*``, shown as ``***``, never emphasis).

    The values were redacted before they were escaped; this pass only catches what reached a template some
    other way. It replaces exact strings only: the pattern redactions (``sig=…``, ``user:password@``) ran on each
    value, and run again on escaped text they would take a mark's escapes, or the backslash of the next one.
    """
    for secret in SECRETS.values():
        for form in {secret, _escape(secret)}:
            markdown = markdown.replace(form, _ESCAPED_MARK)
    return markdown


def fit(markdown: str, limit: int = SUMMARY_LIMIT_BYTES) -> str:
    """``markdown`` within ``limit`` bytes of UTF-8: whole lines are kept until the note about the cut fits."""
    size = len(markdown.encode("utf-8"))
    if size <= limit:
        return markdown
    note = (
        f"\n\n> [!WARNING]\n> The rest of this summary was cut: it came to {size:,} bytes, and GitHub drops a step "
        "summary over 1 MiB. The job log has the whole run.\n"
    )
    budget = limit - len(note.encode("utf-8")) - 8
    kept: list[str] = []
    used = 0
    for line in markdown.split("\n"):
        cost = len(line.encode("utf-8")) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    text = "\n".join(kept)
    if len(_FENCE.findall(text)) % 2:  # close a chart or code block, or the note would be inside it
        text += "\n```"
    return text + note
