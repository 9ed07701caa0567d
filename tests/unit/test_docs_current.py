"""Docs that state the present: README's performance rows quote docs/benchmarks.md, and docs/architecture.md's
package map names every module there is.

The README shows a handful of rows; docs/benchmarks.md holds each figure with its command, date and load. A figure
changed on one page only (a re-run, a stale row) fails here, and so does a module added, moved or removed without
the map.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: a number or a range of numbers with a unit, once normalised: ``0.97-1.00x``, ``102 ms``, ``4,290,154 B``
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?(?:-\d[\d,]*(?:\.\d+)?)?(?:x| ?(?:ms|s|MB|B))(?![\w])")


def _normal(text: str) -> str:
    return text.replace("\u2013", "-").replace("\u00d7", "x")  # en dash, multiplication sign


def _performance_rows(readme: str) -> list[str]:
    section = readme.split("\n## Performance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| What | ")]
    assert len(rows) >= 5, "README's performance table was not found"
    return rows


def test_every_readme_benchmark_figure_is_in_docs_benchmarks() -> None:
    readme = _normal((ROOT / "README.md").read_text(encoding="utf-8"))
    page = _normal((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    missing = []
    for row in _performance_rows(readme):
        figures = FIGURE.findall(row)
        assert figures, f"a README performance row without a figure: {row}"
        missing += [(f, row[:60]) for f in figures if not re.search(r"(?<![\d.,])" + re.escape(f), page)]
    assert missing == [], "README figures not in docs/benchmarks.md"


def test_the_package_map_names_every_module() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("\n## Package map", 1)[1].split("\n## ", 1)[0]
    named: set[tuple[str, str]] = set()
    for row in table.splitlines()[1:]:
        cells = row.split(" | ")
        if len(cells) == 2 and not cells[0].startswith("| ---"):
            package = cells[0].strip("| `/")
            named |= {(package, m) for m in re.findall(r"`(\w+)`", cells[1])}
    package_root = ROOT / "src" / "streampixel_deploy"
    modules = {(_package(path, package_root), path.stem) for path in package_root.rglob("*.py")}
    modules -= {(package, "__init__") for package, _ in modules}
    assert modules - named == set(), "modules the package map does not name"
    assert named - modules == set(), "the package map names modules that are gone"


def _package(path: Path, package_root: Path) -> str:
    """The map's name for a module's package: a subpackage, ``leaves`` (``_version``, ``_serving``) or faces."""
    if path.parent != package_root:
        return path.parent.name
    private = path.stem.startswith("_") and not path.stem.startswith("__")
    return "leaves" if private else "faces"
