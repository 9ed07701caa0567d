"""Issue 10 (hardening): bursts, trickling clients, hostile bodies and the spool's permissions, over real sockets."""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import sys
import threading
import time

import pytest

from .conftest import RELAY_TOKEN, Stack, envelope

BURST = 300
STREAMPIXEL_TIMEOUT = 10.0  # Streampixel waits 10 s for an answer and never retries


def _post_once(port: int, body: bytes, barrier: threading.Barrier, results: list[object], index: int) -> None:
    """One webhook on its own connection, sent when every sender is ready (Streampixel's 10 s timeout)."""
    barrier.wait()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=STREAMPIXEL_TIMEOUT)
    try:
        conn.request("POST", f"/webhook/{RELAY_TOKEN}", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        results[index] = response.status
    except OSError as exc:
        results[index] = type(exc).__name__
    finally:
        conn.close()


def test_a_burst_of_300_simultaneous_webhooks_loses_none(stack: Stack) -> None:
    relay = stack.relay(queue_size=str(BURST * 2))
    results: list[object] = [None] * BURST
    barrier = threading.Barrier(BURST)
    threads = []
    for i in range(BURST):
        body = json.dumps(envelope(event="webhook.test", uploadId=f"burst{i:04d}")).encode()
        threads.append(threading.Thread(target=_post_once, args=(stack.port, body, barrier, results, i)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(STREAMPIXEL_TIMEOUT + 5)
    answered_in = time.monotonic() - started
    unanswered = {i: r for i, r in enumerate(results) if r != 202}
    kinds = sorted({str(r) for r in unanswered.values()})
    assert not unanswered, f"{len(unanswered)} of {BURST} not answered 202 in {answered_in:.1f} s: {kinds}"
    dispatches = stack.github.wait_for_dispatches(BURST, timeout=30)
    assert sorted(d.client_payload["uploadId"] for d in dispatches) == [f"burst{i:04d}" for i in range(BURST)]
    assert relay.health()["received"] == BURST
    print(
        f"\nburst: {BURST}/{BURST} answered 202 in {answered_in:.2f} s, {len(dispatches)} dispatched", file=sys.stderr
    )


def test_a_client_trickling_bytes_is_cut_after_10_seconds_while_webhooks_flow(stack: Stack) -> None:
    stack.relay()
    slow = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
    request = (
        f"POST /webhook/{RELAY_TOKEN} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode() + b"{" * 1000
    started = time.monotonic()
    cut_after = None
    answered = 0
    try:
        slow.settimeout(2.0)
        for byte in request:
            if time.monotonic() - started > 20:
                break
            try:
                slow.sendall(bytes([byte]))
                if slow.recv(4096) == b"":  # the relay closed the connection
                    cut_after = time.monotonic() - started
                    break
            except TimeoutError:
                # one byte every 2 s; meanwhile a normal webhook must be answered at once
                assert stack.post(envelope(event="webhook.test")).status_code == 202
                answered += 1
            except OSError:
                cut_after = time.monotonic() - started
                break
    finally:
        slow.close()
    assert cut_after is not None, "a client sending one byte every 2 s was never disconnected"
    assert 9.0 <= cut_after <= 12.5, cut_after
    assert answered >= 4
    stack.github.wait_for_dispatches(answered)


def test_deeply_nested_json_is_400_with_an_answer(stack: Stack) -> None:
    stack.relay()
    nested = b"[" * 10_000 + b"]" * 10_000
    assert len(nested) < 64 * 1024
    for body in (nested, b'{"event": ' + nested + b"}"):
        response = stack.post(None, raw=body)
        assert response.status_code == 400, response.text
        assert "JSON" in response.json()["message"]
    assert stack.post(envelope(event="webhook.test")).status_code == 202  # the relay is still fine
    assert len(stack.spooled()) + len(stack.github.wait_for_dispatches(1)) >= 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_spool_folder_is_tightened_to_0700(stack: Stack) -> None:
    stack.spool.mkdir(mode=0o755)
    (stack.spool / "failed").mkdir(mode=0o755)
    os.chmod(stack.spool, 0o755)  # noqa: S103 (the defect under test)
    os.chmod(stack.spool / "failed", 0o755)  # noqa: S103
    stack.relay()
    for path in (stack.spool, stack.spool / "tmp", stack.spool / "failed"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_spool_folder_that_cannot_be_tightened_stops_the_relay(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from streampixel_deploy.core.errors import InputError
    from streampixel_deploy.relay.spool import Spool

    stack.spool.mkdir(mode=0o755)
    os.chmod(stack.spool, 0o755)  # noqa: S103 (the defect under test)

    def refuse(path: object, mode: int, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)  # what chmod says for a folder owned by another user
    with pytest.raises(InputError, match=r"--spool-dir '.*spool'.*0700"):
        Spool(stack.spool).open()
