"""``streampixel-deploy`` with one knob of the upload changed, for benchmarks only (bench_network's variants).

python bench/_variant.py NAME deploy ...   (NAME from VARIANTS)
"""

from __future__ import annotations

import sys
from collections.abc import Callable


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


VARIANTS: dict[str, Callable[[], None]] = {
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
