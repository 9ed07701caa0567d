"""README's performance rows quote docs/benchmarks.md: every figure with a unit in them is on that page.

The README shows a handful of rows; docs/benchmarks.md holds each figure with its command, date and load. A figure
changed on one page only (a re-run, a stale row) fails here.
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
