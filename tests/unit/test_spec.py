"""The shared settings machinery (settings/spec.py): kinds, choices, bounds, secrets from files, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from streampixel_deploy.cli import main
from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.relay.config import OPTION_BY_NAME, build_config
from streampixel_deploy.settings.spec import Spec, parse_all, read_secret_file, resolve_secret
from streampixel_deploy.settings.table import SPEC_BY_NAME, build_settings

from .test_config import BASE

MODE = Spec("mode", "How.", "fast", "choice", ("fast", "slow"))
RELAY_MODE = Spec("mode", "How.", "fast", "choice", ("fast", "slow"), env_prefix="X_", action_input=False)


def _refused(spec: Spec, raw: object) -> InputError:
    with pytest.raises(InputError) as info:
        spec.parse(raw)
    assert info.value.setting == spec.name
    return info.value


def test_choices_are_enforced_for_any_spec_of_kind_choice() -> None:
    assert MODE.parse("SLOW ") == "slow" and MODE.parse("") == "fast" and MODE.parse(None) == "fast"
    assert _refused(MODE, "medium").message == "'mode' (--mode) must be one of fast, slow; got 'medium'."
    assert _refused(RELAY_MODE, "medium").message.startswith("--mode (X_MODE) must be one of fast, slow")


def test_tables_get_choices_checked_without_code_of_their_own() -> None:
    with pytest.raises(InputError, match=r"'verify-archive' \(--verify-archive\) must be one of quick, full, off"):
        build_settings({**BASE, "verify-archive": "deep"}, "deploy")
    with pytest.raises(InputError, match=r"'command' \(--command\) must be one of deploy, distribute"):
        build_settings(BASE, "publish")
    flags = {"token": "t" * 20, "github_repository": "octo/game", "github_token": "ghs_x", "log_level": "loud"}
    with pytest.raises(InputError, match=r"--log-level \(STREAMPIXEL_RELAY_LOG_LEVEL\) must be one of debug"):
        build_config(flags, {})


def test_a_table_cannot_declare_choices_the_machinery_would_not_check() -> None:
    with pytest.raises(ValueError, match="only a choice"):
        Spec("mode", "How.", kind="str", choices=("a", "b"))
    with pytest.raises(ValueError, match="not one of its choices"):
        Spec("mode", "How.", "medium", "choice", ("fast", "slow"))
    with pytest.raises(ValueError, match="unknown kind"):
        Spec("mode", "How.", kind="enum")


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("bool", "Yes", True),
        ("bool", "off", False),
        ("bool", True, True),  # YAML gives booleans
        ("float", "2.5", 2.5),
        ("float", 3, 3.0),
        ("int", "8080", 8080),
        ("list", "a, b,,c", ["a", "b", "c"]),
        ("list", ["a", " b "], ["a", "b"]),
        ("path", "~/spool", Path("~/spool").expanduser()),
        ("str", 12345, "12345"),
    ],
)
def test_kinds(kind: str, raw: object, expected: object) -> None:
    spec = Spec("x", "X.", kind=kind, low=0, high=10000) if kind in ("int", "float") else Spec("x", "X.", kind=kind)
    assert spec.parse(raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("bool", "maybe", "must be true or false; got 'maybe'"),
        ("float", "fast", "must be a number; got 'fast'"),
        ("float", "nan", "must be between 0 and 10"),
        ("float", "inf", "must be between 0 and 10"),
        ("float", "11", "must be between 0 and 10; got 11"),
        ("int", "1.5", "must be a whole number"),
        ("int", "-1", "must be between 0 and 10"),
    ],
)
def test_refusals_name_the_setting(kind: str, raw: str, message: str) -> None:
    error = _refused(Spec("x", "X.", kind=kind, low=0, high=10), raw)
    assert error.message.startswith("'x' (--x) ") and message in error.message


def test_url_kind_wants_https_except_on_loopback() -> None:
    spec = Spec("api-url", "API.", kind="url", sent="the API key")
    assert spec.parse("http://127.0.0.1:9/api/") == "http://127.0.0.1:9/api"
    assert "the API key would travel in clear text" in _refused(spec, "http://api.example.com").message
    assert "credentials" in _refused(spec, "https://u:p@api.example.com").message
    assert "not a valid URL" in _refused(spec, "https://[::1/x").message


def test_a_default_is_parsed_like_a_given_value() -> None:
    values = parse_all((Spec("n", "N.", "5", "float", low=0, high=9), Spec("s", "S.")), {})
    assert values == {"n": 5.0, "s": None}


def test_labels() -> None:
    assert SPEC_BY_NAME["zip-path"].label() == "'zip-path' (--zip-path)"
    assert OPTION_BY_NAME["port"].label() == "--port (STREAMPIXEL_RELAY_PORT)"
    assert OPTION_BY_NAME["github-token"].label() == "STREAMPIXEL_RELAY_GITHUB_TOKEN (or --github-token-file)"


def test_a_secret_file_is_read_stripped_and_redacted(tmp_path: Path) -> None:
    spec = SPEC_BY_NAME["api-key"]
    path = tmp_path / "key"
    path.write_text("  sp-secret-from-a-file-0001\n", "utf-8")
    assert read_secret_file(spec, str(path)) == "sp-secret-from-a-file-0001"
    assert "sp-secret-from-a-file-0001" not in scrub("the key is sp-secret-from-a-file-0001")
    assert resolve_secret(spec, "inline-value", str(path)) == "sp-secret-from-a-file-0001"  # the file wins
    assert resolve_secret(spec, "inline-value", "") == "inline-value"
    assert resolve_secret(spec, None, None) is None


def test_a_secret_file_that_is_missing_or_empty_is_an_input_error(tmp_path: Path) -> None:
    spec = OPTION_BY_NAME["github-token"]
    with pytest.raises(InputError, match=r"--github-token-file '.*nope' could not be read"):
        read_secret_file(spec, str(tmp_path / "nope"))
    (tmp_path / "empty").write_text("\n", "utf-8")
    with pytest.raises(InputError, match="is empty"):
        read_secret_file(spec, str(tmp_path / "empty"))


def test_the_cli_reads_api_key_file_through_the_machinery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STREAMPIXEL_API_KEY", raising=False)
    assert main(["projects", "--user-id", BASE["user-id"], "--api-key-file", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "--api-key-file " in err and "InputError" not in err
