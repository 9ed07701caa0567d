"""A small synthetic Windows UE-like packaged build, for the demo and the tests."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

_PE_STUB = b"MZ" + b"\x90\x00" * 30 + b"This program cannot be run in DOS mode.\r\n"


def make_build_dir(root: Path, name: str = "MyGame", pak_bytes: int = 1 << 20, seed: int = 7) -> Path:
    """Write ``root/<name>/...`` shaped like 'Package Project -> Windows' output; returns the folder."""
    rng = random.Random(seed)  # noqa: S311 - test data, not crypto
    top = root / name
    files: dict[str, bytes] = {
        f"{name}.exe": _PE_STUB + b"\x00" * 4096,
        f"{name}/Binaries/Win64/{name}-Win64-Shipping.exe": _PE_STUB + b"\x00" * 65536,
        f"{name}/Binaries/Win64/tbb.dll": _PE_STUB + b"\x00" * 8192,
        f"{name}/Content/Paks/{name}-Windows.pak": rng.randbytes(pak_bytes),
        f"{name}/Content/Paks/{name}-Windows.utoc": rng.randbytes(pak_bytes // 16),
        f"{name}/Content/Paks/{name}-Windows.ucas": rng.randbytes(pak_bytes // 4),
        "Engine/Binaries/ThirdParty/Ogg/Win64/libogg_64.dll": _PE_STUB + b"\x00" * 2048,
        "Engine/Extras/Redist/en-us/UEPrereqSetup_x64.exe": _PE_STUB + b"\x00" * 1024,
        f"{name}/Config/DefaultGame.ini": b"[/Script/EngineSettings.GeneralProjectSettings]\r\n"
        + b"ProjectName=MyGame\r\n" * 50,
    }
    for rel, data in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return top


def make_build_zip(dest: Path, name: str = "MyGame", pak_bytes: int = 1 << 20) -> Path:
    """A zip of :func:`make_build_dir` whose entries sit inside one top-level folder."""
    work = dest.parent / (dest.stem + "-src")
    top = make_build_dir(work, name=name, pak_bytes=pak_bytes)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for dirpath, _dirs, filenames in sorted(os.walk(top)):
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                zf.write(path, arcname=f"{name}/{path.relative_to(top).as_posix()}")
    return dest
