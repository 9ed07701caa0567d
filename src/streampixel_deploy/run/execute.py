"""Wiring shared by the CLI and the action faces: settings -> clock + client + hosting -> a command -> Result.

Every way a run can end (success, rejection, timeout, cancellation, input or API error) comes back as a
:class:`Result` with its outcome and exit code, so that reporters can always write outputs and a summary.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import traceback
from collections.abc import Callable, Mapping

import requests

from streampixel_deploy.core.client import StreampixelClient
from streampixel_deploy.core.errors import (
    EXIT_FAILED,
    BuildRejected,
    Cancelled,
    InputError,
    StreampixelDeployError,
    WaitTimeout,
)
from streampixel_deploy.core.http import Clock, Http, Policy, make_session
from streampixel_deploy.core.models import Outcome, Result
from streampixel_deploy.core.redact import scrub
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPEC_BY_NAME, Settings, is_loopback_url
from streampixel_deploy.github.deployments import DeploymentTarget, GitHubDeployments
from streampixel_deploy.hosting import Host
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.deploy import deploy
from streampixel_deploy.run.distribute import distribute
from streampixel_deploy.run.fanout import ProjectReporter, run_many
from streampixel_deploy.run.status import status
from streampixel_deploy.run.webhook import test_webhook


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
        from streampixel_deploy.hosting.emulator import EmulatorHost

        return EmulatorHost(settings.api_url, session)
    raise InputError(
        f"{SPEC_BY_NAME['zip-path'].label()} and {SPEC_BY_NAME['build-dir'].label()} need somewhere to host the zip "
        f"that Streampixel can download: set {SPEC_BY_NAME['s3-bucket'].label()} and the other s3-* settings, or give "
        f"{SPEC_BY_NAME['file-url'].label()} with a public URL of a zip you host.",
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
    http = Http(session, streampixel_policy(settings), clock or Clock(settings.timeout_seconds), on_retry)
    return StreampixelClient(settings.api_url, settings.api_key, settings.user_id, http)


def deployment_target(settings: Settings, environ: Mapping[str, str]) -> DeploymentTarget | None:
    """A GitHub deployment target when github-token and environment are set and the runner says where."""
    if not settings.github_token or not settings.environment or settings.dry_run:
        return None
    repository, sha = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_SHA", "")
    if not repository or not sha:
        raise InputError(
            f"{SPEC_BY_NAME['github-token'].label()} and {SPEC_BY_NAME['environment'].label()} record a GitHub "
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


def execute(
    settings: Settings,
    reporter: Reporter,
    cancel: threading.Event | None = None,
    debug: bool = False,
    environ: Mapping[str, str] | None = None,
    track: Callable[[Result], None] | None = None,
    ended: Callable[[Result], None] | None = None,
) -> Result:
    """Run ``settings.command``; never raises a StreampixelDeployError (it ends up in the Result).

    ``track`` receives the run's live result as soon as it exists (what a signal publishes); ``ended`` the
    final one, before any clean-up (removing packaged zips, the GitHub deployment's last status).
    """
    reporter.mask(settings.api_key)
    if settings.github_token:
        reporter.mask(settings.github_token)
    env = environ if environ is not None else {}
    clock = Clock(settings.timeout_seconds, cancel)  # timeout-minutes bounds the whole run from here
    client = make_client(settings, env, clock, reporter)
    session = client.session
    run: Run | None = None
    result = Result(command=settings.command, project_id=settings.project_id)
    tracker: GitHubDeployments | None = None
    several = False  # several projects: _several() reports and cleans up itself
    try:
        if bool(settings.github_token) != bool(settings.environment):
            reporter.warning(
                "'github-token' and 'environment' work together: set both to record a GitHub deployment; "
                "with only one of them no deployment is recorded.",
                "GitHub deployment",
            )
        host = select_host(settings, session)
        if len(settings.project_ids) > 1:
            result = _several(settings, reporter, clock, env, host, debug, track, ended)
            several = True  # it reported and cleaned up itself
            return result
        target = deployment_target(settings, env)
        if target is not None:
            tracker = GitHubDeployments(target, reporter, session, clock)
        run = Run(
            settings,
            reporter,
            client,
            clock,
            host=host,
            on_submitted=tracker.submitted if tracker else None,
            live_history=functools.partial(tracker.previous_live, settings.project_id) if tracker else None,
        )
        result = run.result
        if track is not None:
            track(result)
        if settings.command == "deploy":
            result = deploy(run)
        elif settings.command == "distribute":
            result = distribute(run)
        elif settings.command == "test-webhook":
            result = test_webhook(run)
        else:
            result = status(run)
    except StreampixelDeployError as exc:
        if run is not None:
            result = run.record_duration()
        fail(result, exc, debug)
    except KeyboardInterrupt:
        if run is not None:
            result = run.record_duration()
        fail(result, Cancelled("Cancelled by the user."), debug)
    except Exception as exc:  # a bug or an unmapped library error: still a result, outputs and a summary
        if run is not None:
            result = run.record_duration()
        fail(result, unexpected(exc), debug)
    finally:
        if ended is not None and not several:
            ended(result)
        if run is not None:
            run.remove_packaged_zips()
        if tracker is not None:
            try:
                tracker.finished(result, hurry=clock.cancel.is_set())
            except (Cancelled, KeyboardInterrupt):
                fail(result, Cancelled("Cancelled while updating the GitHub deployment."), debug)
        session.close()
    return result


def _several(
    settings: Settings,
    reporter: Reporter,
    clock: Clock,
    env: Mapping[str, str],
    host: Host | None,
    debug: bool,
    track: Callable[[Result], None] | None,
    ended: Callable[[Result], None] | None,
) -> Result:
    """deploy or distribute to several projects (run/fanout.py): a Run, client and tagged reporter each, and a
    GitHub deployment each when asked, in the environment ``<environment>/<project-id>`` (one environment
    would keep only the last project's deployment active)."""
    target = deployment_target(settings, env)
    runs: list[Run] = []
    trackers: list[GitHubDeployments] = []
    posts = threading.Lock()  # one rate-limited POST at a time (run/fanout.py)
    for project_id in settings.project_ids:
        one = dataclasses.replace(settings, project_id=project_id, project_ids=(project_id,))
        tagged = ProjectReporter(reporter, project_id)
        client = make_client(one, env, clock, tagged)
        tracker = None
        if target is not None:
            where = dataclasses.replace(target, environment=f"{target.environment}/{project_id}")
            tracker = GitHubDeployments(where, tagged, client.session, clock)
            trackers.append(tracker)
        run = Run(
            one,
            tagged,
            client,
            clock,
            host=host,
            on_submitted=tracker.submitted if tracker else None,
            live_history=functools.partial(tracker.previous_live, project_id) if tracker else None,
            post_lock=posts,
        )
        runs.append(run)
    if track is not None:
        track(runs[0].result)

    def on_error(run: Run, exc: BaseException) -> Result:
        error = exc if isinstance(exc, StreampixelDeployError) else None
        if isinstance(exc, KeyboardInterrupt):
            error = Cancelled("Cancelled by the user.")
        return fail(run.record_duration(), error or unexpected(exc), debug)

    result = run_many(runs, on_error)
    try:
        if ended is not None:
            ended(result)
    finally:
        for run in runs:
            run.remove_packaged_zips()
        for run, tracker in zip(runs, trackers, strict=False):
            try:
                tracker.finished(run.result, hurry=clock.cancel.is_set())
            except (Cancelled, KeyboardInterrupt):
                fail(result, Cancelled("Cancelled while updating the GitHub deployments."), debug)
                break
        for run in runs:
            run.client.session.close()
    return result


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
