"""Settings: one table of every setting, and one frozen, validated :class:`Settings` built from it.

``poll-interval-seconds`` is the action input, ``--poll-interval-seconds`` the CLI flag and
``STREAMPIXEL_POLL_INTERVAL_SECONDS`` the variable; the faces only collect raw strings by those names.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.patterns import path_matcher
from streampixel_deploy.settings.s3 import S3Settings, s3_settings
from streampixel_deploy.settings.spec import (
    Spec,
    by_name,
    is_loopback_url,
    parse_all,
    parse_list,
    show,
    split_url,
)

#: How the zip is checked before upload (``verify-archive``): the central directory, also every CRC, or not at all.
ArchiveCheck = Literal["quick", "full", "off"]

__all__ = [
    "COMMANDS",
    "DEFAULT_API_URL",
    "DEFAULT_ENVIRONMENT",
    "SPECS",
    "SPEC_BY_NAME",
    "S3Settings",
    "Settings",
    "Spec",
    "build_settings",
    "collect_env",
    "is_loopback_url",
    "label_of",
    "resolve_zip_path",
    "validate_file_url",
]

DEFAULT_API_URL = "https://api.streampixel.io/pixelStripeApi"
#: The GitHub environment a run's deployment is recorded in (its history names the rollback target).
DEFAULT_ENVIRONMENT = "streampixel"
MIN_POLL_SECONDS = 5.0
#: Against a loopback API (the emulator) polling may be faster: the 5 s floor protects the real service.
MIN_POLL_SECONDS_LOOPBACK = 0.1
COMMANDS = ("deploy", "distribute", "status", "test-webhook")
_DAY_MINUTES = 24 * 60.0
_WEEK_SECONDS = 7 * 24 * 3600.0


SPECS: tuple[Spec, ...] = (
    Spec("api-key", "Streampixel API key (prefer the env var or --api-key-file).", kind="secret"),
    Spec("user-id", "Streampixel user ID (dashboard: account menu, Copy User ID)."),
    Spec("project-id", "Streampixel project ID (dashboard: project page, Project ID); several: comma-separated."),
    Spec(
        "api-url",
        "Streampixel API base URL, or 'emulator' to rehearse against an embedded emulator.",
        DEFAULT_API_URL,
        "url",
        sent="the API key",
        example=f"such as {DEFAULT_API_URL}",
    ),
    Spec("command", "What the action does.", "deploy", "choice", COMMANDS),
    Spec("zip-path", "Path or glob of the packaged build .zip (exactly one match)."),
    Spec("build-dir", "A packaged build folder to zip (deterministic, parallel) instead of zip-path.", kind="path"),
    Spec(
        "build-dir-exclude",
        "Files to leave out of build-dir: patterns relative to it, comma- or newline-separated (** spans folders).",
        kind="list",
    ),
    Spec("file-url", "A public direct-download URL of the .zip that Streampixel can fetch."),
    Spec("auto-release", "Make the build live as soon as it is approved.", "true", "bool"),
    Spec("wait", "Follow the build until Approved/Reject or the timeout.", "true", "bool"),
    Spec("timeout-minutes", "Time limit of the whole run, reads included.", "60", "float", low=0, high=_DAY_MINUTES),
    Spec("poll-interval-seconds", "Seconds between status polls (minimum 5).", "15", "float", low=0, high=3600),
    Spec("upload-id", "Build to distribute or show: an upload ID, 'latest' or 'previous'."),
    Spec(
        "http-timeout-seconds",
        "Time limit of each Streampixel API request, in total.",
        "60",
        "float",
        low=0.5,
        high=600,
    ),
    Spec("dry-run", "Validate inputs, credentials, project and archive; upload nothing.", "false", "bool"),
    Spec("verify-archive", "Local archive check before upload.", "quick", "choice", get_args(ArchiveCheck)),
    Spec("s3-bucket", "S3-compatible bucket that hosts the zip (enables s3 hosting)."),
    Spec("s3-prefix", "Key prefix inside the bucket.", "streampixel-builds"),
    Spec("s3-region", "Bucket region (default: boto3's configuration, else us-east-1)."),
    Spec("s3-endpoint-url", "Endpoint of a non-AWS S3-compatible service (R2, Spaces, MinIO, B2, ...)."),
    Spec("s3-public-url-base", "Public base URL (CDN or custom domain) in front of the bucket."),
    Spec(
        "s3-presign-seconds",
        "Give Streampixel a presigned URL valid this long (0 = public URL).",
        "0",
        "float",
        low=0,
        high=_WEEK_SECONDS,
    ),
    Spec("s3-access-key-id", "S3 access key ID (default: boto3's credential chain).", kind="secret"),
    Spec("s3-secret-access-key", "S3 secret access key (default: boto3's credential chain).", kind="secret"),
    Spec(
        "github-token",
        "Record the run as a GitHub deployment and read that history for the rollback target (deployments: write).",
        kind="secret",
    ),
    Spec("environment", "GitHub environment of the deployments (with github-token).", DEFAULT_ENVIRONMENT),
    Spec("summary", "Write the job summary (GITHUB_STEP_SUMMARY) when the runner provides one.", "true", "bool"),
)
SPEC_BY_NAME = by_name(SPECS)

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Settings:
    command: str
    api_key: str
    user_id: str
    project_id: str
    api_url: str
    zip_path: Path | None
    file_url: str | None
    auto_release: bool
    wait: bool
    timeout_minutes: float
    poll_interval_seconds: float
    upload_id: str | None
    dry_run: bool
    summary: bool = True
    http_timeout_seconds: float = 60.0
    github_token: str | None = None
    environment: str | None = None
    build_dir: Path | None = None
    build_dir_exclude: tuple[str, ...] = ()
    #: every project of the run (deploy and distribute take several); project_id is the first
    project_ids: tuple[str, ...] = ()
    verify_archive: ArchiveCheck = "quick"
    s3: S3Settings | None = None
    #: ``api-url: emulator``: an embedded emulator takes the run; nothing from before it (GitHub's deployment
    #: history, the earlier builds' zips) can be read
    rehearsal: bool = False

    @property
    def timeout_seconds(self) -> float:
        return self.timeout_minutes * 60.0

    @property
    def api_is_loopback(self) -> bool:
        return is_loopback_url(self.api_url)

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return f"Settings(command={self.command!r}, project_id={self.project_id!r}, api_url={self.api_url!r})"


def collect_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Raw values from ``STREAMPIXEL_*`` variables (empty strings count as unset)."""
    return {s.name: environ[s.env] for s in SPECS if environ.get(s.env, "").strip() != ""}


