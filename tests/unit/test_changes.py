"""core/changes.py: the comparison of two listings (pure) and its --json shape."""

from __future__ import annotations

from streampixel_deploy.core.changes import JSON_LIMIT, ROOT, Entry, diff, top_folder, unavailable


def test_added_removed_changed_by_crc_or_size_and_folders() -> None:
    old = [
        Entry("Game.exe", 1, 10),
        Entry("Game/Paks/a.pak", 2, 1_000),
        Entry("Game/Config/x.ini", 3, 5),
        Entry("Engine/old.dll", 4, 40),
        Entry("Game/", 0, 0),  # a folder entry: not a file
    ]
    new = [
        Entry("Game.exe", 1, 10),
        Entry("Game/Paks/a.pak", 2, 1_500),  # size
        Entry("Game/Config/x.ini", 9, 5),  # CRC only
        Entry("Game/Movies/intro.mp4", 5, 300),
        Entry("readme.txt", 6, 7),
    ]
    changes = diff(old, new, "live")
    assert [c.name for c in changes.added] == ["Game/Movies/intro.mp4", "readme.txt"]
    assert [(c.name, c.old_size, c.new_size) for c in changes.removed] == [("Engine/old.dll", 40, None)]
    assert [c.name for c in changes.changed] == ["Game/Config/x.ini", "Game/Paks/a.pak"]
    assert changes.unchanged == 1
    folders = {f.name: (f.added, f.removed, f.changed, f.delta) for f in changes.folders}
    assert folders == {"Game": (1, 0, 2, 800), "Engine": (0, 1, 0, -40), ROOT: (1, 0, 0, 7)}
    assert [f.name for f in changes.folders] == ["Game", "Engine", ROOT]  # largest change first
    assert changes.delta == 800 - 40 + 7
    data = changes.to_json()
    assert data["counts"] == {"added": 2, "removed": 1, "changed": 2, "unchanged": 1} and data["compared"]
    assert data["changed"][1] == {"name": "Game/Paks/a.pak", "oldBytes": 1_000, "newBytes": 1_500}


def test_json_lists_are_capped_but_counts_are_whole() -> None:
    new = [Entry(f"f{i}", i, 1) for i in range(JSON_LIMIT + 5)]
    data = diff([], new, "live").to_json()
    assert data["counts"]["added"] == JSON_LIMIT + 5 and len(data["added"]) == JSON_LIMIT


def test_top_folder_and_unavailable() -> None:
    assert top_folder("a\\b\\c") == "a" and top_folder("/a/b") == "a" and top_folder("a") == ROOT
    data = unavailable("live", "the live build's zip is gone (HTTP 404)", 0, 1).to_json()
    assert data == {
        "against": "live",
        "compared": False,
        "fetchedBytes": 0,
        "requests": 1,
        "problem": "the live build's zip is gone (HTTP 404)",
    }
