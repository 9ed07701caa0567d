"""docker/slim-venv.py, which cuts the image's botocore data, leaves boto3's credential chain working.

It runs on a copy of this venv's botocore and boto3; the copy is then imported by a subprocess that resolves
credentials the way a GitHub workflow with OIDC does (web identity: AssumeRoleWithWebIdentity on STS), against a
local STS endpoint, and that must not find the services the image does not ship.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "docker" / "slim-venv.py"
STS_ANSWER = b"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIASLIMCHECK</AccessKeyId>
<SecretAccessKey>slim-secret</SecretAccessKey><SessionToken>slim-token</SessionToken>
<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>"""

RESOLVE = """
import boto3, botocore, botocore.exceptions, sys
assert botocore.__file__.startswith(sys.argv[1]), botocore.__file__
credentials = boto3.session.Session().get_credentials().get_frozen_credentials()
print(credentials.access_key)
try:
    boto3.session.Session().client("ec2", region_name="us-east-1")
except botocore.exceptions.UnknownServiceError:
    print("ec2 not shipped")
"""


@pytest.fixture(scope="module")
def slim_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import boto3
    import botocore

    site = tmp_path_factory.mktemp("site")
    for package in (botocore, boto3):
        shutil.copytree(Path(package.__file__).parent, site / package.__name__)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(site)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "clients of the kept services load" in done.stdout
    return site


@pytest.fixture
def sts() -> Iterator[tuple[str, list[bytes]]]:
    """A local STS endpoint answering AssumeRoleWithWebIdentity; the request bodies it received."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(STS_ANSWER)))
            self.end_headers()
            self.wfile.write(STS_ANSWER)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_kept_services_only(slim_site: Path) -> None:
    kept = sorted(p.name for p in (slim_site / "botocore" / "data").iterdir() if p.is_dir())
    assert kept == ["s3", "signin", "sso", "sso-oidc", "sts"]
    assert (slim_site / "botocore" / "data" / "endpoints.json").is_file()
    assert sorted(p.name for p in (slim_site / "boto3" / "data").iterdir()) == ["s3"]


def test_web_identity_credentials_resolve_after_pruning(
    slim_site: Path, sts: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = sts
    token = tmp_path / "oidc-token"
    token.write_text("header.payload.signature", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "PYTHONPATH": str(slim_site),
            "HOME": str(tmp_path),
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/streampixel-builds",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_STS": url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE, str(slim_site)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ASIASLIMCHECK", "ec2", "not", "shipped"]
    assert bodies and b"Action=AssumeRoleWithWebIdentity" in bodies[0]
