"""The GitHub deployment history of one environment, read within bounds of its own.

It answers one question: which build was live before (the newest deployment of a project that reached
``success``), for the rollback target. It is optional, so reading it must never hold a run:

- **pages**: the list is followed page by page (``per_page=100``, GitHub's ``Link: rel="next"``; a full page without
  one is followed by number), at most :attr:`HistoryLimits.pages` pages;
- **entries**: at most :attr:`HistoryLimits.entries` deployments are looked at, however many a page holds (a server
  that ignores ``per_page`` answers thousands at once);
- **requests**: at most :attr:`HistoryLimits.requests` reads in all, list pages and statuses together (a
  deployment's statuses are one read each, and are read only for the project's own deployments);
- **seconds**: all reads of a run share a clock of their own: :attr:`HistoryLimits.seconds`, and never more than
  :attr:`HistoryLimits.share` of the run's time left, so a silent endpoint or a ``Retry-After`` longer than that
  costs the run that much at most (a wait that would end past it ends the read at once), never its deadline.

What was read is kept, so a second question (a rollback asks two) costs only the reads not made yet. When a read
fails or a bound is reached before the answer, :attr:`DeploymentHistory.problem` says which, and the caller falls
back to another rule and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from streampixel_deploy.core.errors import Cancelled, WaitTimeout
from streampixel_deploy.core.http import Clock
from streampixel_deploy.github.rest import GitHubRest

#: How a job lets the workflow token read (and record) the history: the fix named wherever it could not.
PERMISSION_FIX = (
    "give the job 'deployments: write' under 'permissions:' (the action's default 'github-token' is the workflow "
    "token), or pass a token that has it in 'github-token' (--github-token)"
)


@dataclass(frozen=True)
class LiveAnswer:
    """What the history says about the build live before: ``build`` (None: none recorded, or no answer), and when it
    could not answer, ``problem`` (why) and ``denied`` (GitHub refused the token: 401/403/404, which the operator
    fixes with a permission or a token)."""

    build: str | None
    problem: str | None = None
    denied: bool = False


@dataclass(frozen=True)
class HistoryLimits:
    """The bounds of one run's history reads (see the module docstring)."""

    pages: int = 5
    per_page: int = 100
    entries: int = 500
    requests: int = 40
    seconds: float = 10.0
    share: float = 0.1


class DeploymentHistory:
    """Deployments of ``environment`` in ``repository``, newest first, read lazily under ``limits``.

    ``run_clock`` is the run's: its cancel event stops the reads, and its time left sizes their own clock (made at
    the first read)."""

    def __init__(
        self,
        rest: GitHubRest,
        repository: str,
        environment: str,
        run_clock: Clock,
        limits: HistoryLimits | None = None,
    ) -> None:
        self.rest = rest
        self.run_clock = run_clock
        self.limits = limits or HistoryLimits()
        self.base = rest.repo_url(repository, "deployments")
        self._next: str | None = (
            f"{self.base}?environment={quote(environment, safe='')}&per_page={self.limits.per_page}"
        )
        self._entries: list[Any] = []
        self._succeeded: dict[int, bool] = {}
        self._clock: Clock | None = None
        self._pages = 0
        self._requests = 0
        #: why the reads stopped before the history's end (None: not stopped, or it ended)
        self.problem: str | None = None
        #: GitHub refused the token (401/403/404): no permission to read deployments, or a wrong token
        self.denied = False
        self._stopped = False  # a problem, or the run was cancelled: no more reads
        self._cut: str | None = None  # why the entries end before the history does

    def previous_live(self, project_id: str, exclude: str | None = None) -> str | None:
        """The build of the newest deployment of ``project_id`` (other than ``exclude``) that reached ``success``;
        None when the history has none, or when it could not be read that far (then :attr:`problem` says why)."""
        index = 0
        while True:
            if index == len(self._entries):
                if not self._more():
                    return None
                continue
            deployment = self._entries[index]
            index += 1
            build = payload_build(deployment, project_id)
            number = deployment.get("id") if isinstance(deployment, dict) else None
            if build is None or build == exclude or not isinstance(number, int):
                continue
            if number not in self._succeeded:
                statuses = self._get(f"{self.base}/{number}/statuses?per_page=100")
                if statuses is None:
                    return None
                self._succeeded[number] = isinstance(statuses.data, list) and any(
                    isinstance(s, dict) and s.get("state") == "success" for s in statuses.data
                )
            if self._succeeded[number]:
                return build

    def _more(self) -> bool:
        """Read the next page into the entries; False at the history's end or when reading must stop."""
        if self._next is None or self._stopped:
            if self._cut is not None:
                self._stop(self._cut)
            return False
        if self._pages >= self.limits.pages:
            return self._stop(f"it was cut short at its bound of {self.limits.pages} pages")
        if len(self._entries) >= self.limits.entries:
            return self._stop(f"it was cut short at its bound of {self.limits.entries} deployments")
        url, self._next = self._next, None
        page = self._get(url)
        if page is None:
            return False
        self._pages += 1
        items = page.data if isinstance(page.data, list) else []
        room = self.limits.entries - len(self._entries)
        self._entries.extend(items[:room])
        if len(items) > room:  # what follows is not looked at: a problem once an answer needs it
            self._cut = f"it was cut short at its bound of {self.limits.entries} deployments"
            return True
        if page.next_url is not None and page.next_url.startswith(self.rest.api_url + "/"):
            self._next = page.next_url  # never the token to another host
        elif page.next_url is None and len(items) >= self.limits.per_page:
            self._next = f"{url.split('&page=')[0]}&page={self._pages + 1}"  # a Link header lost on the way
        return bool(items) or self._next is not None

    def _get(self, url: str) -> Any:
        """One read under the bounds: the Answer, or None (with :attr:`problem` set) when it must stop."""
        if self._stopped:
            return None
        if self._requests >= self.limits.requests:
            self._stop(f"it was cut short at its bound of {self.limits.requests} requests")
            return None
        clock = self._own_clock()
        self._requests += 1
        try:
            answer = self.rest.call(
                "GET",
                url,
                doing="read the GitHub deployment history",
                repeatable=True,
                clock=clock,
                needs="deployments: read",
            )
        except WaitTimeout as exc:
            limited = "rate limit" in exc.message
            self._stop(
                f"it takes at most {clock.budget_seconds or 0:.1f} s of the run, and "
                + ("GitHub rate-limited it for longer" if limited else "GitHub did not answer in that time")
            )
            return None
        except Cancelled:
            self._stopped = True  # the run is stopping: it says so itself
            return None
        if not answer.ok:
            self.denied = answer.config_problem
            self._stop(answer.detail)
            return None
        return answer

    def _own_clock(self) -> Clock:
        if self._clock is None:
            left = max(0.0, self.run_clock.remaining())
            seconds = min(self.limits.seconds, left * self.limits.share)
            self._clock = Clock(
                seconds, self.run_clock.cancel, now=self.run_clock.now, what="the GitHub deployment history's time"
            )
        return self._clock

    def _stop(self, problem: str) -> bool:
        self.problem = problem
        self._stopped = True
        return False


def payload_build(deployment: Any, project_id: str) -> str | None:
    """The Streampixel upload ID a deployment we created carries for ``project_id``."""
    payload = deployment.get("payload") if isinstance(deployment, dict) else None
    ours = payload.get("streampixel") if isinstance(payload, dict) else None
    if not isinstance(ours, dict) or ours.get("projectId") != project_id:
        return None
    build = ours.get("uploadId")
    return build if isinstance(build, str) and build else None
