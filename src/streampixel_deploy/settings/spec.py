"""The settings machinery both tables use: :class:`Spec`, its parsers and how messages name a setting.

A table of :class:`Spec` describes every setting of one face: the deploy tool's (``settings/table.py``: action
input, CLI flag and ``STREAMPIXEL_*`` variable) and the relay's (``relay/config.py``: flag, variable
``STREAMPIXEL_RELAY_*`` and YAML key). :func:`parse` turns one raw value (a string from a flag, a variable or
an action input, or a scalar or list from YAML) into the spec's kind, enforcing ``choices`` and the bounds;
every refusal is an :class:`~streampixel_deploy.core.errors.InputError` (exit 2) that names the setting with
:meth:`Spec.label`. What is particular to one setting (an ID's shape, a zip glob, cross-field rules) stays
with its table.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from streampixel_deploy.core.errors import InputError
from streampixel_deploy.core.redact import SECRETS, redact_url

#: str | secret | bool | int | float | choice | list | path | url
KINDS = frozenset({"str", "secret", "bool", "int", "float", "choice", "list", "path", "url"})
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


@dataclass(frozen=True)
class Spec:
    """One setting: its name, help, default (as text) and kind, and how the faces and messages name it."""

    name: str
    help: str
    default: str | None = None
    kind: str = "str"
    choices: tuple[str, ...] = ()
    #: bounds of an int or float, inclusive
    low: float = -math.inf
    high: float = math.inf
    #: what a ``url`` setting's service receives (for "must use https: X would travel in clear text")
    sent: str = "a token"
    #: how a ``url`` setting's message shows a good value ("such as https://...")
    example: str = ""
    env_prefix: str = "STREAMPIXEL_"
    #: other variables read when ours is unset
    fallback_env: tuple[str, ...] = ()
    #: True for the deploy tool's settings (each is an action input); False for the relay's
    action_input: bool = True
    show_default: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} for {self.name}")
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"{self.name}: a choice needs choices, and only a choice has them")
        if self.kind == "choice" and self.default is not None and self.default not in self.choices:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of its choices")

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def file_flag(self) -> str:
        """The flag that reads a secret from a file (Docker/Kubernetes secrets; a command line is public)."""
        return self.flag + "-file"

    @property
    def env(self) -> str:
        return self.env_prefix + self.name.upper().replace("-", "_")

    @property
    def input_env(self) -> str:
        """What a runner sets for a Docker action input (and our composite action maps to)."""
        return "INPUT_" + self.name.upper().replace(" ", "_")

    @property
    def attr(self) -> str:
        """The Python name: a dataclass field, an argparse ``dest``, a YAML key."""
        return self.name.replace("-", "_")

    def label(self) -> str:
        """How messages name this setting: every place a user can set it.

        A deploy setting is named by its action input and CLI flag (``'zip-path' (--zip-path)``); a relay
        setting by its flag and variable (``--port (STREAMPIXEL_RELAY_PORT)``), a relay secret by its variable
        and file flag, since it has no plain flag.
        """
        if self.action_input:
            return f"'{self.name}' ({self.flag})"
        if self.kind == "secret":
            return f"{self.env} (or {self.file_flag})"
        return f"{self.flag} ({self.env})"

    def parse(self, raw: object) -> Any:
        """``raw`` as this setting's kind; unset (None or blank) means the default. Raises InputError."""
        return parse(self, raw)


def by_name(specs: Iterable[Spec]) -> dict[str, Spec]:
    return {s.name: s for s in specs}


def is_unset(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


#: The longest value any setting takes (paths and URLs included); longer is a mistake, not an input.
MAX_LENGTH = 4096


def readable(spec: Spec, raw: object) -> None:
    """Refuse a value that cannot be used as text: not valid UTF-8 (an environment variable with stray bytes) or
    unusably long. Checked before anything else looks at the value (or prints it)."""
    if not isinstance(raw, str):
        return
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{spec.label()} is not valid UTF-8 text; check how it is set (a secret or variable with stray bytes).",
            spec.name,
        ) from None
    if len(raw) > MAX_LENGTH:
        raise InputError(
            f"{spec.label()} is {len(raw):,} characters long; the most it takes is {MAX_LENGTH:,}. Check the value.",
            spec.name,
        )


