"""The build size report (issue 14, part 3): folders, largest files and likely mistakes, from the zip's directory."""

from __future__ import annotations

import zipfile
from pathlib import Path

from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.build.archive import verify_quick
from streampixel_deploy.build.sizes import TOP_FOLDERS, size_report
from streampixel_deploy.report.summary import render_summary


def _zip(path: Path, entries: dict[str, int]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, size in entries.items():
            zf.writestr(name, b"x" * size)
    return path


def test_folders_largest_files_and_suspects_from_a_real_zip(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "b.zip",
        {
            "MyGame.exe": 100,
            "MyGame/Binaries/Win64/MyGame-Win64-Shipping.exe": 5000,
            "MyGame/Binaries/Win64/MyGame-Win64-Shipping.pdb": 9000,
            "MyGame/Content/Paks/MyGame-Windows.pak": 20000,
            "MyGame/Saved/Logs/MyGame.log": 300,
            "MyGame/Saved/Crashes/UECC-1/minidump.dmp": 700,
            "Engine/Binaries/ThirdParty/a.dll": 400,
            "Engine/Extras/x.LOG": 10,
        },
    )
    report = verify_quick(path).size_report()
    assert report.total_bytes == 35510  # stored: the bytes as written
    assert [(name, files) for name, _, files in report.folders] == [("MyGame/", 5), ("Engine/", 2), ("MyGame.exe", 1)]
    assert report.largest[0][0] == "MyGame/Content/Paks/MyGame-Windows.pak"
    assert [(s.kind, s.files) for s in report.suspects] == [("debug symbols", 1), ("crash dumps", 1), ("logs", 2)]
    assert report.suspects[0].example == "MyGame/Binaries/Win64/MyGame-Win64-Shipping.pdb"
    assert "**/*.pdb" in report.suspects[0].fix
    data = report.to_json()
    assert data["folders"][0] == {"name": "MyGame/", "bytes": report.folders[0][1], "files": 5}


def test_many_folders_are_summed_as_others() -> None:
    names = [f"F{i}/a.bin" for i in range(20)]
    report = size_report(names, list(range(1, 21)))
    assert len(report.folders) == TOP_FOLDERS
    assert report.folders[-1][0] == f"({20 - TOP_FOLDERS + 1} others)"
    assert sum(b for _, b, _ in report.folders) == sum(range(1, 21))
    assert report.suspects == []


def test_the_summary_shows_the_report_with_api_safe_cells(tmp_path: Path) -> None:
    path = _zip(tmp_path / "b.zip", {"MyGame.exe": 10, "Game|x/<b>.pdb": 50})
    result = Result(command="deploy", outcome=Outcome.APPROVED)
    result.build_size = verify_quick(path).size_report().to_json()
    summary = render_summary(result)
    assert "### Build size" in summary and "| MyGame.exe | 1 |" in summary
    assert "Game\\|x/" in summary and "<b>" not in summary  # names are data, not Markdown or HTML
    assert "> [!WARNING]" in summary and "debug symbols" in summary
