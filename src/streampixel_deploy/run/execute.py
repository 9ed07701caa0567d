"""Wiring: settings -> the run's clock, clients, hosting and GitHub deployments -> the project runs -> a Result.

:func:`open_run` opens all of it and closes it when the block ends; :meth:`OpenRun.execute` runs the command.
Every way a run can end (success, rejection, timeout, cancellation, input or API error) comes back as a
:class:`Result` with its outcome and exit code, so that reporters can always write outputs and a summary
(lifecycle.py owns the rest of a run's life: settings, publishing, signals).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext

import requests

from streampixel_deploy.api.client import StreampixelClient
from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.core.errors import (
    EXIT_FAILED,
    BuildRejected,
    Cancelled,
    InputError,
    StreampixelDeployError,
    WaitTimeout,
    ref,
)
from streampixel_deploy.core.http import Clock, Http, Policy, make_session
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.github.deployments import DeploymentTarget, GitHubDeployments
from streampixel_deploy.hosting import Host
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.deploy import deploy
from streampixel_deploy.run.distribute import distribute
from streampixel_deploy.run.fanout import ProjectReporter, run_many
from streampixel_deploy.run.status import status
from streampixel_deploy.run.webhook import test_webhook
from streampixel_deploy.settings.table import DEFAULT_ENVIRONMENT, Settings, is_loopback_url


def select_host(settings: Settings, session: requests.Session) -> Host | None:
    if settings.command != "deploy":
        return None
    if settings.file_url:
        from streampixel_deploy.hosting.url import UrlHost

        return UrlHost(settings.file_url, session)
    if settings.s3 is not None:
        from streampixel_deploy.hosting.s3 import S3Host

        host = S3Host(settings.s3)
        host.prepare()  # boto3's import beside the archive check and the project read
        return host
    if is_loopback_url(settings.api_url):
        from streampixel_deploy.hosting.inbox import EmulatorHost

        return EmulatorHost(settings.api_url, session)
    raise InputError(
        f"{ref('zip-path')} and {ref('build-dir')} need somewhere to host the zip "
        f"that Streampixel can download: set {ref('s3-bucket')} and the other s3-* settings, or give "
        f"{ref('file-url')} with a public URL of a zip you host.",
        "zip-path",
    )


def streampixel_policy(settings: Settings) -> Policy:
    """The request policy for Streampixel: each request within http-timeout-seconds in total."""
    return Policy(
        connect_timeout=min(10.0, settings.http_timeout_seconds), request_budget=settings.http_timeout_seconds
    )


def make_client(
    settings: Settings, environ: Mapping[str, str], clock: Clock | None = None, reporter: Reporter | None = None
) -> StreampixelClient:
    """The API client of a run: one session, the policy of the settings, the run's clock, the CA bundle."""
    session = make_session()
    if environ.get("SSL_CERT_FILE") and not (environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")):
        session.verify = environ["SSL_CERT_FILE"]  # requests only reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE itself
    on_retry = (lambda message: reporter.warning(message, "Retrying")) if reporter is not None else None
    on_wait = reporter.info if reporter is not None else None  # where a long wait says what it waits for
    http = Http(session, streampixel_policy(settings), clock or Clock(settings.timeout_seconds), on_retry, on_wait)
    return StreampixelClient(settings.api_url, settings.api_key, settings.user_id, http)


def deployment_target(settings: Settings, environ: Mapping[str, str]) -> DeploymentTarget | None:
    """A GitHub deployment target when github-token and environment are set and the runner says where."""
    if not settings.github_token or not settings.environment or settings.dry_run:
        return None
    repository, sha = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_SHA", "")
    if not repository or not sha:
        raise InputError(
            f"{ref('github-token')} and {ref('environment')} record a GitHub "
            "deployment, which needs GITHUB_REPOSITORY and GITHUB_SHA (set by every Actions runner).",
            "github-token",
        )
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    run_id = environ.get("GITHUB_RUN_ID")
    return DeploymentTarget(
        api_url=environ.get("GITHUB_API_URL", "https://api.github.com"),
        repository=repository,
        sha=sha,
        token=settings.github_token,
        environment=settings.environment,
        log_url=f"{server}/{repository}/actions/runs/{run_id}" if run_id else None,
    )


class OpenRun:
    """What one run opened: its clients' sessions, the project runs (one, or one per project, run/fanout.py) and
    their GitHub deployments. :func:`open_run` builds it with all of that; :meth:`execute` runs the command and
    :meth:`close` closes what was opened."""

    def __init__(
        self,
        runs: Sequence[Run],
        trackers: Sequence[GitHubDeployments | None],
        clock: Clock,
        debug: bool,
    ) -> None:
        self.runs, self.trackers, self.clock, self.debug = tuple(runs), tuple(trackers), clock, debug
        self.result: Result = self.runs[0].result  # the run's result as it stands (what a signal publishes)

    def execute(self) -> Result:
        """Run the command; never raises a StreampixelDeployError or KeyboardInterrupt (it ends up in the Result)."""
        if len(self.runs) > 1:
            self.result = run_many(self.runs, self._failed)
            return self.result
        run = self.runs[0]
        try:
            command = _COMMANDS[run.settings.command]
            self.result = command(run)
        except (Exception, KeyboardInterrupt) as exc:
            self.result = self._failed(run, exc)
        return self.result

    def _failed(self, run: Run, exc: BaseException) -> Result:
        """How a project's run ends on an error: its result so far, failed (a KeyboardInterrupt: cancelled)."""
        error = exc if isinstance(exc, StreampixelDeployError) else None
        if isinstance(exc, KeyboardInterrupt):
            error = Cancelled("Cancelled by the user.")
        return fail(run.record_duration(), error or unexpected(exc), self.debug)

    def close(self) -> None:
        """Remove the zips the runs packaged, then give each GitHub deployment its last status (in a hurry after a
        cancel; a signal during it ends the run cancelled)."""
        for run in self.runs:
            run.remove_packaged_zips()
        for run, tracker in zip(self.runs, self.trackers, strict=True):
            if tracker is None:
                continue
            try:
                tracker.finished(run.result, hurry=self.clock.cancel.is_set())
            except (Cancelled, KeyboardInterrupt):
                fail(self.result, Cancelled("Cancelled while updating the GitHub deployment."), self.debug)
                break


_COMMANDS: dict[str, Callable[[Run], Result]] = {
    "deploy": deploy,
    "distribute": distribute,
    "test-webhook": test_webhook,
    "status": status,
}


@contextmanager
def open_run(
    settings: Settings, reporter: Reporter, cancel: threading.Event, environ: Mapping[str, str], debug: bool = False
) -> Iterator[OpenRun]:
    """Open what ``settings`` need (the run's clock, a client per project, the hosting, GitHub deployments), and
    close all of it when the block ends, however it ends."""
    reporter.mask(settings.api_key)
    if settings.github_token:
        reporter.mask(settings.github_token)
    if not settings.github_token and settings.environment not in (None, DEFAULT_ENVIRONMENT):
        reporter.warning(
            "'github-token' and 'environment' work together: set both to record a GitHub deployment; "
            "with only one of them no deployment is recorded.",
            "GitHub deployment",
        )
    clock = Clock(settings.timeout_seconds, cancel, tell=reporter.info)  # timeout-minutes bounds the whole run
    client = make_client(settings, environ, clock, reporter)
    sessions = [client.session]
    try:
        host = select_host(settings, client.session)
        target = deployment_target(settings, environ)
        runs: list[Run] = []
        trackers: list[GitHubDeployments | None] = []
        several = len(settings.project_ids) > 1
        posts = threading.Lock() if several else None  # one rate-limited POST at a time (run/fanout.py)
        for project_id in settings.project_ids if several else (settings.project_id,):
            one, tagged, own = settings, reporter, client
            if several:  # a client and a tagged reporter each, and a deployment each in <environment>/<project-id>
                one = dataclasses.replace(settings, project_id=project_id, project_ids=(project_id,))
                tagged = ProjectReporter(reporter, project_id)
                own = make_client(one, environ, clock, tagged)
                sessions.append(own.session)
            where = target
            if target is not None and several:
                where = dataclasses.replace(target, environment=f"{target.environment}/{project_id}")
            tracker = GitHubDeployments(where, tagged, own.session, clock) if where is not None else None
            trackers.append(tracker)
            runs.append(
                Run(
                    one,
                    tagged,
                    own,
                    clock,
                    host=host,
                    on_submitted=tracker.submitted if tracker else None,
                    live_history=functools.partial(tracker.previous_live, project_id) if tracker else None,
                    post_lock=posts if posts is not None else nullcontext(),
                )
            )
        opened = OpenRun(runs, trackers, clock, debug)
        try:
            yield opened
        finally:
            opened.close()
    finally:
        for session in sessions:
            session.close()


def unexpected(exc: BaseException) -> StreampixelDeployError:
    """An error we did not foresee, as one of ours (its text scrubbed by ``fail``)."""
    return StreampixelDeployError(
        f"Unexpected error ({type(exc).__name__}: {exc}). For a traceback, re-run the job with debug "
        "logging enabled (or the CLI with --debug), and report it at the project's issue tracker."
    )


def fail(result: Result, exc: StreampixelDeployError, debug: bool = False) -> Result:
    result.exit_code = exc.exit_code
    result.error_title = exc.title
    result.message = scrub(exc.message)  # plain words: the class name is for --debug (the traceback) only
    if isinstance(exc, BuildRejected):
        result.outcome = Outcome.REJECTED
        result.objection = exc.objection
    elif isinstance(exc, WaitTimeout):
        result.outcome = Outcome.TIMED_OUT
    elif isinstance(exc, Cancelled):
        result.outcome = Outcome.CANCELLED
    else:
        result.outcome = Outcome.FAILED
    if debug:
        result.traceback = scrub(traceback.format_exc())
    if result.exit_code == 0:
        result.exit_code = EXIT_FAILED
    return result
