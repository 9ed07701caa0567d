"""``_serving``: the one start/stop the emulator and the relay run their HTTP server with (real sockets)."""

from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from streampixel_deploy._serving import Served, StartStop


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = threading.current_thread().name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Recording(HTTPServer):
    """An HTTP server that notes the order of the calls that end it."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Hello)
        self.calls: list[str] = []

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        super().shutdown()

    def server_close(self) -> None:
        self.calls.append("server_close")
        super().server_close()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def test_start_serves_on_a_daemon_thread_and_stop_ends_it_in_order() -> None:
    served = Served(_Recording(("127.0.0.1", 0)), "unit-http")
    served.start(poll_interval=0.01)
    (thread,) = [t for t in threading.enumerate() if t.name == "unit-http"]
    assert thread.daemon
    assert _get(served.url()) == "unit-http"  # the request is answered on the server's thread

    served.stop(5.0, closing=lambda server: server.calls.append("closing"))

    assert served.server.calls == ["shutdown", "closing", "server_close"]
    assert not thread.is_alive()  # stop joined it
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", served.server.server_address[1]), timeout=5).close()


def test_serve_here_serves_the_calling_thread_until_stop() -> None:
    served = Served(_Recording(("127.0.0.1", 0)), "unused-name")
    done = threading.Event()

    def run() -> None:
        served.serve_here(poll_interval=0.01)
        done.set()

    caller = threading.Thread(target=run, name="the-caller")
    caller.start()
    assert _get(served.url()) == "the-caller"
    served.stop(5.0)
    caller.join(5.0)
    assert done.is_set()
    assert served.server.calls == ["shutdown", "server_close"]


def test_url_names_the_scheme_and_brackets_an_ipv6_host() -> None:
    served = Served(HTTPServer(("127.0.0.1", 0), _Hello), "unit-http")
    try:
        port = served.server.server_address[1]
        assert served.url() == f"http://127.0.0.1:{port}"
        assert served.url("https") == f"https://127.0.0.1:{port}"
    finally:
        served.server.server_close()

    class _Six(HTTPServer):
        address_family = socket.AF_INET6

    try:
        six = Served(_Six(("::1", 0), _Hello), "unit-http6")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert six.url() == f"http://[::1]:{six.server.server_address[1]}"
    finally:
        six.server.server_close()


class _Thing(StartStop):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> _Thing:
        self.calls.append("start")
        return self

    def stop(self) -> None:
        self.calls.append("stop")


def test_with_is_start_then_stop_even_when_the_block_raises() -> None:
    thing = _Thing()
    with pytest.raises(ValueError), thing as entered:
        assert entered is thing
        raise ValueError("boom")
    assert thing.calls == ["start", "stop"]
