"""deploy / distribute / status: validate -> host -> submit -> follow -> Result.

The runner keeps :attr:`Runner.result` current at every step, so that whatever stops a run (a rejection,
the timeout, a cancellation, an API error) the faces can still report what is known: upload ID, file URL,
timeline.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from streampixel_deploy.build.archive import folder_executables, verify
from streampixel_deploy.core.client import StreampixelClient, UploadAccepted
from streampixel_deploy.core.errors import (
    ApiError,
    ArchiveError,
    BadResponse,
    BuildRejected,
    Cancelled,
    InputError,
    RateLimited,
    StreampixelDeployError,
    TransportError,
    WaitTimeout,
)
from streampixel_deploy.core.models import Build, BuildStatus, Outcome, Project, Result, StageEvent
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPEC_BY_NAME, Settings
from streampixel_deploy.hosting import Host

#: Production's documented window for upload-file / distribute-file (one request per user per window).
RATE_LIMIT_WINDOW = 120.0
#: How long a freshly submitted build may be missing from files[] before we give up on it.
LISTING_GRACE = 120.0
#: After distribute-file, how long an unchanged "Approved" is accepted as "already distributed".
DISTRIBUTE_SETTLE_POLLS = 3
DISTRIBUTE_SETTLE_SECONDS = 60.0
MAX_SUBMIT_ATTEMPTS = 3

_T = TypeVar("_T")


class Runner:
    def __init__(
        self,
        settings: Settings,
        reporter: Reporter,
        client: StreampixelClient,
        host: Host | None = None,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_submitted: Callable[[Result], None] | None = None,
    ) -> None:
        self.s = settings
        self.reporter = reporter
        self.client = client
        self.host = host
        self.cancel = cancel or threading.Event()
        self.clock = clock
        self.on_submitted = on_submitted
        self._temp_dirs: list[Path] = []
        self.started = clock()
        self.result = Result(command=settings.command, project_id=settings.project_id)
        self.result.auto_release = settings.auto_release if settings.command == "deploy" else None

    # -- commands ------------------------------------------------------------------------------

    def deploy(self) -> Result:
        s, r = self.s, self.result
        with self.reporter.group("validate"):
            zip_path = s.zip_path
            if zip_path is not None:  # instant (central directory only): before any request
                self._verify(zip_path)
            project = self._read_project("check credentials and project")
            known_ids = {b.id for b in project.files}
            self._note_previous(project)
            if s.build_dir is not None:
                self._check_folder(s.build_dir)  # seconds, before the minutes of packaging
                if not s.dry_run:  # minutes for a big build: only once the credentials are known good
                    zip_path = self._package(s.build_dir)
                    self._verify(zip_path, SPEC_BY_NAME["build-dir"].label())
            if self.host is None:
                raise InputError("No hosting is configured for zip-path.", "zip-path")
            if s.dry_run:
                self.host.check(self.reporter)
                return self._dry_run_deploy(project)

        with self.reporter.group("host"):
            self._check_cancel()
            hosted = self.host.host(zip_path, s.project_id, self.reporter, sha256=self.result.sha256)
            r.file_url, r.file_url_signed = hosted.display_url, hosted.signed
            r.sha256 = hosted.sha256 or r.sha256
            r.size_bytes = hosted.size_bytes if hosted.size_bytes is not None else r.size_bytes
            self.reporter.info(f"Build hosted at {hosted.display_url}")

        deadline = self.clock() + s.timeout_seconds
        with self.reporter.group("submit"):
            upload_id = self._submit(hosted.url, known_ids, deadline)
            r.upload_id = upload_id
            r.status = BuildStatus.PENDING.value
            self.reporter.info(
                f"Streampixel accepted the build: upload ID {upload_id} (autoRelease={str(s.auto_release).lower()})."
            )
            if self.on_submitted is not None:
                self.on_submitted(r)
        if not s.wait:
            r.outcome = Outcome.SUBMITTED
            r.message = f"Build {upload_id} submitted; not waiting for processing (wait: false)."
            return self._finish()

        with self.reporter.group("follow"):
            build = self._follow(upload_id, deadline)
        r.live = s.auto_release
        r.outcome = Outcome.APPROVED
        r.message = (
            f"Build {build.id} approved and live."
            if s.auto_release
            else f"Build {build.id} approved but not live (auto-release: false); "
            f"make it live with: streampixel-deploy distribute --upload-id {build.id}"
        )
        return self._finish()

    def distribute(self) -> Result:
        s, r = self.s, self.result
        with self.reporter.group("validate"):
            project = self._read_project("read the project's builds")
            target, why = resolve_upload_id(project, s.upload_id or "latest")
            self._note_previous(project, exclude=target.id)
            r.upload_id, r.status = target.id, target.raw_status
            r.file_url = redact_url(target.url) if target.url else None
            self.reporter.info(f"Chose build {target.id}: {why}.")
            if s.dry_run:
                r.outcome = Outcome.DRY_RUN
                r.message = f"Dry run: would distribute build {target.id} ({why}); nothing was sent."
                return self._finish()

        deadline = self.clock() + s.timeout_seconds
        if target.status is not BuildStatus.APPROVED:
            if not s.wait:
                raise InputError(
                    f"Build {target.id} is still processing ({target.raw_status}); it can be distributed "
                    "once Approved. Run again with wait: true to wait for it first.",
                    "upload-id",
                )
            with self.reporter.group("follow"):
                self.reporter.info(f"Build {target.id} is still processing; waiting for approval first.")
                self._follow(target.id, deadline)

        with self.reporter.group("distribute"):
            accepted = self._with_rate_limit(
                lambda: self.client.distribute_file(s.project_id, target.id),
                "distribute-file",
                deadline,
            )
            region = f" (region {accepted.region})" if accepted.region else ""
            self.reporter.info(f"Streampixel: {accepted.message or 'distribution triggered'}{region}.")
            if self.on_submitted is not None:
                self.on_submitted(r)
        if not s.wait:
            r.outcome = Outcome.SUBMITTED
            r.message = f"Distribution of build {target.id} triggered; not waiting (wait: false)."
            return self._finish()
        with self.reporter.group("follow"):
            self._follow(target.id, deadline, after_distribute=True)
        r.live = True
        r.outcome = Outcome.APPROVED
        r.message = f"Build {target.id} distributed and live."
        return self._finish()

    def status(self) -> tuple[Result, Project]:
        r = self.result
        project = self._read_project("read the project's builds")
        self._note_previous(project)
        if self.s.upload_id:
            build, why = resolve_upload_id(project, self.s.upload_id, approved_only=False)
            r.upload_id, r.status, r.objection = build.id, build.raw_status, build.objection
            r.file_url = redact_url(build.url) if build.url else None
            r.message = f"Build {build.id} ({why}): {build.raw_status}"
            r.outcome = {
                BuildStatus.APPROVED: Outcome.APPROVED,
                BuildStatus.REJECT: Outcome.REJECTED,
            }.get(build.status or BuildStatus.PENDING, Outcome.SUBMITTED)
        else:
            r.outcome = Outcome.OK
            r.message = f"{len(project.files)} builds in project {project.name or project.id}."
            r.extra["builds"] = [
                {
                    "uploadId": b.id,
                    "status": b.raw_status,
                    "date": b.date.isoformat() if b.date else None,
                    "objection": b.objection,
                    "fileUrl": redact_url(b.url) if b.url else None,
                }
                for b in project.newest_first()
            ]
        return self._finish(), project

    def test_webhook(self) -> Result:
        """Ask Streampixel to call the project's webhook URL; fail when the receiver did not answer 2xx."""
        r = self.result
        if self.s.dry_run:
            self._read_project("check credentials and project")
            r.outcome = Outcome.DRY_RUN
            r.message = "Dry run: would ask Streampixel to send a test webhook; nothing was sent."
            return self._finish()
        with self.reporter.group("test-webhook"):
            outcome = self.client.test_webhook(self.s.project_id)
        answered = f"the receiver answered HTTP {outcome.status_code}" if outcome.status_code else "no connection"
        r.extra["webhook"] = {"success": outcome.success, "statusCode": outcome.status_code}
        if not outcome.success:
            raise ApiError(
                f"The test webhook was not delivered ({answered}). Check that the project's webhook URL is "
                f"public and answers 2xx within 10 s. Streampixel said: {outcome.message or '(no message)'}",
                200,
                outcome.message,
            )
        r.outcome = Outcome.OK
        r.message = f"Test webhook delivered: {answered}. Streampixel said: {outcome.message}"
        return self._finish()

    # -- steps -----------------------------------------------------------------------------------

    def _check_folder(self, build_dir: Path) -> None:
        exes = folder_executables(build_dir)
        if not exes and self.s.verify_archive != "off":
            raise ArchiveError(
                f"{SPEC_BY_NAME['build-dir'].label()} {str(build_dir)!r} has no Windows .exe at its root or inside "
                "one top-level folder; give the folder 'Package Project -> Windows' produced (it holds MyGame.exe).",
                "build-dir",
            )
        self.reporter.info(f"Build folder {build_dir}: executable {exes[0] if exes else '(not checked)'}.")

    def close(self) -> None:
        """Remove the zips this run packaged (unless the emulator must still download one)."""
        keep = self.host is not None and self.host.name == "emulator" and not self.s.wait
        for folder in self._temp_dirs:
            if keep:
                self.reporter.info(f"Keeping {folder}: the emulator downloads the build from it.")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        self._temp_dirs.clear()

    def _package(self, build_dir: Path) -> Path:
        from streampixel_deploy.build.packaging import package_dir

        out_dir = Path(tempfile.mkdtemp(prefix="streampixel-build-"))
        self._temp_dirs.append(out_dir)
        zip_path = out_dir / f"{build_dir.resolve().name or 'build'}.zip"
        packed = package_dir(build_dir, zip_path, self.reporter)
        self.result.sha256 = packed.sha256
        self.result.size_bytes = packed.size_bytes
        self.reporter.info(
            f"Packaged {build_dir} into {zip_path.name}: {packed.size_bytes:,} bytes, sha256 {packed.sha256}."
        )
        return zip_path

    def _verify(self, zip_path: Path, setting: str = "'zip-path' (--zip-path)") -> None:
        report = verify(zip_path, self.s.verify_archive, setting)
        self.result.size_bytes = zip_path.stat().st_size
        if report is None:
            self.reporter.info("Archive check skipped (verify-archive: off).")
            return
        self.reporter.info(
            f"Archive {zip_path.name} ({self.s.verify_archive} check): {report.entries} files, "
            f"{report.size_bytes:,} bytes, executable {report.executables[0]}."
        )
        for warning in report.warnings:
            self.reporter.warning(warning, "Large archive")

    def _dry_run_deploy(self, project: Project) -> Result:
        s, r = self.s, self.result
        source = f"file-url {s.file_url}" if s.file_url else f"zip {s.zip_path or s.build_dir}"
        r.outcome = Outcome.DRY_RUN
        r.message = (
            f"Dry run: would host {source} via {self.host.name if self.host else 'nothing'} and submit it to project "
            f"{project.name or project.id} with autoRelease={str(s.auto_release).lower()}"
            f"{', then wait for approval' if s.wait else ''}. Nothing was uploaded or submitted."
        )
        return self._finish()

    def _read_project(self, action: str) -> Project:
        """The first read of the project; transient failures are retried for up to two minutes."""
        deadline = self.clock() + min(self.s.timeout_seconds, 120.0)
        interval = self.s.poll_interval_seconds
        while True:
            self._check_cancel()
            try:
                project = self.client.get_project(self.s.project_id)
                break
            except (TransportError, BadResponse, ApiError) as exc:
                if not _transient(exc) or self.clock() + interval > deadline:
                    raise
                self.reporter.warning(f"Could not {action} yet, will retry: {exc}", "Retrying")
                self._sleep(interval)
                interval = min(interval * 2, 30.0)
        self.reporter.info(
            f"Project {project.name or project.id} ({project.region or 'region unknown'}): {len(project.files)} builds."
        )
        return project

    def _note_previous(self, project: Project, exclude: str | None = None) -> None:
        """The rollback target: the newest approved build other than the one this run makes live."""
        approved = [b for b in project.approved_newest_first() if b.id != exclude]
        self.result.previous_upload_id = approved[0].id if approved else None

    def _submit(self, file_url: str, known_ids: set[str], deadline: float) -> str:
        s = self.s
        for attempt in range(1, MAX_SUBMIT_ATTEMPTS + 1):
            try:
                accepted = self._with_rate_limit(
                    lambda: self.client.upload_file(s.project_id, file_url, s.auto_release),
                    "upload-file",
                    deadline,
                    # after a lost answer, the slot may be used by our own earlier request: look first
                    recheck=(lambda: self._found(file_url, known_ids, deadline)) if attempt > 1 else None,
                )
                return accepted.upload_id
            except (TransportError, ApiError) as exc:
                if not _transient(exc):
                    raise
                lost: StreampixelDeployError = exc
            except (Cancelled, KeyboardInterrupt):
                self._last_look(file_url, known_ids)
                raise
            # The request may have reached Streampixel and created the build: look before resending.
            self.reporter.warning(
                f"The answer to upload-file was lost ({lost}); checking whether Streampixel created the build.",
                "Upload response lost",
            )
            # A timed-out request may still be running on the server: look for longer before resending.
            in_flight = (isinstance(lost, TransportError) and lost.in_flight) or (
                isinstance(lost, ApiError) and lost.status in (502, 503, 504)  # a gateway gave up, not the origin
            )
            window = 2 * self.s.http_timeout_seconds + 5 if in_flight else 0.0
            found = self._found(file_url, known_ids, deadline, window)
            if found is not None:
                return found.upload_id
            if attempt == MAX_SUBMIT_ATTEMPTS:
                raise lost
            self.reporter.info(f"No build was created; submitting again (attempt {attempt + 1}).")
        raise AssertionError("unreachable")

    def _last_look(self, file_url: str, known_ids: set[str]) -> None:
        """Cancelled while upload-file was in flight: one quick look, so the outputs can name the build."""
        try:
            project = self.client.get_project_once(self.s.project_id, timeout=1.5)
        except Exception:
            return
        new = [b for b in project.newest_first() if b.id not in known_ids and b.url == file_url]
        if new:
            self.result.upload_id, self.result.status = new[0].id, new[0].raw_status
            self.reporter.warning(
                f"Cancelled after Streampixel created build {new[0].id}; it will still be processed.", "Cancelled"
            )

    def _found(self, file_url: str, known_ids: set[str], deadline: float, window: float = 0.0) -> UploadAccepted | None:
        found = self._find_created(file_url, known_ids, deadline, window)
        if found is None:
            return None
        self.reporter.info(f"Found the build Streampixel created: {found}; carrying on with it.")
        return UploadAccepted(found, "found in files[]", 0)

    def _find_created(self, file_url: str, known_ids: set[str], deadline: float, window: float) -> str | None:
        """Look for a build with this fileUrl that was not there before: at least 3 looks, for ``window`` s."""
        until = self.clock() + window
        looks = 0
        while looks < 3 or self.clock() < min(until, deadline):
            looks += 1
            try:
                project = self.client.get_project(self.s.project_id)
            except (TransportError, ApiError) as exc:
                self.reporter.warning(f"Could not read the project yet: {exc}", "Retrying")
            else:
                new = [b for b in project.newest_first() if b.id not in known_ids and b.url == file_url]
                if new:
                    return new[0].id
            if self.clock() >= deadline:
                break
            self._sleep(min(self.s.poll_interval_seconds, max(0.0, deadline - self.clock())))
        return None

    def _with_rate_limit(
        self,
        call: Callable[[], _T],
        endpoint: str,
        deadline: float,
        recheck: Callable[[], _T | None] | None = None,
    ) -> _T:
        """``call()``, waiting out 429s; ``recheck()`` (if given) runs after each wait and may make the call moot."""
        while True:
            self._check_cancel()
            try:
                return call()
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else RATE_LIMIT_WINDOW
                remaining = deadline - self.clock()
                if wait > remaining:
                    raise WaitTimeout(
                        f"Streampixel rate-limited {endpoint} (one request per user every 2 minutes) and "
                        f"waiting {wait:.0f}s more would pass timeout-minutes. Another upload or distribute "
                        f"by the same user is probably running; retry later. Streampixel said: "
                        f"{exc.server_message or '(no message)'}"
                    ) from None
                self.reporter.warning(
                    f"Streampixel rate-limited {endpoint} ({exc.server_message or 'HTTP 429'}); "
                    f"waiting {wait:.0f}s before retrying (the limit is per user).",
                    "Rate limited",
                )
                self._sleep(wait)
                if recheck is not None and (done := recheck()) is not None:
                    return done

    def _follow(self, upload_id: str, deadline: float, after_distribute: bool = False) -> Build:
        """Poll Get Project until the build is Approved or Reject, or the deadline passes."""
        s, r = self.s, self.result
        interval = s.poll_interval_seconds
        max_interval = max(interval, min(60.0, interval * 4))
        missing_since: float | None = None
        best_rank = -1
        last_raw: str | None = None
        seen_moving = False
        settle = 0
        stale_since: float | None = None
        while True:
            self._check_cancel()
            changed = False
            project: Project | None = None
            try:
                project = self.client.get_project(s.project_id)
            except (TransportError, ApiError) as exc:
                if not _transient(exc):
                    raise
                self.reporter.warning(f"Polling failed, will retry: {exc}", "Polling")
            build = project.find(upload_id) if project is not None else None
            if project is not None and build is None:
                now = self.clock()
                missing_since = missing_since if missing_since is not None else now
                if now - missing_since > min(LISTING_GRACE, s.timeout_seconds):
                    raise ApiError(
                        f"Build {upload_id} does not appear in project {s.project_id}'s builds after "
                        f"{LISTING_GRACE:.0f}s. Check the dashboard; it may have been deleted."
                    )
            elif build is not None:
                missing_since = None
                status = build.status
                if build.raw_status != last_raw:
                    changed = True
                    last_raw = build.raw_status
                    r.status = build.raw_status
                    rank = status.rank if status is not None else None
                    stale = after_distribute and status is BuildStatus.APPROVED and not seen_moving
                    if status is None:
                        self._stage(build.raw_status, "unknown status; still waiting")
                    elif stale:
                        pass  # the Approved from before distribute-file: not progress, and no rank to beat
                    elif rank is not None and (rank > best_rank or status.terminal):
                        best_rank = rank
                        self._stage(build.raw_status)
                    else:
                        self.reporter.debug(f"Ignoring out-of-order status {build.raw_status!r}.")
                if status is not None and not status.terminal:
                    seen_moving = True
                if status is BuildStatus.REJECT:
                    r.objection = build.objection
                    raise BuildRejected(
                        f"Streampixel rejected build {upload_id}: {build.objection or 'no objection given'}",
                        build.objection,
                    )
                if status is BuildStatus.APPROVED:
                    if not after_distribute or seen_moving:
                        return build
                    # Still the old Approved: distribution may have been too quick to see. Accept it after a while.
                    settle += 1
                    stale_since = stale_since if stale_since is not None else self.clock()
                    waited = self.clock() - stale_since
                    if settle >= DISTRIBUTE_SETTLE_POLLS and waited >= min(
                        DISTRIBUTE_SETTLE_SECONDS, s.timeout_seconds
                    ):
                        self._stage(build.raw_status, f"no Distribute stage observed in {waited:.0f}s")
                        return build
            now = self.clock()
            if now >= deadline:
                raise WaitTimeout(
                    f"Build {upload_id} was still '{r.status or 'not listed'}' after "
                    f"{s.timeout_minutes:g} minutes (timeout-minutes). It may still finish: check with "
                    f"'streampixel-deploy status --upload-id {upload_id}' or raise timeout-minutes."
                )
            interval = s.poll_interval_seconds if changed else min(max_interval, interval * 1.25)
            self._sleep(min(interval, deadline - now))

    # -- helpers ---------------------------------------------------------------------------------

    def _stage(self, raw: str, detail: str | None = None) -> None:
        elapsed = self.clock() - self.started
        self.result.timeline.append(StageEvent(raw, elapsed))
        self.reporter.stage(raw, elapsed, detail)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.cancel.wait(seconds):
            raise Cancelled("Cancelled while waiting.")
        self._check_cancel()

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("Cancelled.")

    def _finish(self) -> Result:
        self.result.duration_seconds = self.clock() - self.started
        return self.result


