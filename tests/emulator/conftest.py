"""Fixtures for the emulator tests: started emulators, a JSON client, a stub HTTP server, a zip."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.emulator import Emulator, EmulatorConfig

from .helpers import Client, StubServer, fast_config


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators (fast defaults, or the given config); all are stopped at teardown."""
    started: list[Emulator] = []

    def make(config: EmulatorConfig | None = None, **settings: Any) -> Emulator:
        emulator = Emulator(config or fast_config(**settings)).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


@pytest.fixture
def make_client() -> Iterator[Callable[[Emulator], Client]]:
    clients: list[Client] = []

    def make(emulator: Emulator) -> Client:
        client = Client(emulator.api_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


@pytest.fixture
def api(emu: Emulator, make_client: Callable[[Emulator], Client]) -> Client:
    return make_client(emu)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A webhook receiver and download origin on 127.0.0.1."""
    server = StubServer()
    yield server
    server.close()


@pytest.fixture
def game_zip(tmp_path: Path) -> Path:
    """A tiny packaged-build zip: an executable and a pak."""
    path = tmp_path / "MyGame-1.0.0.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MyGame/MyGame.exe", b"MZ" + bytes(4096))
        archive.writestr("MyGame/MyGame/Content/Paks/MyGame-Windows.pak", bytes(range(256)) * 64)
    return path
