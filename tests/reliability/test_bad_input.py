"""The bad-input catalogue (docs/bad-input.md): every case exits 2 with one message that names the input
(action name and CLI flag) and says what to do, before any request with side effects."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streampixel_deploy.build.sample import make_build_dir, make_build_zip
from streampixel_deploy.emulator import Emulator
from tests.localhttp import QuietHandler, serve

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"


@dataclass(frozen=True)
class Case:
    id: str
    setting: str  # the input the message must name
    args: Callable[[Path, str], list[str]]  # (tmp_path, web base URL) -> CLI arguments
    env: tuple[tuple[str, str], ...] = ()
    command: str = "deploy"


def _zip(tmp: Path, names: dict[str, bytes], name: str = "b.zip") -> str:
    path = tmp / name
    with zipfile.ZipFile(path, "w") as zf:
        for entry, data in names.items():
            zf.writestr(entry, data)
    return str(path)


def _good(tmp: Path) -> str:
    return str(make_build_zip(tmp / "good.zip", pak_bytes=1024))


def _file(tmp: Path, name: str, data: bytes) -> str:
    path = tmp / name
    path.write_bytes(data)
    return str(path)


def _truncated(tmp: Path) -> str:
    data = Path(_good(tmp)).read_bytes()
    return _file(tmp, "cut.zip", data[: len(data) // 2])


def _build_dir(tmp: Path, *extra: str, link_to: Path | None = None) -> str:
    """A packaged build folder plus the files named in ``extra`` (or a link to ``link_to``)."""
    folder = make_build_dir(tmp / "build", pak_bytes=1024)
    for name in extra:
        (folder / "MyGame" / name).write_text(name)
    if link_to is not None:
        link_to.write_text("secret")
        (folder / "MyGame" / "Saved.ini").symlink_to(link_to)
    return str(folder)


def _two(tmp: Path) -> str:
    _file(tmp, "a1.zip", b"x")
    _file(tmp, "a2.zip", b"x")
    return str(tmp / "a*.zip")


ZIP = "--zip-path"
CASES = [
    Case("api-key-missing", "api-key", lambda t, w: [ZIP, _good(t)], (("STREAMPIXEL_API_KEY", ""),)),
    Case("api-key-blank", "api-key", lambda t, w: [ZIP, _good(t)], (("STREAMPIXEL_API_KEY", "   "),)),
    Case("user-id-missing", "user-id", lambda t, w: [ZIP, _good(t)], (("STREAMPIXEL_USER_ID", ""),)),
    Case("user-id-spaces", "user-id", lambda t, w: [ZIP, _good(t), "--user-id", "663d 0a1b"]),
    Case("project-id-missing", "project-id", lambda t, w: [ZIP, _good(t)], (("STREAMPIXEL_PROJECT_ID", ""),)),
    Case("project-id-slash", "project-id", lambda t, w: [ZIP, _good(t), "--project-id", "../../admin"]),
    Case("project-id-too-long", "project-id", lambda t, w: [ZIP, _good(t), "--project-id", "a" * 100]),
    Case("project-id-query", "project-id", lambda t, w: [ZIP, _good(t), "--project-id", "abc?x=1"]),
    Case("project-id-one-bad-of-two", "project-id", lambda t, w: [ZIP, _good(t), "--project-id", "abc123,../x"]),
    Case("project-ids-for-status", "project-id", lambda t, w: ["--project-id", "abc123,def456"], command="status"),
    Case("auto-release-maybe", "auto-release", lambda t, w: [ZIP, _good(t), "--auto-release", "maybe"]),
    Case("auto-release-number", "auto-release", lambda t, w: [ZIP, _good(t), "--auto-release", "2"]),
    Case("wait-sentence", "wait", lambda t, w: [ZIP, _good(t), "--wait", "yes please"]),
    Case("dry-run-typo", "dry-run", lambda t, w: [ZIP, _good(t), "--dry-run", "tru"]),
    Case("summary-typo", "summary", lambda t, w: [ZIP, _good(t), "--summary", "nope"]),
    Case("timeout-zero", "timeout-minutes", lambda t, w: [ZIP, _good(t), "--timeout-minutes", "0"]),
    Case("timeout-negative", "timeout-minutes", lambda t, w: [ZIP, _good(t), "--timeout-minutes", "-5"]),
    Case("timeout-text", "timeout-minutes", lambda t, w: [ZIP, _good(t), "--timeout-minutes", "an hour"]),
    Case("timeout-huge", "timeout-minutes", lambda t, w: [ZIP, _good(t), "--timeout-minutes", "100000"]),
    Case("timeout-infinite", "timeout-minutes", lambda t, w: [ZIP, _good(t), "--timeout-minutes", "inf"]),
    Case("poll-too-fast", "poll-interval-seconds", lambda t, w: [ZIP, _good(t), "--poll-interval-seconds", "0.01"]),
    Case("poll-text", "poll-interval-seconds", lambda t, w: [ZIP, _good(t), "--poll-interval-seconds", "fast"]),
    Case("poll-huge", "poll-interval-seconds", lambda t, w: [ZIP, _good(t), "--poll-interval-seconds", "99999"]),
    Case("zip-missing", "zip-path", lambda t, w: [ZIP, str(t / "nope.zip")]),
    Case("zip-glob-none", "zip-path", lambda t, w: [ZIP, str(t / "*.zip")]),
    Case("zip-glob-several", "zip-path", lambda t, w: [ZIP, _two(t)]),
    Case("zip-is-directory", "zip-path", lambda t, w: [ZIP, str(t)]),
    Case("zip-not-a-zip", "zip-path", lambda t, w: [ZIP, _file(t, "notes.zip", b"hello, not a zip")]),
    Case("zip-empty-file", "zip-path", lambda t, w: [ZIP, _file(t, "empty.zip", b"")]),
    Case("zip-truncated", "zip-path", lambda t, w: [ZIP, _truncated(t)]),
    Case("zip-no-entries", "zip-path", lambda t, w: [ZIP, _zip(t, {})]),
    Case("zip-no-exe", "zip-path", lambda t, w: [ZIP, _zip(t, {"Game/Content/a.pak": b"x"})]),
    Case("zip-exe-too-deep", "zip-path", lambda t, w: [ZIP, _zip(t, {"a/b/c/Game.exe": b"MZ"})]),
    Case("zip-slip-dotdot", "zip-path", lambda t, w: [ZIP, _zip(t, {"Game.exe": b"MZ", "../evil.dll": b"x"})]),
    Case("zip-slip-absolute", "zip-path", lambda t, w: [ZIP, _zip(t, {"Game.exe": b"MZ", "/etc/evil": b"x"})]),
    Case("zip-slip-drive", "zip-path", lambda t, w: [ZIP, _zip(t, {"Game.exe": b"MZ", "C:/evil.dll": b"x"})]),
    Case("zip-duplicate-names", "zip-path", lambda t, w: [ZIP, _zip(t, {"Game.exe": b"MZ", "GAME.exe": b"MZ"})]),
    Case("zip-and-file-url", "file-url", lambda t, w: [ZIP, _good(t), "--file-url", w + "/ok.zip"]),
    Case("zip-and-build-dir", "build-dir", lambda t, w: [ZIP, _good(t), "--build-dir", str(t)]),
    Case("nothing-to-deploy", "zip-path", lambda t, w: []),
    Case("build-dir-missing", "build-dir", lambda t, w: ["--build-dir", str(t / "nope")]),
    Case("build-dir-is-file", "build-dir", lambda t, w: ["--build-dir", _good(t)]),
    Case("build-dir-link-outside", "build-dir", lambda t, w: ["--build-dir", _build_dir(t, link_to=t / "creds")]),
    Case("build-dir-case-twins", "build-dir", lambda t, w: ["--build-dir", _build_dir(t, "A.ini", "a.INI")]),
    Case("build-dir-backslash-name", "build-dir", lambda t, w: ["--build-dir", _build_dir(t, "Saved\\a.ini")]),
    Case("build-dir-reserved-name", "build-dir", lambda t, w: ["--build-dir", _build_dir(t, "aux.ini")]),
    Case(
        "build-dir-exclude-outside",
        "build-dir-exclude",
        lambda t, w: ["--build-dir", _build_dir(t), "--build-dir-exclude", "../*.pdb"],
    ),
    Case(
        "build-dir-exclude-without-dir",
        "build-dir-exclude",
        lambda t, w: [ZIP, _good(t), "--build-dir-exclude", "*.pdb"],
    ),
    Case("file-url-http", "file-url", lambda t, w: ["--file-url", "http://cdn.example.com/b.zip"]),
    Case("file-url-query", "file-url", lambda t, w: ["--file-url", "https://cdn.example.com/b.zip?sig=abc"]),
    Case("file-url-not-zip", "file-url", lambda t, w: ["--file-url", "https://drive.google.com/file/d/x/view"]),
    Case("file-url-ftp", "file-url", lambda t, w: ["--file-url", "ftp://cdn.example.com/b.zip"]),
    Case("file-url-redirects", "file-url", lambda t, w: ["--file-url", w + "/redirect.zip"]),
    Case("file-url-html", "file-url", lambda t, w: ["--file-url", w + "/page.zip"]),
    Case("file-url-404", "file-url", lambda t, w: ["--file-url", w + "/missing.zip"]),
    Case("api-url-http", "api-url", lambda t, w: [ZIP, _good(t), "--api-url", "http://api.example.com/x"]),
    Case("api-url-ftp", "api-url", lambda t, w: [ZIP, _good(t), "--api-url", "ftp://api.example.com/x"]),
    Case("api-url-query", "api-url", lambda t, w: [ZIP, _good(t), "--api-url", "https://api.example.com/?a=1"]),
    Case("api-url-credentials", "api-url", lambda t, w: [ZIP, _good(t), "--api-url", "https://u:p@api.example.com/"]),
    Case("upload-id-missing", "upload-id", lambda t, w: [], command="distribute"),
    Case("upload-id-malformed", "upload-id", lambda t, w: ["--upload-id", "665a 2b3c"], command="distribute"),
    Case("upload-id-unknown", "upload-id", lambda t, w: ["--upload-id", "0" * 24], command="distribute"),
    Case("upload-id-no-previous", "upload-id", lambda t, w: ["--upload-id", "previous"], command="distribute"),
    Case("verify-archive-unknown", "verify-archive", lambda t, w: [ZIP, _good(t), "--verify-archive", "deep"]),
    Case("s3-bucket-invalid", "s3-bucket", lambda t, w: [ZIP, _good(t), "--s3-bucket", "no spaces allowed"]),
    Case("s3-endpoint-without-bucket", "s3-bucket", lambda t, w: [ZIP, _good(t), "--s3-endpoint-url", w]),
    Case(
        "s3-key-without-secret",
        "s3-secret-access-key",
        lambda t, w: [ZIP, _good(t), "--s3-bucket", "builds", "--s3-access-key-id", "AKIAEXAMPLE"],
    ),
    Case(
        "s3-presign-negative",
        "s3-presign-seconds",
        lambda t, w: [ZIP, _good(t), "--s3-bucket", "builds", "--s3-presign-seconds", "-1"],
    ),
    Case(
        "s3-endpoint-http",
        "s3-endpoint-url",
        lambda t, w: [ZIP, _good(t), "--s3-bucket", "builds", "--s3-endpoint-url", "http://s3.example.com"],
    ),
    # issue 10: credentials in any URL setting, unusably long values
    Case("file-url-credentials", "file-url", lambda t, w: ["--file-url", "https://u:pw-SECRET@cdn.example.com/b.zip"]),
    Case(
        "s3-endpoint-credentials",
        "s3-endpoint-url",
        lambda t, w: [
            ZIP,
            _good(t),
            "--s3-bucket",
            "builds",
            "--s3-endpoint-url",
            "https://k:pw-SECRET@minio.example.com",
        ],
    ),
    Case(
        "s3-public-url-base-credentials",
        "s3-public-url-base",
        lambda t, w: [
            ZIP,
            _good(t),
            "--s3-bucket",
            "builds",
            "--s3-public-url-base",
            "https://u:pw-SECRET@cdn.example.com",
        ],
    ),
    Case("zip-path-too-long", "zip-path", lambda t, w: [ZIP, "b/" + "x" * 5000 + ".zip"]),
    Case("upload-id-too-long", "upload-id", lambda t, w: ["--upload-id", "u" * 5000], command="distribute"),
]


class _Web(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect.zip":
            self.send_response(302)
            self.send_header("Location", "/elsewhere.zip")
            self.end_headers()
        elif self.path == "/page.zip":
            body = b"<html><body>Click to download</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.empty(404)


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with serve(_Web) as url:
        yield url


def test_catalogue_has_at_least_40_cases_and_is_documented() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    doc = DOC.read_text(encoding="utf-8")
    missing = [c.id for c in CASES if f"`{c.id}`" not in doc]
    assert not missing, f"docs/bad-input.md does not list: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, cli: Any, emu: Emulator, web: str, tmp_path: Path) -> None:
    args = case.args(tmp_path, web)
    emu.clear_requests()
    run = cli(case.command, *args, **dict(case.env))
    assert run.code == 2, (run.out, run.err)
    message = run.err.strip().splitlines()[-1]
    assert not message.startswith(("InputError", "ArchiveError")), run.err  # plain words, no class name
    assert f"'{case.setting}' (--{case.setting})" in message, message
    assert not [r for r in emu.requests() if r["method"] != "GET"], "a request with side effects was sent"
