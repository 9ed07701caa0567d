"""The idempotent submit: upload-file at most once per build, even when an answer is lost.

upload-file is not safe to repeat: a request whose answer was lost may have created the build (and used
the user's 2-minute slot). So after a lost answer we look in ``files[]`` for a new build with our fileUrl
before sending again, for longer when the request may still be running on the server (a read timeout, a
gateway 5xx). After a resend is refused with 429, the slot may have been used by our own earlier request:
we look again after each wait.
"""

from __future__ import annotations

from streampixel_deploy.core.errors import ApiError, Cancelled, RateLimited, StreampixelDeployError, TransportError
from streampixel_deploy.core.http import STREAMPIXEL_WINDOW
from streampixel_deploy.run.context import Run, transient

MAX_SUBMIT_ATTEMPTS = 3
#: At least this many looks at files[] before deciding a lost request created nothing.
MIN_LOOKS = 3


def submit(run: Run, file_url: str, known_ids: set[str]) -> str:
    """upload-file; returns the upload ID of the build Streampixel created (never two builds)."""
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
        run.reporter.warning(
            f"The answer to upload-file was lost ({lost}); checking whether Streampixel created the build.",
            "Upload response lost",
        )
        # A timed-out request may still be running on the server: look for longer before resending.
        in_flight = (isinstance(lost, TransportError) and lost.in_flight) or (
            isinstance(lost, ApiError) and lost.status in (502, 503, 504)  # a gateway gave up, not the origin
        )
        window = 2 * run.settings.http_timeout_seconds + 5 if in_flight else 0.0
        found = find_created(run, file_url, known_ids, window)
        if found is not None:
            return found
        if attempt == MAX_SUBMIT_ATTEMPTS:
            raise lost
        run.reporter.info(f"No build was created; submitting again (attempt {attempt + 1}).")
    raise AssertionError("unreachable")


def _send(run: Run, file_url: str, known_ids: set[str], recheck: bool) -> str:
    """upload-file, waiting out 429s until the deadline; after a lost answer (``recheck``) each wait is
    followed by a look in files[], since the slot may have been used by our own earlier request."""
    with run.post_lock:  # with several projects: one upload at a time, the waits included
        return _send_waiting(run, file_url, known_ids, recheck)


def _send_waiting(run: Run, file_url: str, known_ids: set[str], recheck: bool) -> str:
    s = run.settings
    while True:
        try:
            return run.client.upload_file(s.project_id, file_url, s.auto_release, retry=False).upload_id
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
            )
        if recheck and (found := find_created(run, file_url, known_ids, 0.0)) is not None:
            return found


def find_created(run: Run, file_url: str, known_ids: set[str], window: float) -> str | None:
    """A build with this fileUrl that was not there before: at least MIN_LOOKS looks, for ``window`` s."""
    clock = run.clock
    until = clock.now() + window
    looks = 0
    while looks < MIN_LOOKS or clock.now() < until:
        looks += 1
        try:
            project = run.client.get_project(run.settings.project_id)
        except (TransportError, ApiError) as exc:
            run.reporter.warning(f"Could not read the project yet: {exc}", "Retrying")
        else:
            new = [b for b in project.newest_first() if b.id not in known_ids and b.url == file_url]
            if new:
                run.reporter.info(f"Found the build Streampixel created: {new[0].id}; carrying on with it.")
                return new[0].id
        if clock.remaining() <= 0:
            break
        clock.sleep_at_most(run.settings.poll_interval_seconds, "looking for the submitted build")
    return None


def last_look(run: Run, file_url: str, known_ids: set[str]) -> None:
    """Cancelled while upload-file was in flight: one quick look, so the outputs can name the build."""
    try:
        project = run.client.last_look(run.settings.project_id)
    except Exception:  # best effort: the run is already ending
        return
    new = [b for b in project.newest_first() if b.id not in known_ids and b.url == file_url]
    if new:
        run.result.upload_id, run.result.status = new[0].id, new[0].raw_status
        run.reporter.warning(
            f"Cancelled after Streampixel created build {new[0].id}; it will still be processed.", "Cancelled"
        )