def _transient(exc: StreampixelDeployError) -> bool:
    """Worth retrying: no usable answer, an unparseable one, or a 5xx."""
    if isinstance(exc, TransportError):
        return exc.transient
    if isinstance(exc, (BadResponse, RateLimited)):
        return True  # RateLimited here is a GET throttled at the edge: back off and poll again
    return isinstance(exc, ApiError) and exc.status is not None and exc.status >= 500


def resolve_upload_id(project: Project, wanted: str, approved_only: bool = True) -> tuple[Build, str]:
    """Turn ``latest`` / ``previous`` / an ID into a build of the project, with the reason it was chosen."""
    approved = project.approved_newest_first()
    if wanted in ("latest", "previous"):
        index = 0 if wanted == "latest" else 1
        if len(approved) <= index:
            raise InputError(
                f"'upload-id' (--upload-id) is {wanted!r} but project {project.id} has "
                f"{len(approved)} approved build(s); "
                + (
                    "there is nothing to roll back to. Give an explicit upload ID."
                    if wanted == "previous"
                    else "deploy a build first."
                ),
                "upload-id",
            )
        build = approved[index]
        when = build.date.isoformat() if build.date else "date unknown"
        why = (
            f"newest Approved build ({when})"
            if wanted == "latest"
            else f"the Approved build before the newest one {approved[0].id} ({when})"
        )
        return build, why
    found = project.find(wanted)
    if found is None:
        recent = ", ".join(b.id for b in approved[:5]) or "none"
        raise InputError(
            f"'upload-id' (--upload-id) {wanted} is not a build of project {project.id}. "
            f"Recent approved builds: {recent}.",
            "upload-id",
        )
    build = found
    if approved_only and build.status is BuildStatus.REJECT:
        raise InputError(
            f"'upload-id' (--upload-id) {wanted} was rejected by Streampixel "
            f"({build.objection or 'no objection given'}); only approved builds can be distributed.",
            "upload-id",
        )
    return build, "the upload ID you gave"
