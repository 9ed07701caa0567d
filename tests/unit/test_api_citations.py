"""Citations of the API notes (issue 28): every ``§N`` names a section of docs/streampixel-api.md.

Code, tests and docs cite our notes on Streampixel's API as ``docs/streampixel-api.md §6.1``. They used to cite
"reference §N", a document users do not have; the few left are in files other engineers were editing when the
citations moved (``LEFT``). That list must only shrink: when you touch one of those files, point its citations at
docs/streampixel-api.md and lower (or drop) its entry.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "docs" / "streampixel-api.md"
SCANNED = ("src", "tests", "docs")
THIS = Path(__file__).resolve()

#: Files that still hold old "reference §" citations, and how many lines of them at most. Must shrink to empty.
LEFT: dict[str, int] = {}

OLD = re.compile(r"reference §")
#: ``docs/streampixel-api.md §6.1``, and any ``§N`` chained after it (``§8.4, §11.14``, ``§8.4 and §11``).
CITATION = re.compile(r"streampixel-api\.md\)? (§\d+(?:\.\d+)*(?:(?:, | and | or )§\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
#: The old reference's "§12 #9" form.
OLD_FORM = re.compile(r"§\d+ #\d+")


def sections() -> set[str]:
    """The numbers of the notes' headings (``## 5 Rate limits``, ``### 6.1 Upload a build``)."""
    text = NOTES.read_text("utf-8")
    return {m.group(1) for m in re.finditer(r"^#{2,6} (\d+(?:\.\d+)*) ", text, re.MULTILINE)}


def scanned_files() -> list[Path]:
    out = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            wanted = path.suffix in (".py", ".md", ".yaml", ".yml") and "__pycache__" not in path.parts
            if wanted and path.resolve() != THIS and path.is_file():
                out.append(path)
    return out


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_notes_number_their_sections() -> None:
    found = sections()
    for needed in ("2", "4", "5", "6.1", "6.2", "6.3", "6.4", "6.6", "7", "7.1", "8.1", "8.4", "9.2", "11", "11.1"):
        assert needed in found, f"docs/streampixel-api.md has no section {needed}"


def test_every_citation_names_a_section() -> None:
    """``docs/streampixel-api.md §X`` everywhere; and in files no longer in ``LEFT`` every bare ``§X`` too (they can
    only cite the notes now)."""
    found = sections()
    bad = []
    for path in scanned_files():
        text = path.read_text("utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            cited = [s for m in CITATION.finditer(line) for s in SECTION.findall(m.group(1))]
            if rel(path) not in LEFT:
                cited = SECTION.findall(line)
                if OLD_FORM.search(line):
                    bad.append(f"{rel(path)}:{lineno}: old '§N #M' form: {line.strip()}")
            bad += [f"{rel(path)}:{lineno}: §{s} is not a section: {line.strip()}" for s in cited if s not in found]
    assert not bad, "\n".join(bad)


def test_old_citations_only_shrink() -> None:
    counts: dict[str, int] = {}
    for path in scanned_files():
        n = sum(1 for line in path.read_text("utf-8", errors="replace").splitlines() if OLD.search(line))
        if n:
            counts[rel(path)] = n
    grown = {f: n for f, n in counts.items() if n > LEFT.get(f, 0)}
    assert not grown, f"'reference §' citations where none may be (cite docs/streampixel-api.md §N): {grown}"
    assert sum(counts.values()) <= sum(LEFT.values())


def test_the_citation_pattern_reads_chains() -> None:
    line = "(docs/streampixel-api.md §8.4, §11.14) and [docs/streampixel-api.md](streampixel-api.md) §8.4 and §11"
    assert [s for m in CITATION.finditer(line) for s in SECTION.findall(m.group(1))] == ["8.4", "11.14", "8.4", "11"]
