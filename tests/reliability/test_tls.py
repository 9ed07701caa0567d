"""TLS: an HTTPS emulator with a throwaway CA (trustme). Verification is always on."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from streampixel_deploy.emulator import DEFAULT_API_KEY, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Emulator, EmulatorConfig
from streampixel_deploy.settings.table import SPECS


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_emu(ca: trustme.CA) -> Iterator[Emulator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with Emulator(EmulatorConfig.default(), ssl_context=context) as emu:
        yield emu


def _run(emu: Emulator, extra_env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STREAMPIXEL_") and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
    }
    env.update(
        {
            "STREAMPIXEL_API_KEY": DEFAULT_API_KEY,
            "STREAMPIXEL_USER_ID": DEFAULT_USER_ID,
            "STREAMPIXEL_PROJECT_ID": DEFAULT_PROJECT_ID,
            "STREAMPIXEL_API_URL": emu.api_url,
            "STREAMPIXEL_TIMEOUT_MINUTES": "0.05",
            **extra_env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "streampixel_deploy", "status", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_emulator_speaks_https(https_emu: Emulator) -> None:
    assert https_emu.api_url.startswith("https://127.0.0.1:")


def test_custom_ca_via_requests_ca_bundle(https_emu: Emulator, ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    run = _run(https_emu, {"REQUESTS_CA_BUNDLE": str(bundle)})
    assert run.returncode == 0, run.stderr
    assert "665a2b3c4d5e6f7a8b9c0e1f" in run.stdout


def test_custom_ca_via_ssl_cert_file(https_emu: Emulator, ca: trustme.CA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    run = _run(https_emu, {"SSL_CERT_FILE": str(bundle)})
    assert run.returncode == 0, run.stderr


def test_untrusted_certificate_fails_clearly(https_emu: Emulator) -> None:
    run = _run(https_emu, {})
    assert run.returncode == 1
    assert "TLS certificate" in run.stderr and "not trusted" in run.stderr and "REQUESTS_CA_BUNDLE" in run.stderr
    assert "Traceback" not in run.stderr and DEFAULT_API_KEY not in run.stderr


def test_there_is_no_switch_that_disables_verification() -> None:
    names = " ".join(s.name for s in SPECS)
    for word in ("insecure", "no-verify", "skip-tls", "verify-ssl", "tls-verify"):
        assert word not in names
