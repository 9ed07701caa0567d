"""One ``repository_dispatch`` call: ``POST {api}/repos/{owner}/{repo}/dispatches``.

The body is ``{"event_type", "client_payload"}``; GitHub answers ``204 No Content`` when it accepted the event.
The request goes through :class:`~streampixel_deploy.github.rest.GitHubRest` with ``retry=False``: the relay's
forwarder owns the retries (it keeps the event in its spool and waits between attempts), so one call is one
attempt, and its :class:`~streampixel_deploy.github.rest.Answer` says whether to retry, after how long, or to
set the event aside.
"""

from __future__ import annotations

from typing import Any

import requests

from streampixel_deploy.core.http import Clock, Policy, make_session
from streampixel_deploy.github.rest import GITHUB_POLICY, Answer, GitHubRest

#: What a 403 means for a dispatch: the token may not write to the repository.
PERMISSION = "contents: write on the repository"


class GitHubDispatcher:
    def __init__(self, rest: GitHubRest, repository: str) -> None:
        self.rest = rest
        self.url = rest.repo_url(repository, "dispatches")

    @classmethod
    def create(
        cls,
        api_url: str,
        repository: str,
        token: str,
        clock: Clock,
        policy: Policy = GITHUB_POLICY,
        session: requests.Session | None = None,
    ) -> GitHubDispatcher:
        return cls(GitHubRest(api_url, token, session or make_session(), clock, policy), repository)

    @property
    def policy(self) -> Policy:
        return self.rest.policy

    def close(self) -> None:
        self.rest.session.close()

    def dispatch(self, event_type: str, client_payload: dict[str, Any]) -> Answer:
        """One attempt; raises Cancelled when the relay is stopping before the request leaves."""
        return self.rest.call(
            "POST",
            self.url,
            doing="create a repository_dispatch event",
            json_body={"event_type": event_type, "client_payload": client_payload},
            retry=False,
            needs=PERMISSION,
        )
