"""The idempotent submit: upload-file at most once per build, even when an answer is lost.

upload-file is not safe to repeat: a request whose answer was lost (no answer, a 5xx, a 2xx without a usable
upload ID) may have created the build and used the user's 2-minute slot, and upload-file only enqueues work
(docs/streampixel-api.md §6.1), so the build may be listed in ``files[]`` some time after it was created. So after an
ambiguous answer we look in ``files[]`` for a new build with our fileUrl for the whole listing window
(:func:`listing_window`); longer when the request may still be running on the server (a read timeout).

- Found: that build is this run's (its fileUrl is ours and it was not there before the run).
- Not found, and a read of ``files[]`` made after the window ended still does not list it: that is the proof the
  first request created nothing, and only then is it sent again.
- Anything else (the deadline or a cancellation cut the window, the reads kept failing, or two new builds carry
  our fileUrl): :class:`NotConfirmed`, "submitted, not confirmed", with what the user should check. Never a
  second build on a guess.

After a resend is refused with 429, the slot may have been used by our own earlier request: we look again after
each wait.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from streampixel_deploy.api.models import Build, Project
from streampixel_deploy.core.errors import (
    EXIT_TIMEOUT,
    ApiError,
    Cancelled,
    RateLimited,
    StreampixelDeployError,
    TransportError,
    WaitTimeout,
)
from streampixel_deploy.core.http import STREAMPIXEL_WINDOW
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.core.waits import Wait
from streampixel_deploy.run.context import Run, transient
from streampixel_deploy.run.follow import LISTING_GRACE
from streampixel_deploy.settings.table import Settings

MAX_SUBMIT_ATTEMPTS = 3
#: At least this many looks at files[] before deciding a lost request created nothing.
MIN_LOOKS = 3
#: The listing window in polls: 24 x the 5 s poll floor of the real API is the whole LISTING_GRACE (120 s);
#: only where polling may be faster (an emulator on loopback) is the window shorter.
LISTING_POLLS = 24


class NotConfirmed(ApiError):
    """upload-file was sent, its answer was ambiguous, and whether it created a build could not be settled."""

    title = "Submitted, not confirmed"


class NotConfirmedInTime(NotConfirmed):
    """The same, because the run's deadline ended the search: a timeout (exit 3), like any wait the deadline cuts."""

    exit_code = EXIT_TIMEOUT


def listing_window(settings: Settings) -> float:
    """How long a build created by upload-file may take to appear in files[]: LISTING_GRACE (120 s, the time the
    follower grants a fresh build too, and the rate-limit window a resend would wait anyway), or LISTING_POLLS
    polls when the poll interval is below the real API's 5 s floor."""
    return min(LISTING_GRACE, LISTING_POLLS * settings.poll_interval_seconds)


def submit(run: Run, file_url: str, known_ids: set[str]) -> str:
    """upload-file; returns the upload ID of the build Streampixel created (never two builds)."""
    s = run.settings
    for attempt in range(1, MAX_SUBMIT_ATTEMPTS + 1):
        try:
            return _send(run, file_url, known_ids, recheck=attempt > 1)
        except (TransportError, ApiError) as exc:
            if not transient(exc) or isinstance(exc, RateLimited):
                raise
            lost: StreampixelDeployError = exc
        except (Cancelled, KeyboardInterrupt):
            last_look(run, file_url, known_ids)
            raise
        # A timed-out request may still be running on the server: look for longer before resending.
        in_flight = (isinstance(lost, TransportError) and lost.in_flight) or (
            isinstance(lost, ApiError) and lost.status in (502, 503, 504)  # a gateway gave up, not the origin
        )
        window = listing_window(s) + (2 * s.http_timeout_seconds + 5 if in_flight else 0.0)
        run.reporter.warning(
            f"The answer to upload-file was lost ({lost}); looking for the build in project {s.project_id}'s "
            f"builds for up to {window:.0f}s before deciding whether Streampixel created it.",
            "Upload response lost",
        )
        found, settled = find_created(run, file_url, known_ids, window)
        if found is not None:
            return found
        if not settled:
            raise _not_confirmed(run, file_url, lost, window)
        if attempt == MAX_SUBMIT_ATTEMPTS:
            raise lost
        run.reporter.info(
            f"No build with this fileUrl appeared within {window:.0f}s: the request created nothing; "
            f"submitting again (attempt {attempt + 1})."
        )
    raise AssertionError("unreachable")