def build_settings(
    raw: Mapping[str, str | None], command: str, need_project: bool = True, *, rehearsal: bool = False
) -> Settings:
    """Validate raw string values (by setting name) into :class:`Settings`; raises InputError (exit 2)."""
    command = SPEC_BY_NAME["command"].parse(command or "")
    values = parse_all(SPECS, raw)  # kinds, choices and bounds; the rules of single settings follow

    api_key = _required(values, "api-key")
    user_id = _id(_required(values, "user-id"), "user-id")
    projects = _project_ids(values, command) if need_project or values["project-id"] else ("",)
    project_id = projects[0]
    api_url: str = values["api-url"]

    zip_raw, file_url, dir_raw = values["zip-path"], values["file-url"], values["build-dir"]
    zip_path: Path | None = None
    build_dir: Path | None = None
    if command == "deploy":
        given = [name for name, v in (("zip-path", zip_raw), ("build-dir", dir_raw), ("file-url", file_url)) if v]
        if len(given) > 1:
            labels = " and ".join(SPEC_BY_NAME[n].label() for n in given)
            raise InputError(
                f"Give only one build source; got {labels}. The build is either a zip to host, a folder "
                "to zip and host, or a URL you already host.",
                given[1],
            )
        if not given:
            raise InputError(
                f"Nothing to deploy: set {_label('zip-path')} to the packaged build .zip, "
                f"{_label('build-dir')} to the packaged build folder, "
                f"or {_label('file-url')} to a public direct-download URL of the zip.",
                "zip-path",
            )
        if zip_raw:
            zip_path = resolve_zip_path(zip_raw)
        if dir_raw:
            build_dir = _build_dir(dir_raw)
        if file_url:
            file_url = validate_file_url(file_url)
    exclude = tuple(values["build-dir-exclude"])
    path_matcher(exclude, "build-dir-exclude", _label("build-dir-exclude"))  # refuses patterns that cannot match
    if exclude and build_dir is None and command == "deploy":
        raise InputError(
            f"{_label('build-dir-exclude')} applies to {_label('build-dir')} only; set that too.", "build-dir-exclude"
        )
    s3 = s3_settings(values, SPEC_BY_NAME)

    poll: float = values["poll-interval-seconds"]
    floor = MIN_POLL_SECONDS_LOOPBACK if is_loopback_url(api_url) else MIN_POLL_SECONDS
    if poll < floor:
        raise InputError(
            f"{_label('poll-interval-seconds')} must be at least {floor:g} seconds "
            f"(Streampixel asks clients not to poll faster); got {poll:g}.",
            "poll-interval-seconds",
        )
    timeout: float = values["timeout-minutes"]
    if timeout <= 0:
        raise InputError(
            f"{_label('timeout-minutes')} must be more than 0 minutes; got {timeout:g}.",
            "timeout-minutes",
        )

    upload_id = values["upload-id"]
    if upload_id is not None and upload_id not in ("latest", "previous"):
        upload_id = _id(upload_id, "upload-id")
    if command == "distribute" and not upload_id:
        raise InputError(
            f"{_label('upload-id')} is required for distribute: give an upload ID, "
            "'latest' (the newest approved build) or 'previous' (the approved build before it, "
            "the usual rollback target).",
            "upload-id",
        )

    return Settings(
        command=command,
        api_key=api_key,
        user_id=user_id,
        project_id=project_id,
        project_ids=projects,
        api_url=api_url,
        zip_path=zip_path,
        file_url=file_url,
        auto_release=values["auto-release"],
        wait=values["wait"],
        timeout_minutes=timeout,
        poll_interval_seconds=poll,
        upload_id=upload_id,
        dry_run=values["dry-run"],
        summary=values["summary"],
        github_token=values["github-token"],
        environment=values["environment"],
        http_timeout_seconds=values["http-timeout-seconds"],
        build_dir=build_dir,
        build_dir_exclude=exclude,
        verify_archive=values["verify-archive"],
        s3=s3,
        rehearsal=rehearsal,
    )


