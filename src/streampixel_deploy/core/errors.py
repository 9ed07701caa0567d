"""The exception tree and the exit codes.

::

    StreampixelDeployError            exit 1 (failed) unless stated
    ├── InputError                    exit 2  invalid input or configuration, found before any side effect
    │   └── ArchiveError              exit 2  the zip (or build folder) would be rejected
    ├── ApiError(status, message)     exit 1  Streampixel answered with an error
    │   ├── AuthError                 exit 2  401 / 403: the key or the user ID is wrong (configuration)
    │   ├── NotFound                          404
    │   ├── RateLimited                       429 that could not be waited out
    │   └── BadResponse                       a body that is not the documented JSON
    ├── TransportError                exit 1  no usable answer (connection, TLS, timeout)
    ├── HostingError                  exit 1  the zip could not be put where Streampixel can fetch it
    │   └── HostingConfigError        exit 2  no usable S3 credentials (configuration)
    ├── BuildRejected(objection)      exit 1  Streampixel rejected the build
    ├── WaitTimeout                   exit 3  timed out: the build did not finish within timeout-minutes
    └── Cancelled                     exit 130  cancelled

Exit code 0 is success. A mistake in what the user set (a value, a wrong key, missing credentials) is exit 2
wherever it is found; the first request of every command is a read, so it is found before any side effect.

Every message is one or more sentences that say what happened and what to do next. The server's
``message`` is quoted verbatim after our own sentence. No message ever holds a secret: URLs are
redacted by :func:`streampixel_deploy.core.redact.redact_url` before they reach an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_TIMEOUT = 3
EXIT_CANCELLED = 130


_REF = re.compile("\u2039([a-z0-9-]+)\u203a")


def ref(setting: str) -> str:
    """A setting named in a message by a layer below the faces (``zip-path`` between single angle quotation marks).

    Only the faces know how the user set it (an action input, a flag, a variable): they show each reference as
    that label with :func:`render_refs` (the run's lifecycle does it for every message and the result).
    """
    return f"\u2039{setting}\u203a"


def render_refs(text: str, label: Callable[[str], str]) -> str:
    """``text`` with every :func:`ref` shown as ``label(setting)``."""
    return _REF.sub(lambda m: label(m[1]), text)


class StreampixelDeployError(Exception):
    """Base of every error this program reports to a user."""

    exit_code = EXIT_FAILED
    title = "Deploy failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(StreampixelDeployError):
    """A setting is missing, malformed or contradicts another; nothing was sent."""

    exit_code = EXIT_INPUT
    title = "Invalid input"

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class ArchiveError(InputError):
    """The archive is not something Streampixel would accept."""

    title = "Invalid build archive"


class ApiError(StreampixelDeployError):
    """Streampixel answered with an error status."""

    title = "Streampixel API error"

    def __init__(self, message: str, status: int | None = None, server_message: str | None = None):
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class AuthError(ApiError):
    """401/403: the key or the user ID is wrong — a configuration mistake, exit 2 like any other setting."""

    exit_code = EXIT_INPUT
    title = "Streampixel authentication failed"


class NotFound(ApiError):
    title = "Not found on Streampixel"


class RateLimited(ApiError):
    title = "Streampixel rate limit"

    #: the server's Retry-After in seconds (clamped by core.http), None when it sent no usable one
    #: (production documents none). Raised when a 429 could not be waited out, or at once with retry=False.
    retry_after: float | None = None


class BadResponse(ApiError):
    title = "Unexpected response from Streampixel"


class TransportError(StreampixelDeployError):
    title = "Could not reach Streampixel"

    def __init__(self, message: str, transient: bool = True, in_flight: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # False for failures a retry cannot fix (an untrusted certificate)
        self.in_flight = in_flight  # the request may still be running on the server (we stopped waiting)


class HostingError(StreampixelDeployError):
    title = "Build hosting failed"


class HostingConfigError(HostingError):
    """Hosting cannot start for want of a setting (no usable S3 credentials): exit 2."""

    exit_code = EXIT_INPUT


class BuildRejected(StreampixelDeployError):
    title = "Build rejected by Streampixel"

    def __init__(self, message: str, objection: str | None = None) -> None:
        super().__init__(message)
        self.objection = objection


class WaitTimeout(StreampixelDeployError):
    exit_code = EXIT_TIMEOUT
    title = "Timed out waiting for Streampixel"


class Cancelled(StreampixelDeployError):
    exit_code = EXIT_CANCELLED
    title = "Cancelled"
