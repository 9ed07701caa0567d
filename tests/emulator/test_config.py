from __future__ import annotations

import ast
from pathlib import Path

import pytest

import streampixel_deploy.emulator as emulator_pkg
from streampixel_deploy.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_PROJECT_ID,
    DEFAULT_USER_ID,
    EmulatorConfig,
    EmulatorConfigError,
    load_config,
)

from .helpers import EU_PROJECT_ID, OTHER_API_KEY, OTHER_PROJECT_ID, OTHER_USER_ID


def test_defaults_ship_the_documented_accounts() -> None:
    cfg = load_config(None)
    assert cfg == EmulatorConfig.default()
    first, second = cfg.users
    assert (first.user_id, first.api_key) == (DEFAULT_USER_ID, DEFAULT_API_KEY)
    assert [(p.id, p.name, p.region) for p in first.projects] == [
        (DEFAULT_PROJECT_ID, "Showroom", "us-east-1"),
        (EU_PROJECT_ID, "Config EU", "europe"),
    ]
    assert (second.user_id, second.api_key, [p.id for p in second.projects]) == (
        OTHER_USER_ID,
        OTHER_API_KEY,
        [OTHER_PROJECT_ID],
    )
    assert cfg.stage_delays == {
        "pending": 0.4,
        "Downloading Files": 0.4,
        "Extracting & Scanning": 0.4,
        "Saving to Repository": 0.4,
        "Distribute": 0.4,
    }
    assert (cfg.rate_limit_window_seconds, cfg.send_retry_after, cfg.strict_file_url) == (120.0, False, False)
    assert (cfg.require_exe, cfg.webhook_timeout_seconds, cfg.upload_status_code) == (True, 10.0, 201)
    assert (cfg.distribute_response, cfg.files_order) == ("g3", "oldest-first")
    assert first.projects[1].webhook_events == [
        "build.uploaded",
        "build.downloading",
        "build.extracting",
        "build.saving",
        "build.distributing",
        "build.approved",
        "build.rejected",
    ]


def test_yaml_file_overrides_and_merges_stage_delays(tmp_path: Path) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text(
        """
stage_delays: {Distribute: 1.5}
strict_file_url: true
users:
  - user_id: u1
    api_key: k1
    projects:
      - id: p1
        name: Demo
        webhook_url: http://127.0.0.1:9/hook
        webhook_events: [build.approved]
        enabled: false
        files:
          - {_id: b1, url: "https://x/a.zip", status: Reject, objection: nope}
""",
        encoding="utf-8",
    )
    cfg = load_config(str(path))
    assert cfg.stage_delays["Distribute"] == 1.5
    assert cfg.stage_delays["pending"] == 0.4
    assert cfg.strict_file_url is True
    project = cfg.users[0].projects[0]
    assert (project.region, project.status, project.enabled) == ("us-east-1", "active", False)
    assert project.webhook_events == ["build.approved"]
    assert project.files == [
        {"_id": "b1", "url": "https://x/a.zip", "status": "Reject", "date": None, "objection": "nope"}
    ]
    assert EmulatorConfig.from_dict(cfg.to_dict()) == cfg


def test_missing_users_key_keeps_the_default_users(tmp_path: Path) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("files_order: newest-first\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.files_order == "newest-first"
    assert cfg.users == EmulatorConfig.default().users


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("stage_dleays: {}\n", "unknown key"),
        ("stage_delays: {Uploading: 1}\n", "unknown key"),
        ("stage_delays: {pending: -1}\n", ">= 0"),
        ("distribute_response: g4\n", "distribute_response"),
        ("upload_status_code: 404\n", "upload_status_code"),
        ("users: [{user_id: a, api_key: k}, {user_id: a, api_key: k2}]\n", "duplicate user_id"),
        ("users: [{user_id: a, api_key: k, projects: [{id: p, name: n, webhook_events: [x]}]}]\n", "webhook_events"),
        (
            "users: [{user_id: a, api_key: k, projects: [{id: p, name: n, files: [{_id: b, url: u, status: X}]}]}]\n",
            "status",
        ),
        ("- just a list\n", "mapping"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_config_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EmulatorConfigError, match=fragment) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(EmulatorConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_public_surface_is_explicit() -> None:
    assert set(emulator_pkg.__all__) >= {
        "Emulator",
        "EmulatorConfig",
        "load_config",
        "DEFAULT_USER_ID",
        "DEFAULT_API_KEY",
        "DEFAULT_PROJECT_ID",
    }
    for name in emulator_pkg.__all__:
        assert hasattr(emulator_pkg, name)


def test_emulator_imports_nothing_from_the_rest_of_the_package() -> None:
    """Nothing but itself and ``_serving``, a stdlib-only leaf that imports nothing from the package."""
    package_dir = Path(emulator_pkg.__file__).parent
    serving = package_dir.parent / "_serving.py"
    for module in [*package_dir.glob("*.py"), serving]:
        tree = ast.parse(module.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                pytest.fail(f"{module.name} imports from outside the emulator: {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                inside = node.module == "streampixel_deploy.emulator" or node.module.startswith(
                    "streampixel_deploy.emulator."
                )
                inside = inside or (module != serving and node.module == "streampixel_deploy._serving")
                assert inside or not node.module.startswith("streampixel_deploy"), module.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("streampixel_deploy") for a in node.names), module.name
