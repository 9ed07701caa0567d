"""Benchmark 2: quick validation of a >= 2 GiB zip with >= 50,000 entries, against ``python -m zipfile -t``.

``verify-archive: quick`` reads only the central directory, so its cost must not grow with the data: it runs
again on a zip with the same entries and twice the data. Both sides are whole processes (interpreter start
included); the in-process time of ``verify_quick`` is shown too. The zips are freshly written, so both sides
first read them from the page cache (the peer's advantage: it reads every byte); then once more with the
zip's pages dropped from the cache.

Target: >= 50x faster than the peer, and flat when the data doubles.
"""

from __future__ import annotations

import os
import sys
import time
import zipfile
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

from _common import MIB, Row, drop_from_page_cache, median, print_rows, run, workdir

ENTRIES = int(os.environ.get("BENCH_VERIFY_ENTRIES", "60000"))
ENTRY_BYTES = 36_000  # 60,000 x 36 kB = 2.16 GB
RUNS = 5
RUNS_CALL = 9

OURS = (
    "import sys; from pathlib import Path; from streampixel_deploy.build.archive import verify_quick; "
    "verify_quick(Path(sys.argv[1]))"
)


def make_zip(path: Path, entries: int, entry_bytes: int) -> Path:
    """A UE-shaped zip: an exe at the root of one folder, then many stored content files."""
    pool = os.urandom(entry_bytes + 4096)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr("MyGame/MyGame.exe", b"MZ" + pool[:4096])
        for i in range(entries - 1):
            start = i % 4096
            zf.writestr(f"MyGame/Content/Chunk{i // 1000:03}/Asset_{i:06}.uasset", pool[start : start + entry_bytes])
    return path


def _cross_check_cost(path: Path) -> tuple[float, float, float]:
    """verify_quick() with and without the local-header cross-check (turns taken), and the bare reads it makes."""
    from streampixel_deploy.build import archive, zipwalk

    with_check: list[float] = []
    without_check: list[float] = []
    for _ in range(RUNS_CALL):
        for times, skip in ((with_check, False), (without_check, True)):
            with mock.patch.object(archive, "_check_local_headers", lambda *_: None) if skip else nullcontext():
                started = time.perf_counter()
                archive.verify_quick(path)
                times.append(time.perf_counter() - started)
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        _count, cd_offset, cd_size = zipwalk._find_central_directory(fh, size, path, "zip-path")
        fh.seek(cd_offset)
        entries = zipwalk._read_entries(fh.read(cd_size), _count, path, "zip-path")
        reads: list[float] = []
        for _ in range(RUNS_CALL):
            started = time.perf_counter()
            for raw, offset in zip(entries.raw_names, entries.offsets, strict=True):
                os.pread(fh.fileno(), 30 + len(raw), offset)
            reads.append(time.perf_counter() - started)
    return median(with_check), median(without_check), median(reads)


def main() -> list[Row]:
    with workdir("verify") as tmp:
        small = make_zip(tmp / "build-2g.zip", ENTRIES, ENTRY_BYTES)
        large = make_zip(tmp / "build-4g.zip", ENTRIES, 2 * ENTRY_BYTES)
        sizes = {small: small.stat().st_size, large: large.stat().st_size}

        ours_proc = {z: median([run([sys.executable, "-c", OURS, str(z)]).seconds for _ in range(RUNS)]) for z in sizes}
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from streampixel_deploy.build.archive import verify_quick

        ours_call: dict[Path, float] = {}
        for z in sizes:
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                verify_quick(z)
                times.append(time.perf_counter() - started)
            ours_call[z] = median(times)
        cross_check = _cross_check_cost(small)
        peer = {z: run([sys.executable, "-m", "zipfile", "-t", str(z)]).seconds for z in sizes}
        # Cold: the zip's pages dropped from the cache first (a zip bigger than RAM, or read the next day).
        drop_from_page_cache(small)
        peer_cold = run([sys.executable, "-m", "zipfile", "-t", str(small)]).seconds
        drop_from_page_cache(small)
        ours_cold = run([sys.executable, "-c", OURS, str(small)]).seconds
        print(f"  cold cache: ours {ours_cold:.3f} s, python -m zipfile -t {peer_cold:.2f} s")
        for z, size in sizes.items():
            print(
                f"  {z.name}: {size / MIB:,.0f} MiB, {ENTRIES} entries: ours {ours_proc[z]:.3f} s "
                f"(function {ours_call[z] * 1000:.0f} ms), python -m zipfile -t {peer[z]:.2f} s"
            )

    with_check, without_check, floor = cross_check
    print(
        f"  cross-checks: verify_quick {with_check * 1000:.0f} ms, without the local headers "
        f"{without_check * 1000:.0f} ms, the {ENTRIES:,} header reads alone {floor * 1000:.0f} ms"
    )
    gib = {z: sizes[z] / 1024**3 for z in sizes}
    label = f"2 quick check, {ENTRIES:,} entries"
    return [
        Row(
            label,
            f"{gib[small]:.2f} GiB zip, whole process",
            f"{ours_proc[small]:.3f} s",
            f"{peer[small]:.2f} s (python -m zipfile -t)",
            f"{peer[small] / ours_proc[small]:.0f}x",
            ">= 50x",
            peer[small] / ours_proc[small] >= 50,
        ),
        Row(
            label,
            f"{gib[small]:.2f} GiB zip, verify_quick() call only",
            f"{ours_call[small] * 1000:.0f} ms",
            f"{peer[small]:.2f} s",
            f"{peer[small] / ours_call[small]:.0f}x",
            "-",
            None,
        ),
        Row(
            label,
            f"cost of the local-header cross-check (verify_quick() with it minus without it, median of {RUNS_CALL})",
            f"{(with_check - without_check) * 1000:.0f} ms",
            f"{floor * 1000:.0f} ms ({ENTRIES:,} bare os.pread calls of the same headers: the floor)",
            f"{(with_check - without_check) / floor:.2f}x the floor",
            "< 100 ms",
            with_check - without_check < 0.1,
        ),
        Row(
            label,
            f"{gib[small]:.2f} GiB zip, whole process, cold page cache",
            f"{ours_cold:.3f} s",
            f"{peer_cold:.2f} s",
            f"{peer_cold / ours_cold:.0f}x",
            ">= 50x",
            peer_cold / ours_cold >= 50,
        ),
        Row(
            label,
            f"data doubled ({gib[large]:.2f} GiB, ZIP64): ours {gib[large]:.2f} GiB vs ours {gib[small]:.2f} GiB",
            f"{ours_proc[large]:.3f} s",
            f"{ours_proc[small]:.3f} s (peer on the doubled zip: {peer[large]:.2f} s)",
            f"{ours_proc[large] / ours_proc[small]:.2f}x",
            "flat (<= 1.2x)",
            ours_proc[large] / ours_proc[small] <= 1.2,
        ),
    ]


if __name__ == "__main__":
    print_rows(main())
