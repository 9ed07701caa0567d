"""The real build pipeline: downloads, archive checks, status order, webhooks, release and rollback."""

from __future__ import annotations

import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import DEFAULT_PROJECT_ID, Emulator

from .helpers import SEED_UPLOAD_ID, Client, Route, StubServer, fast_config, free_port, showroom

ENVELOPE_KEYS = {"event", "projectId", "uploadId", "fileUrl", "status", "objection", "timestamp"}
HAPPY = [
    ("build.uploaded", "pending"),
    ("build.downloading", "Downloading Files"),
    ("build.extracting", "Extracting & Scanning"),
    ("build.saving", "Saving to Repository"),
    ("build.distributing", "Distribute"),
    ("build.approved", "Approved"),
]


def with_webhook(stub: StubServer, events: list[str] | None = None) -> Any:
    cfg = fast_config(rate_limit_window_seconds=0)
    showroom(cfg).webhook_url = stub.url + "/hook"
    if events is not None:
        showroom(cfg).webhook_events = events
    return cfg


def history(emu: Emulator, upload_id: str) -> list[str]:
    for project in emu.state.dump()["projects"]:
        for entry in project["files"]:
            if entry["_id"] == upload_id:
                return [h["status"] for h in entry["history"]]
    raise AssertionError(f"no build {upload_id}")


def live_upload_id(emu: Emulator) -> str | None:
    project = next(p for p in emu.state.dump()["projects"] if p["id"] == DEFAULT_PROJECT_ID)
    value: str | None = project["live_upload_id"]
    return value


