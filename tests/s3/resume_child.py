"""A deploy's upload in a process of its own, for the resume tests to kill (SIGKILL) part way:
``python resume_child.py '<json>'`` with endpoint, bucket, keys, prefix, zip, digest, part_size, concurrency."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from streampixel_deploy.core.progress import NullReporter
from streampixel_deploy.hosting import Upload
from streampixel_deploy.hosting.s3 import S3Host
from streampixel_deploy.settings.table import S3Settings


def main(argv: list[str]) -> int:
    given = json.loads(argv[0])
    settings = S3Settings(
        bucket=given["bucket"],
        prefix=given["prefix"],
        region=None,
        endpoint_url=given["endpoint"],
        public_url_base=None,
        presign_seconds=60,
        access_key_id=given["access_key"],
        secret_access_key=given["secret_key"],
    )
    host = S3Host(settings, part_size=given["part_size"], concurrency=given["concurrency"])
    upload = Upload(Path(given["zip"]), given["project"], directory_digest=given["digest"])
    host.host(upload, NullReporter())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
