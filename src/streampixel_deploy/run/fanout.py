"""One build, several projects: deploy (or distribute) to each project of one user through the per-user rate limit.

* **Validated and hosted once.** The first project's run checks the archive, reads every project (credentials and
  the rollback targets) and packages and hosts the zip; the others submit the same URL.
* **Through the rate limit, never hammering.** Streampixel allows one upload (and one distribute) per user every
  two minutes. The POSTs go one at a time (a lock that a project holds while it waits out a 429): the next project
  sends only after the previous one was accepted, and a 429 is waited out by its Retry-After (else the documented
  window) before the one retry, so each project meets at most one 429.
* **Followed at once.** Each project's build is followed in its own thread from its acceptance on, so following
  the first overlaps the wait for the second's slot.
* **One result.** Per project a row (``results``); the run's outcome and exit code are the worst of them, and the
  single-project outputs carry that project's values.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Sequence

from streampixel_deploy.api.models import Build, Outcome, Project, Result
from streampixel_deploy.core.errors import Cancelled, StreampixelDeployError
from streampixel_deploy.core.progress import NullReporter, Reporter
from streampixel_deploy.report.text import tally
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.deploy import deliver, end_dry_run, prepare
from streampixel_deploy.run.distribute import choose, release

#: From best to worst: the run's outcome is the worst of its projects'.
SEVERITY = (
    Outcome.OK,
    Outcome.APPROVED,
    Outcome.DRY_RUN,
    Outcome.SUBMITTED,
    Outcome.TIMED_OUT,
    Outcome.REJECTED,
    Outcome.FAILED,
    Outcome.CANCELLED,
)

#: How a project's run ends on an error (execute.fail with the run's debug setting).
OnError = Callable[[Run, BaseException], Result]


class ProjectReporter(NullReporter):
    """One project's lines in a run of several: each names its project; no groups (NullReporter's: the threads
    interleave)."""

    def __init__(self, inner: Reporter, project_id: str) -> None:
        self._inner, self._tag = inner, f"[{project_id}] "

    def info(self, message: str) -> None:
        self._inner.info(self._tag + message)

    def warning(self, message: str, title: str | None = None) -> None:
        self._inner.warning(self._tag + message, title)

    def debug(self, message: str) -> None:
        self._inner.debug(self._tag + message)

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        self._inner.stage(status, elapsed, self._tag.strip() + (f" {detail}" if detail else ""))

    def mask(self, value: str) -> None:
        self._inner.mask(value)

    def progress(self, done: int, total: int | None, label: str) -> None:
        self._inner.progress(done, total, self._tag + label)


def run_many(runs: Sequence[Run], on_error: OnError) -> Result:
    """Deploy or distribute (``runs[0].settings.command``) to every run's project; the combined result. The runs
    share one ``post_lock`` (one rate-limited POST at a time)."""
    if runs[0].settings.command == "deploy":
        _deploy(runs, on_error)
    else:
        _distribute(runs, on_error)
    return combine([run.result for run in runs])


def _distribute(runs: Sequence[Run], on_error: OnError) -> None:
    """Every project's build chosen first (``latest``/``previous`` resolved per project), so that a project whose
    choice fails stops the run before any distribution; then each is released in its own thread."""
    targets: list[Build | None] = []
    for run in runs:
        try:
            targets.append(choose(run))
        except (StreampixelDeployError, KeyboardInterrupt) as exc:
            for each in runs:  # nothing was distributed anywhere: every project ends the same way
                on_error(each, exc)
            return
    _in_threads(
        [(run, functools.partial(release, run, target)) for run, target in zip(runs, targets, strict=True) if target],
        on_error,
    )


def _deploy(runs: Sequence[Run], on_error: OnError) -> None:
    first, others = runs[0], runs[1:]
    known: dict[int, set[str]] = {}
    projects: dict[int, Project | None] = {}

    def read_others() -> None:  # before packaging and hosting: a wrong project ID costs no upload
        for index, run in enumerate(others, 1):
            project = projects[index] = run.read_project_if_possible("check the project")
            known[index] = {b.id for b in project.files} if project is not None else set()
            if project is not None:
                run.note_previous(project)

    try:
        url, known[0] = prepare(first, read_others)
    except (StreampixelDeployError, KeyboardInterrupt) as exc:
        for run in runs:  # nothing was submitted anywhere: every project ends the same way
            on_error(run, exc)
        return
    hosted = first.result
    for run in others:
        r = run.result
        r.file_url, r.file_url_signed, r.sha256 = hosted.file_url, hosted.file_url_signed, hosted.sha256
        r.size_bytes, r.build_size = hosted.size_bytes, hosted.build_size
    if url is None:  # a dry run: each project's result says what would happen to it
        for index, run in enumerate(others, 1):
            end_dry_run(run, projects.get(index))
        return
    hosted_url = url
    jobs = [(run, functools.partial(deliver, run, hosted_url, known.get(i, set()))) for i, run in enumerate(runs)]
    _in_threads(jobs, on_error)


def _in_threads(work: Sequence[tuple[Run, Callable[[], Result]]], on_error: OnError) -> None:
    """Each project's work in its own thread; the main thread waits in short joins, so signals reach it. A signal
    (Cancelled raised here) sets the run's cancel event, which every project's waits watch: each ends cancelled
    with its own result, and the run still ends with all of them (within the signal's grace)."""

    def one(run: Run, job: Callable[[], Result]) -> None:
        try:
            job()
        except BaseException as exc:  # every project ends with a result, whatever happened
            on_error(run, exc)

    threads = [
        threading.Thread(target=one, args=(run, job), name=f"project-{run.settings.project_id}", daemon=True)
        for run, job in work
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join(0.2)
            except (Cancelled, KeyboardInterrupt):  # a signal: the shared clock's cancel event stops each project
                continue


def combine(results: Sequence[Result]) -> Result:
    """The run's result: the worst project's outputs, every project in ``projects``, and a message in plain words
    ("All 2 projects approved.", or the count of each result and what happened to each project that failed)."""
    worst = max(results, key=lambda r: SEVERITY.index(r.outcome))
    combined = copy.copy(worst)
    combined.projects = tuple(results)
    combined.duration_seconds = max(r.duration_seconds for r in results)
    trouble = [f"{r.project_id}: {r.message}" for r in results if r.exit_code]
    combined.message = " ".join([tally([r.outcome for r in results]), *trouble])
    return combined
