"""The summary's "What changed since the live build" section (``templates/changes.md``), from
:class:`~streampixel_deploy.core.changes.BuildChanges`.

Names come from a zip: they are data, each through :func:`~.markdown.cell`. Each list shows at most
:data:`ROWS` files, then says how many more there are (``--json`` has up to ``JSON_LIMIT`` of each, and every count).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template

from streampixel_deploy.core.changes import JSON_LIMIT, ROOT, BuildChanges, Change
from streampixel_deploy.report.markdown import STATUS_LIMIT, cell, code

#: Files of each kind (added, removed, changed) listed in the summary; then "and N more".
ROWS = 50
#: Top-level folders listed (the largest changes first).
FOLDERS = 20


@cache
def _template() -> Template:
    return Template(
        files("streampixel_deploy").joinpath("templates").joinpath("changes.md").read_text(encoding="utf-8")
    )


def amount(count: int) -> str:
    """Bytes the way the summary gives sizes (kB, MB, GB: powers of 1000)."""
    size = abs(count)
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,} bytes"


def signed(count: int) -> str:
    """A change of size: ``+1.2 MB``, ``-340 bytes``, ``±0``."""
    if count == 0:
        return "±0"
    return ("+" if count > 0 else "-") + amount(count)


def _folder(name: str) -> str:
    return "(files at the root)" if name == ROOT else cell(name + "/")


def _more(total: int, shown: int, what: str = f"(`--json` lists up to {JSON_LIMIT:,} of each kind)") -> str:
    return f"\nand {total - shown:,} more {what}.\n" if total > shown else ""


def _list(title: str, changes: tuple[Change, ...], header: str, row: str) -> str:
    if not changes:
        return ""
    shown = changes[:ROWS]
    lines = [
        row.format(
            name=cell(c.name),
            old=amount(c.old_size or 0),
            new=amount(c.new_size or 0),
            delta=signed((c.new_size or 0) - (c.old_size or 0)),
        )
        for c in shown
    ]
    return (
        f"\n#### {title} ({len(changes):,})\n\n{header}\n" + "\n".join(lines) + "\n" + _more(len(changes), len(shown))
    )


def render_changes(changes: BuildChanges | None) -> str:
    """The section, or "" when there was nothing to compare with."""
    if changes is None:
        return ""
    against = code(changes.against, STATUS_LIMIT)
    if changes.problem is not None:
        lead = f"No comparison with the live build {against} was possible: {cell(changes.problem)}."
        return _template().substitute(lead=lead, folders="", lists="")
    read = f"{changes.fetched_bytes:,} bytes of its zip read in {changes.requests} request(s)"
    if not (changes.added or changes.removed or changes.changed):
        lead = f"Compared with the live build {against}: the same {changes.unchanged:,} files ({read})."
        return _template().substitute(lead=lead, folders="", lists="")
    lead = (
        f"Compared with the live build {against}: {len(changes.added):,} file(s) added, {len(changes.removed):,} "
        f"removed, {len(changes.changed):,} changed (CRC-32 or size), {changes.unchanged:,} the same; "
        f"{signed(changes.delta)} in all ({read}). Sizes are the files' own, uncompressed."
    )
    rows = [
        f"| {_folder(f.name)} | {f.added:,} | {f.removed:,} | {f.changed:,} | {signed(f.delta)} |"
        for f in changes.folders[:FOLDERS]
    ]
    folders = (
        "\n| Top-level folder | Added | Removed | Changed | Size change |\n|---|---:|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n"
        + _more(len(changes.folders), len(rows), "folders")
    )
    lists = (
        _list("Added", changes.added, "| File | Size |\n|---|---:|", "| {name} | {new} |")
        + _list("Removed", changes.removed, "| File | Size |\n|---|---:|", "| {name} | {old} |")
        + _list(
            "Changed",
            changes.changed,
            "| File | Was | Now | Change |\n|---|---:|---:|---:|",
            "| {name} | {old} | {new} | {delta} |",
        )
    )
    return _template().substitute(lead=lead, folders=folders, lists=lists)
