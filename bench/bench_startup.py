"""Benchmark 4: cold start of ``streampixel-deploy --version`` against ``aws --version``.

Both the module form and the installed console script, median of several runs taken in turns; a bare
``python -c pass`` shows the interpreter's own share. boto3 is imported lazily, so it costs nothing here.

Target: < 150 ms median.
"""

from __future__ import annotations

import os
import sys

from _common import Row, median, print_rows, run, tool

RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "15"))


def main() -> list[Row]:
    commands: dict[str, list[str]] = {
        "python -m streampixel_deploy --version": [sys.executable, "-m", "streampixel_deploy", "--version"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    console = tool("streampixel-deploy")
    if console:
        commands["streampixel-deploy --version"] = [console, "--version"]
    aws = tool("aws")
    if aws:
        commands["aws --version"] = [aws, "--version"]
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, argv in commands.items():
            times[name].append(run(argv).seconds)
    med = {name: median(t) for name, t in times.items()}
    for name, value in med.items():
        print(f"  {name}: median {value * 1000:.0f} ms over {RUNS} runs")

    rows: list[Row] = []
    peer = med.get("aws --version")
    for name in ("python -m streampixel_deploy --version", "streampixel-deploy --version"):
        if name not in med:
            continue
        rows.append(
            Row(
                "4 cold start",
                name,
                f"{med[name] * 1000:.0f} ms",
                f"{peer * 1000:.0f} ms (aws --version)" if peer else "-",
                f"{peer / med[name]:.1f}x faster" if peer else "-",
                "< 150 ms median",
                med[name] < 0.150,
            )
        )
    rows.append(
        Row(
            "4 cold start",
            "python -c pass (the interpreter alone)",
            f"{med['python -c pass'] * 1000:.0f} ms",
            "-",
            "-",
            "-",
            None,
        )
    )
    return rows


if __name__ == "__main__":
    print_rows(main())
