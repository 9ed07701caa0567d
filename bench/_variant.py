"""``streampixel-deploy`` with one knob of the upload changed, for benchmarks only (bench_network's variants).

python bench/_variant.py NAME deploy ...   (NAME from VARIANTS)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def _hash_ahead(mib: int) -> Callable[[], None]:
    def apply() -> None:
        from streampixel_deploy.hosting import s3

        defaults = s3.S3Host.__init__.__kwdefaults__
        assert defaults is not None
        defaults["hash_ahead"] = mib << 20

    return apply


def _concurrency(count: int) -> Callable[[], None]:
    def apply() -> None:
        from streampixel_deploy.hosting import s3

        defaults = s3.S3Host.__init__.__kwdefaults__
        assert defaults is not None
        defaults["concurrency"] = count

    return apply


def _no_pull() -> None:
    from streampixel_deploy.hosting import s3_transfer

    s3_transfer.PULL = False


def _trace() -> None:
    """Time-stamp (ms since the process started) each S3 call, each https GET and each new connection, one line
    each to the file ``BENCH_TRACE`` names: where the round trips before and after the body go."""
    import os
    import time

    import botocore.client
    import requests
    import urllib3.connection

    started = time.monotonic() - (time.clock_gettime(time.CLOCK_BOOTTIME) - _process_start())
    out = open(os.environ.get("BENCH_TRACE", os.devnull), "a", buffering=1)  # noqa: SIM115

    def say(what: str) -> None:
        out.write(f"{os.getpid()} {(time.monotonic() - started) * 1000:8.1f} {what}\n")

    def wrap(owner: Any, name: str, label: Callable[..., str]) -> None:
        original = getattr(owner, name)

        def traced(*args: Any, **kwargs: Any) -> Any:
            what = label(*args, **kwargs)
            say(f"start {what}")
            try:
                return original(*args, **kwargs)
            finally:
                say(f"end   {what}")

        setattr(owner, name, traced)

    wrap(
        botocore.client.BaseClient,
        "_make_api_call",
        lambda _self, op, params, *a, **k: f"{op} {params.get('PartNumber', '')}",
    )
    wrap(requests.Session, "send", lambda _self, request, *a, **k: f"{request.method} (requests)")
    wrap(urllib3.connection.HTTPConnection, "connect", lambda self, *a, **k: f"connect {self.host}:{self.port}")
    say("variant applied")
    import atexit

    atexit.register(say, "exit")


def _process_start() -> float:
    """Seconds since boot when this process started (Linux: /proc/self/stat's 22nd field, in clock ticks)."""
    import os

    fields = open("/proc/self/stat").read().rpartition(")")[2].split()  # noqa: SIM115
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


VARIANTS: dict[str, Callable[[], None]] = {
    "trace": _trace,
    "ahead64": _hash_ahead(64),
    "ahead128": _hash_ahead(128),
    "conc4": _concurrency(4),
    "conc10": _concurrency(10),
    "conc16": _concurrency(16),
    "nopull": _no_pull,
}

if __name__ == "__main__":
    VARIANTS[sys.argv[1]]()
    from streampixel_deploy.cli import main

    sys.argv = ["streampixel-deploy", *sys.argv[2:]]
    sys.exit(main())
