"""core/jsonshape.py: a dataclass's fields as JSON keys in camelCase."""

from __future__ import annotations

from streampixel_deploy.core.changes import FolderChange
from streampixel_deploy.core.jsonshape import camel
from streampixel_deploy.relay.events import Envelope


def test_camel_case_names() -> None:
    assert [camel(n) for n in ("name", "project_id", "old_bytes", "file_url")] == [
        "name",
        "projectId",
        "oldBytes",
        "fileUrl",
    ]


def test_the_json_keys_users_read_are_unchanged() -> None:
    """The --json ``folders`` rows and the relay's spooled envelope keep their documented keys and order."""
    row = FolderChange("Game", added=1, removed=2, changed=3, old_bytes=10, new_bytes=4).to_json()
    assert row == {
        "name": "Game",
        "added": 1,
        "removed": 2,
        "changed": 3,
        "oldBytes": 10,
        "newBytes": 4,
        "deltaBytes": -6,
    }
    envelope = Envelope("build.approved", "p1", "u1", "https://x/y.zip", "Approved", None, "2026-12-07T00:00:00Z")
    assert list(envelope.to_json()) == [
        "event",
        "projectId",
        "uploadId",
        "fileUrl",
        "status",
        "objection",
        "timestamp",
    ]
    assert envelope.to_json()["uploadId"] == "u1"
