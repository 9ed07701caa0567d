from __future__ import annotations

from streampixel_deploy.api.models import BuildStatus, Project, parse_status
from streampixel_deploy.core.redact import SecretRegistry, redact_text, redact_url


def test_status_exact_and_normalised() -> None:
    assert parse_status("Extracting & Scanning") is BuildStatus.EXTRACTING
    assert parse_status("  extracting   &  scanning ") is BuildStatus.EXTRACTING
    assert parse_status("APPROVED") is BuildStatus.APPROVED
    assert parse_status("Pending") is BuildStatus.PENDING
    assert parse_status("Warming Caches") is None
    assert parse_status(None) is None
    assert parse_status(3) is None


def test_project_accepts_id_or__id_and_sorts_newest_first() -> None:
    project = Project.from_json(
        {
            "_id": "p1",
            "name": "Showroom",
            "files": [
                {"_id": "a", "url": "u", "status": "Approved", "date": "2026-04-01T00:00:00.000Z"},
                {"_id": "b", "url": "u", "status": "Reject", "date": "2026-04-03T00:00:00Z", "objection": "x"},
                {"_id": "c", "url": "u", "status": "Approved", "date": "2026-04-02T00:00:00Z"},
                {"no": "id"},
                "junk",
            ],
        }
    )
    assert project.id == "p1"
    assert [b.id for b in project.newest_first()] == ["b", "c", "a"]
    assert [b.id for b in project.approved_newest_first()] == ["c", "a"]
    assert project.find("b") is not None and project.find("b").objection == "x"  # type: ignore[union-attr]


def test_redact_url_hides_keys_and_signatures() -> None:
    url = "https://h/x.zip?X-Amz-Signature=abc123&X-Amz-Credential=AKIA/1&ok=1"
    shown = redact_url(url)
    assert "abc123" not in shown and "AKIA" not in shown and "ok=1" in shown
    assert "s3cr3t" not in redact_url("https://api/x?userId=u&apikey=s3cr3t")
    assert "pw" not in redact_url("https://user:pw@h/x")


def test_redact_text_and_registry() -> None:
    assert "zzz" not in redact_text('GET /p?apikey=zzz and {"apiKey": "zzz"}')
    reg = SecretRegistry()
    assert reg.add("supersecret") and not reg.add("supersecret")
    assert reg.scrub("key supersecret here") == "key *** here"
