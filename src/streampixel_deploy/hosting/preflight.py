"""The one download check: fetch the first byte of the build's URL the way Streampixel starts its download.

A single ``GET`` with ``Range: bytes=0-0``, streamed and closed without reading the body, redirects not
followed (Streampixel does not follow them), bounded by (connect, read) timeouts and by the hosting deadline.

Failure policy (the same for every URL Streampixel is given):

============================================  ==========================================================
What the URL answered                          What happens
============================================  ==========================================================
200 or 206, not an HTML page                   passes; the size comes from ``Content-Range`` when given
a redirect (3xx), a refusal (4xx), or an       **an error**: Streampixel's download would fail. It is
HTML page instead of the zip (200/206)         charged to whoever chose the URL (``Origin``):
                                               the user's own ``file-url`` -> ``InputError`` (exit 2,
                                               naming 'file-url' (--file-url)); a URL that S3 hosting
                                               built from the ``s3-*`` settings -> ``HostingError``
                                               (exit 1, naming the setting to change)
no answer (DNS, connection, TLS, timeout),     **a warning**, and the run goes on: this runner could not
a 5xx, or another status (whatever the body:   decide (a passing outage, or a network that differs from
a CDN's 502/503 page is HTML)                  Streampixel's), so it does not fail the deploy on it
============================================  ==========================================================

The status is judged before the body's type. When the answer is small (a 1-byte range), its body is read, so a
``session`` given by the caller keeps the connection for the next check (S3 hosting checks a test object before
the upload and the build's URL after it: the second costs one round trip, not a new TLS connection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests

from streampixel_deploy._version import __version__
from streampixel_deploy.core.errors import HostingError, InputError, StreampixelDeployError, ref
from streampixel_deploy.core.progress import Reporter

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
#: A body this small (bytes) is read to its end, so that the connection can be reused.
SMALL_BODY = 4096


@dataclass(frozen=True)
class Origin:
    """Who chose the URL: how messages name it, and whom a definite failure is charged to.

    The three sentences are formats with ``{name}``, ``{url}`` (as it may be shown) and ``{status}``.
    """

    name: str
    shown: str  # the URL as it may be printed (signatures redacted)
    blame: Callable[[str], StreampixelDeployError]  # turns a sentence into the error the user sees
    redirect: str
    refused: str
    html: str
    not_http: str = "{name} is not an http(s) URL."


def user_url(shown: str) -> Origin:
    """The user's own ``file-url``: a definite failure is an input error (exit 2)."""
    return Origin(
        name=f"{ref('file-url')} {shown}",
        shown=shown,
        blame=lambda message: InputError(message, "file-url"),
        redirect=(
            "{name} redirects (HTTP {status}); Streampixel needs a direct download. Use the final URL of the .zip."
        ),
        refused=(
            "{name} answered HTTP {status}; Streampixel needs a public URL that answers 200. "
            "Check the object is public."
        ),
        html="{name} returns an HTML page, not the zip (a share page or login?). Use the direct-download URL.",
    )


def hosted_url(shown: str, *, test_object: bool = False) -> Origin:
    """A URL that S3 hosting built from the ``s3-*`` settings: a definite failure is a hosting error (exit 1).

    ``test_object``: the URL is a small test object's (the dry run's probe, or the check made before a build's
    upload), so the messages say that a test object, not the build, was uploaded."""
    base = ref("s3-public-url-base")
    presign = ref("s3-presign-seconds")
    what = (
        "A small test object was uploaded under the prefix (the build was not uploaded), but its URL"
        if test_object
        else "The build was uploaded but its URL"
    )
    return Origin(
        name=f"The test object's URL {shown}" if test_object else f"The build's URL {shown}",
        shown=shown,
        blame=HostingError,
        redirect=f"{{name}} redirects (HTTP {{status}}); Streampixel needs a direct download. Point {base} at the "
        "final host.",
        refused=(
            what + " {url} answers HTTP {status} without credentials, so Streampixel could not download the build."
            " Make the objects under the prefix publicly readable (a bucket policy allowing "
            f"s3:GetObject), put a CDN in front and set {base}, or set {presign} to give Streampixel a presigned URL."
        ),
        html=f"{{name}} returns an HTML page, not the zip; check {base} points at the bucket.",
        not_http=f"{{name}} is not an http(s) URL; check {base}.",
    )


def preflight(
    url: str,
    origin: Origin,
    reporter: Reporter,
    session: requests.Session | None = None,
    time_left: float | None = None,
) -> int | None:
    """Check that ``url`` would download; return the zip's size when the server tells it (else None).

    Raises ``origin.blame(...)`` when the answer proves the download would fail; warns otherwise (see the
    module's policy). ``time_left`` (seconds) shortens the timeouts to what the deadline allows.
    """
    if not url.startswith(("https://", "http://")):
        raise origin.blame(origin.not_http.format(name=origin.name))
    connect, read = CONNECT_TIMEOUT, READ_TIMEOUT
    if time_left is not None:
        connect, read = max(0.1, min(connect, time_left)), max(0.1, min(read, time_left))
    getter = session if session is not None else requests.Session()
    if session is None:
        getter.headers["User-Agent"] = f"streampixel-deploy/{__version__}"
    try:
        with getter.get(
            url,
            headers={"Range": "bytes=0-0", "Accept": "*/*"},
            timeout=(connect, read),
            allow_redirects=False,
            stream=True,
        ) as response:  # closed without reading the body: at most the first byte was asked for
            status = response.status_code
            ctype = response.headers.get("Content-Type", "").lower()
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            length = response.headers.get("Content-Length", "")
            if session is not None and length.isdigit() and int(length) <= SMALL_BODY:
                response.raw.read(SMALL_BODY + 1)  # the whole (tiny) body: the connection goes back to the pool
    except requests.RequestException as exc:
        reporter.warning(
            f"{origin.name} could not be fetched to check it ({type(exc).__name__}); make sure Streampixel can "
            "reach it.",
            "Download URL not checked",
        )
        return None
    finally:
        if session is None:
            getter.close()
    facts = {"name": origin.name, "url": origin.shown, "status": status}
    if 300 <= status < 400:
        raise origin.blame(origin.redirect.format(**facts))
    if 400 <= status < 500:
        raise origin.blame(origin.refused.format(**facts))
    if status not in (200, 206):  # judged before the body's type: a CDN's 502/503 page is HTML and only an outage
        reporter.warning(
            f"{origin.name} answered HTTP {status} to a 1-byte download; make sure Streampixel can download it.",
            "Download URL",
        )
        return None
    if "text/html" in ctype:
        raise origin.blame(origin.html.format(**facts))
    reporter.info(f"{origin.name} answers HTTP {status} ({ctype or 'no content type'}).")
    return int(total) if total.isdigit() else None