def _not_confirmed(run: Run, file_url: str, lost: StreampixelDeployError, window: float) -> NotConfirmed:
    s = run.settings
    kind = NotConfirmed if run.clock.has_time_for(0) else NotConfirmedInTime  # the deadline ended the search
    return kind(
        f"Submitted, not confirmed: upload-file got no clear answer ({lost}), and whether Streampixel created the "
        f"build could not be settled within the {window:.0f}s a new build may take to be listed (the run's time "
        "ran out, or project reads failed). It was not sent again, so there is no duplicate. Next: look for a build "
        f"with fileUrl {redact_url(file_url)} in project {s.project_id} (command: status; CLI: streampixel-deploy "
        "status); follow it with its upload ID if it is there, and deploy again only if it has not appeared after "
        "a few minutes.",
        getattr(lost, "status", None),
    )


def _send(run: Run, file_url: str, known_ids: set[str], recheck: bool) -> str:
    """upload-file, waiting out 429s until the deadline; after a lost answer (``recheck``) each wait is
    followed by a look in files[], since the slot may have been used by our own earlier request."""
    with run.post_lock:  # with several projects: one upload at a time, the waits included
        return _send_waiting(run, file_url, known_ids, recheck)


def _send_waiting(run: Run, file_url: str, known_ids: set[str], recheck: bool) -> str:
    s = run.settings
    while True:
        try:
            return run.client.upload_file(s.project_id, file_url, s.auto_release, retry=False)
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else STREAMPIXEL_WINDOW
            run.reporter.warning(
                f"Streampixel rate-limited upload-file ({exc.server_message or 'HTTP 429'}); waiting {wait:.0f}s "
                "before retrying (the limit is per user).",
                "Rate limited",
            )
            run.clock.sleep(
                wait,
                "waiting out the rate limit on upload-file",
                "Another upload or distribute by the same user is probably running; retry later.",
                waiting_for="the rate limit on upload-file to pass",
                announce=run.reporter.info,
            )
        if recheck and (found := find_created(run, file_url, known_ids, 0.0)[0]) is not None:
            return found


def find_created(run: Run, file_url: str, known_ids: set[str], window: float) -> tuple[str | None, bool]:
    """Look for a build with this fileUrl that was not there before, for ``window`` s (and MIN_LOOKS looks).

    Returns ``(upload ID, True)`` when found; ``(None, True)`` when a read made after the window ended still does
    not list it (proof that nothing was created); ``(None, False)`` when that could not be settled.
    """
    clock = run.clock
    until = clock.now() + window
    wait = Wait(run.reporter.info, "the submitted build to be listed in the project's builds", until, clock.now)
    looks = 0
    while True:
        looks += 1
        started = clock.now()
        try:
            project = run.client.get_project(run.settings.project_id)
        except (TransportError, ApiError) as exc:
            run.reporter.warning(f"Could not read the project yet: {exc}", "Retrying")
        except WaitTimeout:
            return None, False
        else:
            new = created(project, file_url, known_ids)
            if len(new) == 1:
                run.reporter.info(f"Found the build Streampixel created: {new[0].id}; carrying on with it.")
                return new[0].id, True
            if len(new) > 1:
                run.reporter.warning(
                    f"{len(new)} new builds carry this fileUrl ({', '.join(b.id for b in new)}): which one this run "
                    "created cannot be told.",
                    "Upload response lost",
                )
                return None, False
            if started >= until and looks >= MIN_LOOKS:
                return None, True
        if clock.remaining() <= 0 or clock.cancel.is_set():
            return None, False
        left = until - clock.now()
        clock.sleep_at_most(
            min(run.settings.poll_interval_seconds, left) if left > 0 else run.settings.poll_interval_seconds,
            "looking for the submitted build",
            announce=wait.begin() if looks == 1 else wait,
        )


def created(project: Project, file_url: str, known_ids: set[str]) -> list[Build]:
    """The builds of ``project`` that were not there before and carry ``file_url``: this run's candidates."""
    return [b for b in project.newest_first() if b.id not in known_ids and b.url and same_file(b.url, file_url)]


def same_file(listed: str, ours: str) -> bool:
    """Whether ``files[].url`` names our fileUrl: equal, or equal but for the query (a presigned URL's
    signature may be dropped when it is stored) and the percent-encoding of the path."""
    if listed == ours:
        return True
    a, b = urlsplit(listed.strip()), urlsplit(ours)
    return (a.scheme.lower(), (a.hostname or ""), a.port, unquote(a.path)) == (
        b.scheme.lower(),
        (b.hostname or ""),
        b.port,
        unquote(b.path),
    )


def last_look(run: Run, file_url: str, known_ids: set[str]) -> None:
    """Cancelled while upload-file was in flight: one quick look, so the outputs can name the build."""
    try:
        project = run.client.last_look(run.settings.project_id)
    except Exception:  # best effort: the run is already ending
        return
    new = created(project, file_url, known_ids)
    if len(new) == 1:
        run.result.upload_id, run.result.status = new[0].id, new[0].raw_status
        run.reporter.warning(
            f"Cancelled after Streampixel created build {new[0].id}; it will still be processed.", "Cancelled"
        )