def test_full_pipeline_reaches_approved_through_every_status(
    make_emulator: Callable[..., Emulator],
    make_client: Any,
    stub: StubServer,
    game_zip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    emu = make_emulator(with_webhook(stub))
    api: Client = make_client(emu)
    file_url = emu.serve_file(game_zip)
    upload_id = api.upload(file_url)

    assert emu.wait_for_status(upload_id, "Approved", timeout=5)["objection"] is None
    hooks = stub.wait_for(len(HAPPY))
    assert [(h["event"], h["status"]) for h in hooks] == HAPPY
    for hook in hooks:
        assert set(hook) == ENVELOPE_KEYS
        assert (hook["projectId"], hook["uploadId"], hook["fileUrl"], hook["objection"]) == (
            DEFAULT_PROJECT_ID,
            upload_id,
            file_url,
            None,
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", hook["timestamp"])
    assert {r["content_type"] for r in stub.received} == {"application/json"}
    assert {r["path"] for r in stub.received} == {"/hook"}
    assert history(emu, upload_id) == [status for _, status in HAPPY]
    assert live_upload_id(emu) == upload_id
    assert api.files()[-1]["status"] == "Approved"
    assert list(scratch.iterdir()) == []  # the downloaded zip was deleted
    # The sender records a delivery after the receiver has answered: the last one can lag the stub's copy.
    deadline = time.monotonic() + 5
    while len(emu.webhook_deliveries()) < len(HAPPY) and time.monotonic() < deadline:
        time.sleep(0.02)
    deliveries = emu.webhook_deliveries()
    assert [d["status_code"] for d in deliveries] == [200] * len(HAPPY)


def test_auto_release_false_then_distribute_then_rollback(
    make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer, game_zip: Path
) -> None:
    emu = make_emulator(with_webhook(stub))
    api: Client = make_client(emu)
    upload_id = api.upload(emu.serve_file(game_zip), autoRelease=False)

    emu.wait_for_status(upload_id, "Approved", timeout=5)
    assert history(emu, upload_id) == [
        "pending",
        "Downloading Files",
        "Extracting & Scanning",
        "Saving to Repository",
        "Approved",
    ]
    assert [h["event"] for h in stub.wait_for(5)][-2:] == ["build.saving", "build.approved"]
    assert live_upload_id(emu) == SEED_UPLOAD_ID  # approved, but not live

    response = api.post("/projects/distribute-file", uploadId=upload_id)
    assert response.status_code == 200
    # Distribute may already be over on a loaded machine: its passage is in the build's history
    assert next(f for f in api.files() if f["_id"] == upload_id)["status"] in ("Distribute", "Approved")
    emu.wait_for_status(upload_id, "Approved", timeout=5)
    assert history(emu, upload_id)[-2:] == ["Distribute", "Approved"]
    assert live_upload_id(emu) == upload_id
    assert [(h["event"], h["status"]) for h in stub.wait_for(7)[5:]] == HAPPY[-2:]

    # rollback: re-distribute the older, already approved build
    assert api.post("/projects/distribute-file", uploadId=SEED_UPLOAD_ID).status_code == 200
    emu.wait_for_status(SEED_UPLOAD_ID, "Approved", timeout=5)
    assert live_upload_id(emu) == SEED_UPLOAD_ID
    assert history(emu, SEED_UPLOAD_ID) == ["Approved", "Distribute", "Approved"]


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _corrupt_member(path: Path) -> Path:
    _zip(path, {"Game.exe": b"MZ" + bytes(2000)}, zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    raw[30 + len("Game.exe") + 100] ^= 0xFF  # a byte inside the stored data: CRC mismatch
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    ("case", "objection"),
    [
        ("redirect", "Download failed: the URL redirected to another location (direct download required)"),
        ("html_content_type", "Download failed: the URL returned an HTML page, not a zip"),
        ("html_body", "Download failed: the URL returned an HTML page, not a zip"),
        ("http_404", "Download failed: the URL answered HTTP 404"),
        ("no_connection", "Download failed: could not connect"),
        ("not_a_zip", "Corrupt archive: not a valid zip file"),
        ("no_exe", "Executable not found in archive"),
        ("unsafe_path", "Malformed package: unsafe path in archive: ../Game.exe"),
        ("bad_crc", "Corrupt archive: Game.exe failed the integrity check"),
    ],
)
def test_reject_cases(
    make_emulator: Callable[..., Emulator],
    make_client: Any,
    stub: StubServer,
    game_zip: Path,
    tmp_path: Path,
    case: str,
    objection: str,
) -> None:
    emu = make_emulator(with_webhook(stub))
    api: Client = make_client(emu)
    zip_url = emu.serve_file(game_zip)
    stub.routes["/moved.zip"] = Route(302, b"", {"Location": zip_url})
    stub.routes["/view.zip"] = Route(200, b"<html>Download</html>", {"Content-Type": "text/html; charset=utf-8"})
    stub.routes["/sneaky.zip"] = Route(200, b"\n  <!DOCTYPE html><html></html>", {"Content-Type": "application/zip"})
    stub.routes["/gone.zip"] = Route(404, b"missing", {"Content-Type": "text/plain"})
    urls = {
        "redirect": stub.url + "/moved.zip",
        "html_content_type": stub.url + "/view.zip",
        "html_body": stub.url + "/sneaky.zip",
        "http_404": stub.url + "/gone.zip",
        "no_connection": f"http://127.0.0.1:{free_port()}/build.zip",
        "not_a_zip": emu.serve_file(_write(tmp_path / "notes.zip", b"PK but not really a zip")),
        "no_exe": emu.serve_file(_zip(tmp_path / "noexe.zip", {"Game/Content/a.pak": b"x"})),
        "unsafe_path": emu.serve_file(_zip(tmp_path / "evil.zip", {"../Game.exe": b"MZ"})),
        "bad_crc": emu.serve_file(_corrupt_member(tmp_path / "crc.zip")),
    }
    upload_id = api.upload(urls[case])

    rejected = emu.wait_for_status(upload_id, "Reject", timeout=5)
    assert rejected["objection"].startswith(objection)
    entry = next(f for f in api.files() if f["_id"] == upload_id)
    assert (entry["status"], entry["objection"]) == ("Reject", rejected["objection"])
    hooks = stub.wait_until(lambda got: any(h["event"] == "build.rejected" for h in got))
    assert [h["event"] for h in hooks][:2] == ["build.uploaded", "build.downloading"]
    last = hooks[-1]
    assert (last["event"], last["status"], last["objection"]) == ("build.rejected", "Reject", rejected["objection"])
    assert "build.distributing" not in [h["event"] for h in hooks]
    assert live_upload_id(emu) == SEED_UPLOAD_ID


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_require_exe_can_be_switched_off(emu: Emulator, api: Client, tmp_path: Path) -> None:
    emu.configure(require_exe=False)
    upload_id = api.upload(emu.serve_file(_zip(tmp_path / "noexe.zip", {"Game/Content/a.pak": b"x"})))
    emu.wait_for_status(upload_id, "Approved", timeout=5)


def test_webhook_events_filter(
    make_emulator: Callable[..., Emulator], make_client: Any, stub: StubServer, game_zip: Path, tmp_path: Path
) -> None:
    emu = make_emulator(with_webhook(stub, ["build.approved", "build.rejected"]))
    api: Client = make_client(emu)
    approved = api.upload(emu.serve_file(game_zip))
    emu.wait_for_status(approved, "Approved", timeout=5)
    # A second build, rejected: a project's webhooks go out in the order they fire, so once its build.rejected has
    # arrived every event of both builds that was going to be sent has been.
    rejected = api.upload(emu.serve_file(_zip(tmp_path / "noexe.zip", {"Game/Content/a.pak": b"x"})))
    emu.wait_for_status(rejected, "Reject", timeout=5)
    hooks = stub.wait_until(lambda got: any(h["event"] == "build.rejected" for h in got))
    assert [(h["event"], h["uploadId"]) for h in hooks] == [("build.approved", approved), ("build.rejected", rejected)]


def test_a_dead_webhook_receiver_does_not_block_the_pipeline(
    make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path
) -> None:
    cfg = fast_config()
    showroom(cfg).webhook_url = f"http://127.0.0.1:{free_port()}/hook"
    emu = make_emulator(cfg)
    upload_id = make_client(emu).upload(emu.serve_file(game_zip))
    emu.wait_for_status(upload_id, "Approved", timeout=5)
    deadline = time.monotonic() + 5
    while len(emu.webhook_deliveries()) < len(HAPPY) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert {d["status_code"] for d in emu.webhook_deliveries()} == {0}


def test_stop_ends_a_build_in_progress(
    make_emulator: Callable[..., Emulator], make_client: Any, game_zip: Path
) -> None:
    """stop() ends a build mid-stage: it does not wait the stage out (an hour here) nor leave its worker behind."""
    emu = make_emulator(stage_delays={"Saving to Repository": 3600.0})  # entered right before its wait
    upload_id = make_client(emu).upload(emu.serve_file(game_zip))
    emu.wait_for_status(upload_id, "Saving to Repository", timeout=5)
    (worker,) = [t for t in threading.enumerate() if t.name == f"emulator-build-{upload_id}"]
    emu.stop()
    emu.stop()  # idempotent
    assert not worker.is_alive(), "stop() returned with the build's worker still in its stage"


def test_reset_abandons_builds_in_progress(emu: Emulator, api: Client, game_zip: Path) -> None:
    emu.configure(stage_delays={"pending": 0.2})
    upload_id = api.upload(emu.serve_file(game_zip))
    emu.reset()
    # The build's worker has ended (it would have reached Downloading Files after 0.2 s): all it did is done.
    workers = [t for t in threading.enumerate() if t.name == f"emulator-build-{upload_id}"]
    assert workers, "the build has no worker: nothing to abandon"
    for worker in workers:
        worker.join(5)
        assert not worker.is_alive()
    assert [f["_id"] for f in api.files()] == [SEED_UPLOAD_ID]
    assert emu.state.build(upload_id) is None
