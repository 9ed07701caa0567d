"""GitHub Deployments for a run: one deployment per deploy or rollback, with its status kept current.

Created when Streampixel has accepted the build (so the deployment's payload can name the uploadId), set
``in_progress`` at once, then ``success`` / ``failure`` / ``inactive`` / ``error`` when the run ends. A problem
talking to GitHub is a warning, never a failed deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from streampixel_deploy.core.models import Outcome, Result
from streampixel_deploy.core.reporter import Reporter

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


class GitHubDeployments:
    def __init__(self, target: DeploymentTarget, reporter: Reporter, session: requests.Session) -> None:
        self.target = target
        self.reporter = reporter
        self.session = session
        self.deployment_id: int | None = None

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, hurry: bool = False
    ) -> dict[str, Any] | None:
        url = f"{self.target.api_url.rstrip('/')}/repos/{self.target.repository}{path}"
        try:
            response = self.session.request(
                method,
                url,
                json=body,
                timeout=(2, 2) if hurry else (10, 30),  # hurry: cancelled, the runner kills us in seconds
                headers={
                    "Authorization": f"Bearer {self.target.token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                },
            )
        except requests.RequestException as exc:
            self.reporter.warning(f"GitHub deployment update failed: {type(exc).__name__}.", "GitHub deployment")
            return None
        if response.status_code >= 300:
            try:
                message = str(response.json().get("message", ""))
            except ValueError:
                message = response.text[:100]
            self.reporter.warning(
                f"GitHub answered HTTP {response.status_code} to a deployment update: {message}. "
                "Check that github-token has the 'deployments: write' permission.",
                "GitHub deployment",
            )
            return None
        try:
            data = response.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def submitted(self, result: Result) -> None:
        """The build (or rollback) was accepted by Streampixel: create the deployment, mark it in progress."""
        if self.deployment_id is not None:
            return
        kind = "Rollback/release" if result.command == "distribute" else "Deploy"
        created = self._call(
            "POST",
            "/deployments",
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
        self._status(state, description, hurry)

    def _status(self, state: str, description: str, hurry: bool = False) -> None:
        body: dict[str, Any] = {"state": state, "description": description[:140], "auto_inactive": True}
        if self.target.log_url:
            body["log_url"] = self.target.log_url
        if self.target.environment_url:
            body["environment_url"] = self.target.environment_url
        self._call("POST", f"/deployments/{self.deployment_id}/statuses", body, hurry)
