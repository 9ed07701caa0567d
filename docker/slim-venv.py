#!/usr/bin/env python3
"""Cut the image's venv to what streampixel-deploy runs, then prove the program and boto3 still load.

The Dockerfile's build stage runs this with the venv's interpreter, after installing the lock and the package:

1. botocore ships a model for every AWS service (about 19 MB); the program talks to S3 only, and boto3's
   credential chain creates clients of STS (assume-role, web identity: GitHub's OIDC), SSO and SSO-OIDC (IAM
   Identity Center) and Sign-In (``aws login``). The other service folders of botocore's and boto3's data go.
2. Checks, so a cut too deep fails the build instead of a user's run: every module of the package imports (the
   distributions the Dockerfile removed are not needed by any), and a client of every kept service is created
   offline, which reads its model and endpoint rules.

    python slim-venv.py [SITE_PACKAGES]     # default: this interpreter's site-packages
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
import sysconfig
from pathlib import Path

BOTOCORE_SERVICES = ("s3", "sts", "sso", "sso-oidc", "signin")
BOTO3_RESOURCES = ("s3",)
PACKAGE = "streampixel_deploy"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def prune(data: Path, keep: tuple[str, ...]) -> int:
    """Remove every service folder of ``data`` not in ``keep`` (top-level files stay); the bytes removed."""
    missing = [name for name in keep if not (data / name).is_dir()]
    if missing:
        raise SystemExit(f"error: {data} has no {', '.join(missing)}: the list of kept services is out of date")
    removed = 0
    for entry in sorted(data.iterdir()):
        if entry.is_dir() and entry.name not in keep:
            removed += _size(entry)
            shutil.rmtree(entry)
    return removed


def check_imports() -> int:
    """Import every module of the package (``__main__`` would run the CLI); the number imported."""
    package = importlib.import_module(PACKAGE)
    modules = pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
    names = [m.name for m in modules if m.name.rpartition(".")[2] != "__main__"]
    for name in names:
        importlib.import_module(name)
    return len(names)


def check_clients() -> None:
    """A client of every kept service, created without network and without the environment's credentials."""
    import botocore.session

    session = botocore.session.Session()
    for name in BOTOCORE_SERVICES:
        client = session.create_client(
            name,
            region_name="us-east-1",
            aws_access_key_id="slim-check",
            aws_secret_access_key="slim-check",  # noqa: S106 (not a secret: no request is sent)
        )
        if not client.meta.endpoint_url:
            raise SystemExit(f"error: no endpoint for {name} after pruning")


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else Path(sysconfig.get_path("purelib"))
    removed = prune(site / "botocore" / "data", BOTOCORE_SERVICES) + prune(site / "boto3" / "data", BOTO3_RESOURCES)
    sys.path.insert(0, str(site))
    modules = check_imports()
    check_clients()
    print(
        f"slim-venv: botocore data cut to {', '.join(BOTOCORE_SERVICES)} ({removed / 1e6:.1f} MB removed); "
        f"{modules} modules of {PACKAGE} import; clients of the kept services load"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
