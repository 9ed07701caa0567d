"""GitHub Deployments for a run: one deployment per deploy or rollback, with its status kept current.

Created when Streampixel has accepted the build (so the deployment's payload can name the uploadId), set
``in_progress`` at once, then ``success`` / ``failure`` / ``inactive`` / ``error`` when the run ends. A problem
talking to GitHub is a warning, never a failed deploy. Requests go through :mod:`streampixel_deploy.github.rest`.

The rollback target comes from the environment's history (:mod:`streampixel_deploy.github.history`, read within
bounds of its own). When that read fails or is cut short before it answers, the run chooses by date instead, and
one warning names what was chosen (once the run knows it: when the build is accepted, or when the run ends). When
GitHub refused the token (no ``deployments`` permission: 403, or 404 on a private repository) the warning names the
``permissions:`` line that fixes it, and no deployment is created (the same token would be refused again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.core.errors import Cancelled, WaitTimeout
from streampixel_deploy.core.http import Clock
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.github.history import PERMISSION_FIX, DeploymentHistory, HistoryLimits, LiveAnswer
from streampixel_deploy.github.rest import GitHubRest

_FINAL_STATE = {
    Outcome.APPROVED: "success",
    Outcome.REJECTED: "failure",
    Outcome.FAILED: "failure",
    Outcome.TIMED_OUT: "error",
    Outcome.CANCELLED: "error",
}


@dataclass(frozen=True)
class DeploymentTarget:
    api_url: str  # GITHUB_API_URL
    repository: str  # owner/repo
    sha: str
    token: str
    environment: str
    log_url: str | None = None
    environment_url: str | None = None


#: A cancelled run has seconds before the runner kills it: each final update gets this long, one attempt.
HURRY_SECONDS = 2.0
#: The final update of a run that ended (its deadline may have passed): this long in all, retries included.
FINAL_SECONDS = 30.0
PERMISSION = "deployments: write"


class GitHubDeployments:
    """The deployment of one run. ``clock`` is the run's (its deadline and cancel event) for the creation;
    the final status gets its own short clock, because it must be sent after a timeout or a cancel too."""

    def __init__(
        self,
        target: DeploymentTarget,
        reporter: Reporter,
        session: requests.Session,
        clock: Clock | None = None,
        history_limits: HistoryLimits | None = None,
    ) -> None:
        self.target = target
        self.reporter = reporter
        self.rest = GitHubRest(target.api_url, target.token, session, clock)
        self.deployment_id: int | None = None
        self.history = DeploymentHistory(
            self.rest, target.repository, target.environment, self.rest.clock, history_limits
        )
        self._unanswered: str | None = None  # why a history question went unanswered (not yet reported)

    def _call(
        self, path: str, body: dict[str, Any], clock: Clock | None = None, hurry: bool = False
    ) -> dict[str, Any] | None:
        url = self.rest.repo_url(self.target.repository, *path.split("/"))
        try:
            answer = self.rest.call(
                "POST",
                url,
                doing="update the GitHub deployment",
                json_body=body,
                retry=not hurry,
                budget=HURRY_SECONDS if hurry else None,
                clock=clock,
                needs=PERMISSION,
            )
        except WaitTimeout as exc:
            self.reporter.warning(f"GitHub deployment update failed: {exc.message}", "GitHub deployment")
            return None
        except Cancelled:
            return None  # the run is stopping: the runner sees the cancel at its next step; finished() reports it
        if answer.status == 0:
            self.reporter.warning(f"GitHub deployment update failed: {answer.detail}.", "GitHub deployment")
            return None
        if not answer.ok:
            self.reporter.warning(
                f"GitHub answered HTTP {answer.status} to a deployment update: {answer.message}. "
                "Check that github-token has the 'deployments: write' permission.",
                "GitHub deployment",
            )
            return None
        return answer.data if isinstance(answer.data, dict) else {}

    def previous_live(self, project_id: str, exclude: str | None = None) -> LiveAnswer:
        """The build that was live before this run: the newest deployment of this project to the environment
        that reached ``success`` (a deploy or a rollback), from GitHub's history; with why, when GitHub cannot say."""
        build = self.history.previous_live(project_id, exclude)
        if build is None and self.history.problem is not None:
            self._unanswered = self.history.problem
            return LiveAnswer(None, self.history.problem, self.history.denied)
        return LiveAnswer(build)

    def _history_warning(self, result: Result) -> None:
        """Once per run, when the history could not answer: what the run chose instead (by date)."""
        if self._unanswered is None:
            return
        problem, self._unanswered = self._unanswered, None
        previous = result.previous_upload_id or "none (no other approved build)"
        if result.command == "distribute":
            chose = (
                f"builds were chosen by date: build {result.upload_id or '(none chosen)'} is the one distributed "
                f"('previous' meaning the approved build before the newest) and previous-upload-id is {previous}"
            )
        else:
            chose = (
                f"the rollback target was chosen by date: previous-upload-id is {previous}, the newest approved "
                "build before this one"
            )
        fix = (
            f"To name the build that was live before (and record this run), {PERMISSION_FIX}; no deployment was "
            "recorded."
            if self.history.denied
            else "Check the environment's deployments on GitHub before rolling back."
        )
        self.reporter.warning(
            f"The GitHub deployment history gave no answer ({problem}), so {chose}; it may not be the build "
            f"that was live before. {fix}",
            "GitHub deployment",
        )

    def submitted(self, result: Result) -> None:
        """The build (or rollback) was accepted by Streampixel: create the deployment, mark it in progress."""
        self._history_warning(result)
        if self.deployment_id is not None or self.history.denied:  # refused a read: a write would be refused too
            return
        kind = "Rollback/release" if result.command == "distribute" else "Deploy"
        created = self._call(
            "deployments",
            {
                "ref": self.target.sha,
                "environment": self.target.environment,
                "description": f"{kind} of Streampixel build {result.upload_id}"[:140],
                "auto_merge": False,
                "required_contexts": [],
                "transient_environment": False,
                "payload": {
                    "streampixel": {
                        "uploadId": result.upload_id,
                        "projectId": result.project_id,
                        "command": result.command,
                        "previousUploadId": result.previous_upload_id,
                        "autoRelease": result.auto_release,
                    }
                },
            },
        )
        if created and isinstance(created.get("id"), int):
            self.deployment_id = created["id"]
            self.reporter.info(f"GitHub deployment {self.deployment_id} created in '{self.target.environment}'.")
            self._status("in_progress", f"Streampixel is processing build {result.upload_id}")

    def finished(self, result: Result, hurry: bool = False) -> None:
        self._history_warning(result)
        if self.deployment_id is None:
            return
        if result.outcome is Outcome.SUBMITTED or result.outcome is Outcome.DRY_RUN:
            return  # still processing on Streampixel's side; nothing final to say
        state = _FINAL_STATE.get(result.outcome, "error")
        if result.outcome is Outcome.APPROVED and result.live is False:
            state = "inactive"
        description = {
            "success": f"Build {result.upload_id} is live",
            "inactive": f"Build {result.upload_id} approved, not live (auto-release: false)",
            "failure": f"Build {result.upload_id} {result.outcome.value}: {result.objection or ''}".strip(": "),
            "error": f"Build {result.upload_id} {result.outcome.value}",
        }[state]
        self._status(state, description, Clock(HURRY_SECONDS if hurry else FINAL_SECONDS), hurry)

    def _status(self, state: str, description: str, clock: Clock | None = None, hurry: bool = False) -> None:
        body: dict[str, Any] = {"state": state, "description": description[:140], "auto_inactive": True}
        if self.target.log_url:
            body["log_url"] = self.target.log_url
        if self.target.environment_url:
            body["environment_url"] = self.target.environment_url
        self._call(f"deployments/{self.deployment_id}/statuses", body, clock, hurry)