def label_of(setting: str) -> str:
    """How the faces name a setting in a message (:meth:`Spec.label`: the action input and the CLI flag)."""
    spec = SPEC_BY_NAME.get(setting)
    return spec.label() if spec is not None else repr(setting)


_label = label_of


def _build_dir(path: Path) -> Path:
    if not path.is_dir():
        raise InputError(
            f"{_label('build-dir')} {str(path)!r} is not a directory. Give the packaged build folder "
            "(the one holding the game's .exe).",
            "build-dir",
        )
    return path


def _required(values: Mapping[str, Any], name: str) -> str:
    value: str | None = values[name]
    if not value:
        spec = SPEC_BY_NAME[name]
        where = f"the action input {spec.name!r}, the flag {spec.flag} or the variable {spec.env}"
        if spec.kind == "secret":
            where = f"the action input {spec.name!r}, the variable {spec.env} or {spec.file_flag}"
        raise InputError(f"{spec.label()} is required: set it with {where}.", name)
    return value


def _project_ids(values: Mapping[str, Any], command: str) -> tuple[str, ...]:
    """One or more project IDs (comma- or newline-separated), each checked, repeats dropped."""
    ids = tuple(dict.fromkeys(_id(part, "project-id") for part in parse_list(_required(values, "project-id"))))
    if len(ids) > 1 and command not in ("deploy", "distribute"):
        raise InputError(f"{_label('project-id')} takes one project for {command}; got {len(ids)}.", "project-id")
    return ids or (_id("", "project-id"),)


def _id(value: str, name: str) -> str:
    if not _ID_RE.match(value):
        raise InputError(
            f"{_label(name)} does not look like a Streampixel ID "
            f"(letters, digits, '-' or '_', such as 67944b8a3f323be4b89a2272); got {show(value)}. "
            "Copy it from the Streampixel dashboard.",
            name,
        )
    return value


def validate_file_url(value: str) -> str:
    spec = SPEC_BY_NAME["file-url"]
    parts = split_url(spec, value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(
            f"{spec.label()} must be an https:// direct-download URL of the .zip; got {show(value)}.",
            spec.name,
        )
    if parts.scheme == "http" and not is_loopback_url(value):
        raise InputError(
            f"{spec.label()} must use https (plain http is only allowed on a loopback host).",
            spec.name,
        )
    if parts.query:
        raise InputError(
            f"{spec.label()} has a query string; Streampixel's schema requires a URL that ends in .zip "
            "with no query string. Host the zip at a plain public URL (or use the s3 hosting settings).",
            spec.name,
        )
    if not parts.path.lower().endswith(".zip"):
        raise InputError(
            f"{spec.label()} must point straight at the .zip (the path must end in .zip); "
            "share pages and download buttons are rejected by Streampixel.",
            spec.name,
        )
    return value


def resolve_zip_path(pattern: str) -> Path:
    """Expand ``pattern`` (a path or a glob); it must name exactly one readable file."""
    spec = SPEC_BY_NAME["zip-path"]
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise InputError(
                f"{spec.label()} pattern {pattern!r} matched no file. Check the path relative to "
                f"the working directory ({os.getcwd()}) and that the build step produced the zip.",
                spec.name,
            )
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
            raise InputError(
                f"{spec.label()} pattern {pattern!r} matched {len(matches)} files ({shown}); "
                "it must match exactly one. Make the pattern more specific.",
                spec.name,
            )
        pattern = matches[0]
    path = Path(pattern)
    if not path.exists():
        raise InputError(
            f"{spec.label()} {pattern!r} does not exist. Check the path relative to the working "
            f"directory ({os.getcwd()}).",
            spec.name,
        )
    if path.is_dir():
        raise InputError(
            f"{spec.label()} {pattern!r} is a directory; give the .zip file itself.",
            spec.name,
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"{spec.label()} {pattern!r} is not readable by this user.", spec.name)
    return path