def parse(spec: Spec, raw: object) -> Any:
    """One raw value as ``spec.kind`` (see :class:`Spec`); None when it is unset and there is no default."""
    readable(spec, raw)
    if is_unset(raw):
        raw = spec.default
    if spec.kind == "list":
        return parse_list(raw)
    if raw is None:
        return None
    if spec.kind == "bool":
        return parse_bool(spec, raw)
    if spec.kind in ("int", "float"):
        return parse_number(spec, raw)
    if spec.kind == "choice":
        return parse_choice(spec, raw)
    if spec.kind == "secret":
        return parse_secret(spec, raw)
    text = str(raw).strip()
    if spec.kind == "path":
        return Path(text).expanduser()
    if spec.kind == "url":
        return parse_service_url(spec, text)
    return text


def parse_all(specs: Iterable[Spec], raw: Mapping[str, object]) -> dict[str, Any]:
    """Every spec's value from ``raw`` (keyed by setting name), parsed; keyed by setting name."""
    return {s.name: parse(s, raw.get(s.name)) for s in specs}


def parse_bool(spec: Spec, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"{spec.label()} must be true or false; got {show(raw)}.", spec.name)


def parse_number(spec: Spec, raw: object) -> float:
    """A float, or an int for ``kind="int"``, within ``[spec.low, spec.high]``."""
    text = str(raw).strip()
    try:
        number: float = int(text) if spec.kind == "int" else float(text)
    except ValueError:
        whole = "a whole number" if spec.kind == "int" else "a number"
        raise InputError(f"{spec.label()} must be {whole}; got {show(raw)}.", spec.name) from None
    if not math.isfinite(number) or number < spec.low or number > spec.high:
        raise InputError(f"{spec.label()} must be between {spec.low:g} and {spec.high:g}; got {text}.", spec.name)
    return number


def parse_choice(spec: Spec, raw: object) -> str:
    text = str(raw).strip().lower()
    if text not in spec.choices:
        raise InputError(f"{spec.label()} must be one of {', '.join(spec.choices)}; got {show(raw)}.", spec.name)
    return text


def parse_list(raw: object) -> list[str]:
    """A comma- or newline-separated string (a multi-line action input) or a YAML list, blanks dropped."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).replace("\n", ",").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def parse_secret(spec: Spec, raw: object) -> str | None:
    """A secret given inline (a variable, an action input, YAML): a string, remembered for redaction."""
    if not isinstance(raw, str):
        raise InputError(f"{spec.label()} must be a string.", spec.name)
    value = raw.strip()
    SECRETS.add(value)
    return value or None


def read_secret_file(spec: Spec, file_name: str) -> str:
    """The secret in ``file_name`` (``--<name>-file``), stripped; it must be readable and not empty."""
    path = Path(file_name.strip()).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"{spec.file_flag} {str(path)!r} could not be read ({exc.strerror}).", spec.name) from None
    if not value:
        raise InputError(f"{spec.file_flag} {str(path)!r} is empty.", spec.name)
    SECRETS.add(value)
    return value


def resolve_secret(spec: Spec, inline: object, file_name: object) -> str | None:
    """A secret from its file when one is named, else the inline value (None when neither is set)."""
    if not is_unset(file_name):
        return read_secret_file(spec, str(file_name))
    if inline is None:
        return None
    return parse_secret(spec, inline)


def split_url(spec: Spec, url: str) -> SplitResult:
    """``urlsplit`` that turns a malformed URL (``https://[::1/x``) into an InputError naming the setting."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InputError(
            f"{spec.label()} is not a valid URL ({exc}); got {show(redact_url(url))}.", spec.name
        ) from None
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{spec.label()} must not carry credentials (user:password@); they would end up in logs and in what "
            f"Streampixel stores. Use a URL without them (a presigned or public URL); got {show(redact_url(url))}.",
            spec.name,
        )
    return parts


def parse_service_url(spec: Spec, value: str) -> str:
    """An https base URL of a service we send ``spec.sent`` to (http only on loopback), without a query or
    credentials; returned without its trailing slash."""
    label = spec.label()
    parts = split_url(spec, value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        example = f" {spec.example}" if spec.example else ""
        raise InputError(f"{label} must be an https:// URL{example}; got {show(value)}.", spec.name)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(
            f"{label} must not carry a query string, fragment or credentials; {spec.sent} is sent separately.",
            spec.name,
        )
    if parts.scheme == "http" and not is_loopback_url(value):
        raise InputError(
            f"{label} must use https: {spec.sent} would travel in clear text over http. "
            "Plain http is only allowed for a loopback host (127.0.0.1, ::1, localhost).",
            spec.name,
        )
    return value.rstrip("/")


def is_loopback_url(url: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (``hostname`` is already lower case)."""
    try:
        host = urlsplit(url).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # not a URL, or a name that is not an IP address
        return False


def show(value: object) -> str:
    """A value as messages quote it: ``repr`` of its text, cut at 60 characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")
