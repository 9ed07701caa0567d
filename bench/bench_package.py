"""Benchmark 3: package a >= 1 GiB UE-like build folder, against Info-ZIP ``zip -r -q -6`` and ``shutil.make_archive``.

The tree: .pak/.ucas/.utoc (incompressible, as UE writes them: ~88% of the bytes), real machine code as
.dll/.exe (ELF libraries from this machine stand in for Windows binaries; they compress about as well), and a
few thousand small text files. Each packer runs as a whole process on the same (page-cached) tree.

Target: >= 3x faster than ``zip -r``, with a zip no more than 5% larger.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from pathlib import Path

from _common import MIB, Row, print_rows, run, tool, workdir, write_random

PAKS = {"pakchunk0-Windows.pak": 700 * MIB, "pakchunk1-Windows.pak": 150 * MIB, "global.ucas": 100 * MIB}
BINARIES_BYTES = 130 * MIB
SMALL_FILES = 3000

OURS = (
    "import sys; from pathlib import Path; from streampixel_deploy.build.packaging import package_dir; "
    "from streampixel_deploy.core.progress import NullReporter; "
    "package_dir(Path(sys.argv[1]), Path(sys.argv[2]), NullReporter())"
)
MAKE_ARCHIVE = "import shutil, sys; shutil.make_archive(sys.argv[2], 'zip', sys.argv[1])"


def _machine_code() -> list[Path]:
    found: list[Path] = []
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/bin", "/usr/lib"):
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_size > 64 * 1024:
                with open(entry.path, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        found.append(Path(entry.path))
    return found


def make_tree(root: Path) -> int:
    top = root / "Windows"
    paks = top / "MyGame/Content/Paks"
    paks.mkdir(parents=True)
    for seed, (name, size) in enumerate(PAKS.items()):
        write_random(paks / name, size, seed=seed + 10)
    write_random(paks / "global.utoc", 2 * MIB, seed=99)
    binaries = top / "MyGame/Binaries/Win64"
    binaries.mkdir(parents=True)
    total = 0
    for i, source in enumerate(_machine_code()):
        if total >= BINARIES_BYTES:
            break
        suffix = ".exe" if i == 0 else ".dll"
        name = "MyGame-Win64-Shipping.exe" if i == 0 else f"{source.stem.replace('.', '_')}_{i}{suffix}"
        shutil.copyfile(source, binaries / name)
        total += (binaries / name).stat().st_size
    (top / "MyGame.exe").write_bytes((binaries / "MyGame-Win64-Shipping.exe").read_bytes()[: 200 * 1024])
    rng = random.Random(4)  # noqa: S311 - benchmark data
    words = [b"Engine", b"Config", b"bEnabled=True", b"Scalability", b"r.Shadow", b"=", b"1", b"0", b"[/Script/]"]
    for i in range(SMALL_FILES):
        folder = top / "Engine/Config" / f"Group{i % 40:02}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"Setting{i:04}.ini").write_bytes(b" ".join(rng.choice(words) for _ in range(rng.randint(20, 600))))
    return sum(p.stat().st_size for p in top.rglob("*") if p.is_file())


def main() -> list[Row]:
    zip_tool = tool("zip")
    with workdir("package") as tmp:
        size = make_tree(tmp / "tree")
        src = tmp / "tree" / "Windows"
        print(f"  tree: {size / MIB:,.0f} MiB in {sum(1 for p in src.rglob('*') if p.is_file()):,} files")
        ours = run([sys.executable, "-c", OURS, str(src), str(tmp / "ours.zip")])
        results = {"ours": (ours.seconds, (tmp / "ours.zip").stat().st_size, ours.peak_rss_mb)}
        if zip_tool:
            peer = run([zip_tool, "-r", "-q", "-6", str(tmp / "infozip.zip"), "."], cwd=src)
            results["zip -r -q -6"] = (peer.seconds, (tmp / "infozip.zip").stat().st_size, peer.peak_rss_mb)
        else:
            print("  Info-ZIP zip is not installed (apt-get install zip): skipped")
        made = run([sys.executable, "-c", MAKE_ARCHIVE, str(src), str(tmp / "shutil")])
        results["shutil.make_archive"] = (made.seconds, (tmp / "shutil.zip").stat().st_size, made.peak_rss_mb)
        for name, (seconds, out, rss) in results.items():
            print(f"  {name}: {seconds:.2f} s, {out / MIB:,.1f} MiB, peak RSS {rss:.0f} MB")

    rows: list[Row] = []
    o_time, o_size, o_rss = results["ours"]
    for name, (seconds, out, rss) in results.items():
        if name == "ours":
            continue
        strict = name.startswith("zip")
        rows.append(
            Row(
                "3 package 1.1 GiB UE-like tree",
                f"time vs {name}",
                f"{o_time:.2f} s",
                f"{seconds:.2f} s",
                f"{seconds / o_time:.1f}x faster",
                ">= 3x faster than zip -r" if strict else "-",
                seconds / o_time >= 3 if strict else None,
            )
        )
        rows.append(
            Row(
                "3 package 1.1 GiB UE-like tree",
                f"zip size vs {name}",
                f"{o_size / MIB:,.1f} MiB",
                f"{out / MIB:,.1f} MiB",
                f"{o_size / out:.3f}x ({(o_size / out - 1) * 100:+.1f}%)",
                "<= 5% larger than zip -r" if strict else "-",
                o_size / out <= 1.05 if strict else None,
            )
        )
        rows.append(
            Row(
                "3 package 1.1 GiB UE-like tree",
                f"peak RSS vs {name}",
                f"{o_rss:.0f} MB",
                f"{rss:.0f} MB",
                f"{o_rss / max(rss, 1):.1f}x",
                "-",
                None,
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(main())
