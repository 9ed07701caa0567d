"""A network's shape on one machine: two network namespaces joined by a userspace delay line with a rate limit.

    client namespace (A)  tunA 10.203.0.1 ──► delay line (two forked pumps) ──► tunB 10.203.0.2  server namespace (B)

Needs root (``ip netns``, ``/dev/net/tun``). This kernel has no ``netem`` qdisc, so the delay and the rate live in
the delay line: each direction is a pump process that reads IP packets from one TUN device and writes them to the
other when they are due. A packet's departure = when the link is free for it (its size at ``rate``) + the one-way
delay (RTT / 2); a packet that would wait behind more than ``buffer`` bytes is dropped (drop-tail, one BDP by
default), so TCP meets a bottleneck as on a real path. TCP is cubic in both namespaces (as on GitHub's runners),
other sysctls are the kernel's defaults (slow start after idle on).

The MTU is 9000 by default: a pump is Python, and 1 Gbit/s in 1500-byte packets (85,000 a second each way) would
take more CPU than this 2-core machine can spare beside the clients and the server; with 9000 about 14,000. It makes
TCP's initial window 6x larger in bytes than with 1500 (slow start ends about 2.6 round trips sooner).

Everything stays inside the two namespaces (addresses 10.203.0.0/30); :func:`shaped` removes the pumps, the TUN
devices and the namespaces on any exit (an exception, SIGINT, SIGTERM).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import mmap
import os
import select
import signal
import struct
import subprocess
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLIENT_IP = "10.203.0.1"
SERVER_IP = "10.203.0.2"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
#: A pump wakes at least this often to look at its stop flag (seconds).
IDLE_TICK = 0.2


@dataclass(frozen=True)
class Shape:
    name: str
    rtt_ms: float
    rate_mbit: float
    mtu: int = 9000
    buffer_bdp: float = 1.0  # the bottleneck's queue, in bandwidth-delay products

    @property
    def rate_bytes(self) -> float:
        return self.rate_mbit * 1e6 / 8

    @property
    def buffer_bytes(self) -> int:
        return max(4 * self.mtu, int(self.buffer_bdp * self.rate_bytes * self.rtt_ms / 1000))


class LinkCounter:
    """Bytes the delay line has delivered client → server, shared through a small file mapped by every process."""

    def __init__(self, path: Path) -> None:
        path.write_bytes(b"\0" * 16)
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, 16)

    def add(self, count: int) -> None:
        total = struct.unpack_from("<q", self._map, 0)[0]
        struct.pack_into("<q", self._map, 0, total + count)

    def total(self) -> int:
        return int(struct.unpack_from("<q", self._map, 0)[0])

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=30)


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def _pump(src: int, dst: int, shape: Shape, counter: LinkCounter | None) -> None:
    """Forward packets src → dst with the shape's one-way delay, rate and queue; runs until SIGTERM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.set_blocking(src, False)
    delay = shape.rtt_ms / 2000.0
    per_byte = 1.0 / shape.rate_bytes
    limit = shape.buffer_bytes * per_byte  # seconds of queue
    queue: deque[tuple[float, bytes]] = deque()
    link_free = 0.0
    clock = time.monotonic
    while not stop:
        now = clock()
        wait = min(IDLE_TICK, queue[0][0] - now) if queue else IDLE_TICK
        if wait > 0:
            try:
                ready, _, _ = select.select([src], [], [], wait)
            except InterruptedError:
                continue
            now = clock()
        else:
            ready = [src]
        if ready:
            for _ in range(256):  # drain what is there, bounded
                try:
                    packet = os.read(src, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    return
                start = link_free if link_free > now else now
                if start - now > limit:
                    continue  # drop-tail: the bottleneck's queue is full
                link_free = start + len(packet) * per_byte
                queue.append((link_free + delay, packet))
        sent = 0
        while queue and queue[0][0] <= now:
            packet = queue.popleft()[1]
            try:
                os.write(dst, packet)
            except OSError:
                continue  # the receiving side's queue is full or going away: lost, as on a wire
            sent += len(packet)
        if sent and counter is not None:
            counter.add(sent)


@dataclass
class Shaped:
    shape: Shape
    client_ns: str
    server_ns: str
    counter: LinkCounter

    def server_cmd(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.server_ns, *args]

    def client_cmd(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns, *args]


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def enter(ns: str) -> Iterator[None]:
    """Run this thread (and the processes and threads it starts) inside ``ns``; back to where it was afterwards."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _setns(f"/run/netns/{ns}")
        yield
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(home, CLONE_NEWNET)
        os.close(home)


@contextlib.contextmanager
def shaped(shape: Shape, workdir: Path) -> Iterator[Shaped]:
    """The two namespaces, joined by the delay line; everything removed on exit (SIGTERM included)."""
    if os.geteuid() != 0:
        raise SystemExit("the network-shaped benchmark needs root (ip netns, /dev/net/tun)")
    tag = f"{os.getpid() % 100000}"
    a_ns, b_ns, a_tun, b_tun = f"spd-a-{tag}", f"spd-b-{tag}", f"spdta{tag}", f"spdtb{tag}"
    pumps: list[int] = []
    fds: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit("SIGTERM")))
    counter = LinkCounter(workdir / f"link-{tag}.counter")
    allowed = Path("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
    before = allowed.read_text().strip()
    try:
        if "cubic" not in before.split():  # a namespace may only pick an allowed one; restored on exit
            allowed.write_text(f"{before} cubic")
        for ns in (a_ns, b_ns):
            _sh("ip", "netns", "add", ns)
            _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            _sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.tcp_congestion_control=cubic")
        for name, ns, mine, peer in ((a_tun, a_ns, CLIENT_IP, SERVER_IP), (b_tun, b_ns, SERVER_IP, CLIENT_IP)):
            fds.append(_open_tun(name))
            _sh("ip", "link", "set", name, "netns", ns)
            inside = ("ip", "netns", "exec", ns, "ip")
            _sh(*inside, "addr", "add", f"{mine}/32", "peer", f"{peer}/32", "dev", name)
            _sh(*inside, "link", "set", name, "mtu", str(shape.mtu), "txqueuelen", "2000", "up")
        for src, dst, count in ((fds[0], fds[1], counter), (fds[1], fds[0], None)):
            pid = os.fork()
            if pid == 0:  # the pump: never returns into the caller's code
                try:
                    _pump(src, dst, shape, count)
                finally:
                    os._exit(0)
            pumps.append(pid)
        yield Shaped(shape, a_ns, b_ns, counter)
    finally:
        for pid in pumps:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in pumps:
            for _ in range(50):  # bounded: 5 s, then SIGKILL
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        for fd in fds:
            os.close(fd)
        for ns in (a_ns, b_ns):
            _sh("ip", "netns", "del", ns, check=False)
        if allowed.read_text().strip() != before:
            allowed.write_text(before)
        counter.close()
        signal.signal(signal.SIGTERM, previous)


def ping_rtt_ms(net: Shaped, count: int = 10) -> float:
    """The median RTT ping measures client → server (ms)."""
    out = _sh(*net.client_cmd("ping", "-q", "-n", "-c", str(count), "-i", "0.2", SERVER_IP)).stdout
    # rtt min/avg/max/mdev = 25.1/25.3/25.9/0.2 ms
    line = next(ln for ln in out.splitlines() if "min/avg/max" in ln)
    return float(line.split("=")[1].split("/")[1])


RECEIVER = """
import socket, sys
srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
srv.settimeout(60)
conn, _ = srv.accept()
conn.settimeout(120)
total = 0
while (chunk := conn.recv(1 << 20)):
    total += len(chunk)
conn.sendall(str(total).encode())
conn.close()
"""


def raw_rate_mbit(net: Shaped, megabytes: int = 128, port: int = 5599) -> tuple[float, float]:
    """One TCP connection sends ``megabytes`` client → server: (goodput Mbit/s, seconds), connection set-up included."""
    import socket
    import sys

    receiver = subprocess.Popen(net.server_cmd(sys.executable, "-c", RECEIVER, SERVER_IP, str(port)))
    try:
        with enter(net.client_ns):
            for _ in range(100):  # bounded wait for the receiver to listen (10 s)
                try:
                    sock = socket.create_connection((SERVER_IP, port), timeout=2)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the raw-transfer receiver did not start")
            block = b"\0" * (1 << 20)
            started = time.perf_counter()
            with sock:
                sock.settimeout(120)
                for _ in range(megabytes):
                    sock.sendall(block)
                sock.shutdown(socket.SHUT_WR)
                got = int(sock.recv(64) or b"0")
            seconds = time.perf_counter() - started
    finally:
        receiver.wait(timeout=30)
    if got != megabytes << 20:
        raise SystemExit(f"the raw transfer lost bytes: {got} of {megabytes << 20}")
    return got * 8 / seconds / 1e6, seconds
