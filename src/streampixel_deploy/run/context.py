"""What every command of a run shares: the settings, the reporter, the client, the clock and the result.

The :class:`Run` keeps :attr:`Run.result` current at every step, so that whatever stops a run (a rejection,
the deadline, a cancellation, an API error) the faces can still report what is known: upload ID, file URL,
timeline.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from streampixel_deploy.api.client import StreampixelClient, endpoint_missing
from streampixel_deploy.api.models import Build, Outcome, Project, Result, StageEvent, live_label
from streampixel_deploy.core.errors import (
    ApiError,
    BadResponse,
    NotFound,
    RateLimited,
    StreampixelDeployError,
    TransportError,
    ref,
)
from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.github.history import PERMISSION_FIX, LiveAnswer
from streampixel_deploy.hosting import Host
from streampixel_deploy.run.targets import order_doubt
from streampixel_deploy.settings.table import Settings

#: The first read of the project retries transient failures for at most this long (or the time left).
FIRST_READ_PATIENCE = 120.0
#: why a rehearsal's rollback target is the newest approved build by date (its emulator has no GitHub history)
REHEARSAL_HISTORY = "a rehearsal reads no GitHub deployment history; the emulator's build dates chose it"


@dataclass
class Run:
    """One project's run. Built with everything it is wired to (nothing is set on it afterwards); what changes is
    the run's own state: :attr:`result`, the folders it packaged into, what following it learned."""

    settings: Settings
    reporter: Reporter
    client: StreampixelClient
    clock: Clock
    _: KW_ONLY
    host: Host | None = None
    #: called once Streampixel has accepted a build or a distribution (GitHub Deployments hook in here)
    on_submitted: Callable[[Result], None] | None = None
    #: the build that was live before, other than the given one, from GitHub's deployment history (when recorded)
    live_history: Callable[[str | None], LiveAnswer] | None = None
    #: held around the rate-limited POSTs (upload-file, distribute-file): one project at a time (run/fanout.py)
    post_lock: AbstractContextManager[object] = field(default_factory=nullcontext)
    result: Result = field(init=False)
    temp_dirs: list[Path] = field(default_factory=list, init=False)
    #: after following with autoRelease: whether the build was seen distributed (None: not known)
    distributed: bool | None = field(default=None, init=False)
    #: False on a server without the read endpoints: builds are submitted but not followed
    can_follow: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.result = Result(command=s.command, project_id=s.project_id)
        self.result.auto_release = s.auto_release if s.command == "deploy" else None

    def stage(self, raw: str, detail: str | None = None) -> None:
        elapsed = self.clock.elapsed()
        self.result.timeline.append(StageEvent(raw, elapsed))
        self.reporter.stage(raw, elapsed, detail)

    def record_duration(self) -> Result:
        """The result as it stands, with the run's duration so far: call it however the run ended."""
        self.result.duration_seconds = self.clock.elapsed()
        return self.result

    def end_with(self, outcome: Outcome, message: str) -> Result:
        """The run reached its outcome: record it, with the duration."""
        self.result.outcome, self.result.message = outcome, message
        return self.record_duration()

    def approved(self, build: Build, live: str, unknown: str) -> Result:
        """Approved: live when the dashboard's words say so or the distribution was seen; the message to match."""
        label = live_label(build.raw_status)  # Current Live Build / Archived say it outright
        self.result.live = self.distributed if label is None else label
        return self.end_with(Outcome.APPROVED, live if self.result.live else unknown)

    def record_submission(self) -> None:
        """Streampixel accepted the build or the distribution: tell the hook (GitHub Deployments)."""
        if self.on_submitted is not None:
            self.on_submitted(self.result)

    def remove_packaged_zips(self) -> None:
        """Remove the zips this run packaged. Nothing downloads from them later: S3 holds its own copy, and the
        emulator serves its own link or copy from its inbox."""
        for folder in self.temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self.temp_dirs.clear()

    def read_project_if_possible(self, action: str) -> Project | None:
        """:meth:`read_project`, or None (with a warning) on a server without Get Project (the older docs)."""
        try:
            return self.read_project(action)
        except NotFound as exc:
            if not endpoint_missing(exc):
                raise
        self.reporter.warning(
            "This Streampixel API has no Get Project endpoint (only the older docs' upload-file and "
            "distribute-file): the credentials are checked by the request itself, and the build cannot be followed.",
            "Cannot follow builds",
        )
        self.can_follow = False
        return None

    def read_project(self, action: str) -> Project:
        """The first read of the project: transient failures are retried for a while (two minutes at most)."""
        patience_ends = self.clock.now() + min(FIRST_READ_PATIENCE, self.clock.remaining())
        interval = self.settings.poll_interval_seconds
        while True:
            self.clock.check(action)
            try:
                project = self.client.get_project(self.settings.project_id)
                break
            except (TransportError, BadResponse, ApiError) as exc:
                if not transient(exc) or self.clock.now() + interval > patience_ends:
                    raise
                if not self.clock.has_time_for(interval):
                    if isinstance(exc, TransportError) and exc.in_flight:
                        raise self.clock.timeout(action, f"The last attempt: {exc}") from None
                    raise
                self.reporter.warning(f"Could not {action} yet, will retry: {exc}", "Retrying")
                self.clock.sleep(interval, action, announce=self.reporter.info)
                interval = min(interval * 2, 30.0)
        self.result.project_name = project.name or None
        self.reporter.info(
            f"Project {project.name or project.id} ({project.region or 'region unknown'}): {len(project.files)} builds."
        )
        return project

    def note_previous(self, project: Project, exclude: str | None = None) -> None:
        """The rollback target: the build that was live before, from GitHub's deployment history when the run
        records deployments; else the newest approved build other than ``exclude``, only when the dates prove it
        is the newest (otherwise none, and :attr:`Result.previous_unknown` says why)."""
        r = self.result
        answer = self.live_history(exclude) if self.live_history is not None else None
        if answer is not None and answer.build is not None and project.find(answer.build) is not None:
            r.previous_upload_id, r.previous_was_live, r.previous_unknown = answer.build, True, None
            r.previous_note = None
            return
        approved = [b for b in project.approved_newest_first() if b.id != exclude]
        doubt = order_doubt(approved)
        r.previous_was_live = False
        r.previous_upload_id = approved[0].id if approved and doubt is None else None
        r.previous_unknown = None
        r.previous_note = self._by_date(answer) if r.previous_upload_id else None
        if r.previous_note and (answer is None or answer.problem is None):  # else the GitHub warning says it
            self.reporter.info(f"previous-upload-id {r.previous_upload_id} is a guess by date: {r.previous_note}.")
        if doubt is not None:
            r.previous_unknown = (
                f"the dates do not show which approved build is the newest ({doubt}), and Streampixel does not "
                "say which build was live"
            )
            self.reporter.warning(f"No previous build is named: {r.previous_unknown}.", "Previous build unknown")

    def _by_date(self, answer: LiveAnswer | None) -> str:
        """Why the rollback target is the newest approved build by date and not the build live before, and the fix."""
        token = ref("github-token")
        if self.settings.rehearsal:
            return REHEARSAL_HISTORY
        if answer is None and self.settings.dry_run:
            return "a dry run reads no GitHub deployment history"
        if answer is None and not self.settings.github_token:
            return (
                f"no GitHub token, so the deployment history was not read; give {token} (in a workflow the action "
                "passes the workflow token by default, and the job needs 'deployments: write' under 'permissions:')"
            )
        if answer is None:
            return "the GitHub deployment history was not read"
        if answer.denied:
            return f"GitHub refused to show the deployment history ({answer.problem}); {PERMISSION_FIX}"
        if answer.problem is not None:
            return f"the GitHub deployment history gave no answer ({answer.problem})"
        return "no deployment of this project in the GitHub environment has succeeded yet, so its history names none"


def transient(exc: StreampixelDeployError) -> bool:
    """Worth retrying: no usable answer, an unparseable one, a 5xx, or a GET throttled at the edge."""
    if isinstance(exc, TransportError):
        return exc.transient
    if isinstance(exc, (BadResponse, RateLimited)):
        return True
    return isinstance(exc, ApiError) and exc.status is not None and exc.status >= 500
