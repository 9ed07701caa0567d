"""One run's life, owned by one object: :class:`RunLifecycle`.

A face (the CLI, the action, the demo) builds it with the raw settings, the command, its reporter and where the
outputs go, installs :meth:`RunLifecycle.first_signal` as the first signal's handler, and calls
:meth:`RunLifecycle.run`. The lifecycle then:

1. builds the settings (inside a rehearsal's embedded emulator for ``api-url: emulator``);
2. opens what the run needs and runs the command (run/execute.py: never raises a run's error, it is the Result);
3. **publishes** the result as soon as it is known, before any clean-up: outputs, summary, the reporter's last word;
4. closes what it opened (packaged zips, GitHub deployments' last status, sessions), even when the run raised;
5. publishes again only if the clean-up changed the result.

On the first signal it publishes the run as it stands, cancelled, before any clean-up. Publishing happens in
:meth:`RunLifecycle._publish` only.

Layers below the faces name a setting in a message by :func:`~streampixel_deploy.core.errors.ref`; the lifecycle
shows each as the face's label (``label``) in every line the reporter gets and in the published result.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from streampixel_deploy import rehearsal
from streampixel_deploy.api.models import Result
from streampixel_deploy.core.errors import Cancelled, InputError, StreampixelDeployError, render_refs
from streampixel_deploy.core.progress import Reporter
from streampixel_deploy.report.outputs import Publisher
from streampixel_deploy.run.execute import fail, open_run, unexpected
from streampixel_deploy.settings.spec import parse_list
from streampixel_deploy.settings.table import SPEC_BY_NAME, build_settings, label_of


def publisher_for(raw: Mapping[str, str | None]) -> Publisher:
    """Outputs and the job summary as the settings ask (``summary: false`` leaves the summary out; a value that is
    not a boolean is refused later with the other settings, and the summary is written meanwhile)."""
    try:
        return Publisher(bool(SPEC_BY_NAME["summary"].parse(raw.get("summary"))))
    except InputError:
        return Publisher(True)


class RunReporter(Reporter, Protocol):
    def ended(self, result: Result) -> None:
        """The run's result is known (before any clean-up): say how it ended, the reporter's way."""


class _Labelled:
    """The face's reporter, with every setting a lower layer named (``ref``) shown as the face's label."""

    def __init__(self, inner: RunReporter, label: Callable[[str], str]) -> None:
        self._inner = inner
        self._label = label

    def _text(self, text: str) -> str:
        return render_refs(text, self._label)

    def group(self, name: str) -> AbstractContextManager[None]:
        return self._inner.group(self._text(name))

    def info(self, message: str) -> None:
        self._inner.info(self._text(message))

    def warning(self, message: str, title: str | None = None) -> None:
        self._inner.warning(self._text(message), title)

    def debug(self, message: str) -> None:
        self._inner.debug(self._text(message))

    def stage(self, status: str, elapsed: float, detail: str | None = None) -> None:
        self._inner.stage(status, elapsed, self._text(detail) if detail is not None else None)

    def mask(self, value: str) -> None:
        self._inner.mask(value)

    def progress(self, done: int, total: int | None, label: str) -> None:
        self._inner.progress(done, total, label)

    def ended(self, result: Result) -> None:
        self._inner.ended(result)


def show_labels(result: Result, label: Callable[[str], str]) -> None:
    """Show the settings ``result``'s texts name (``ref``) as ``label`` shows them, its projects' too."""
    for item in dataclasses.fields(result):
        value = getattr(result, item.name)
        if type(value) is str:  # texts only: an Outcome is a str too
            setattr(result, item.name, render_refs(value, label))
    for project in result.projects:
        show_labels(project, label)


class RunLifecycle:
    """A run from raw settings to a published, closed Result. Built with everything it needs; nothing is set on it
    afterwards."""

    def __init__(
        self,
        raw: Mapping[str, str | None],
        command: str,
        reporter: RunReporter,
        publisher: Publisher | None = None,
        *,
        debug: bool = False,
        environ: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        label: Callable[[str], str] = label_of,
    ) -> None:
        self._raw = dict(raw)
        self.command = command
        #: how this face names a setting (the run's lower layers name them with ``ref``)
        self.label = label
        self.reporter: RunReporter = _Labelled(reporter, label)
        self.publisher = publisher
        self.debug = debug
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        #: set by the first signal; every wait of the run watches it
        self.cancel = cancel if cancel is not None else threading.Event()
        #: the run's result as it stands (what the first signal publishes)
        #: the projects the run is for: as given until the settings say (a run that ends before its projects ran
        #: still gives each its row of ``results``)
        self._projects = tuple(dict.fromkeys(parse_list(raw.get("project-id"))))
        self._live = Result(command=command, project_id=self._projects[0] if self._projects else "")
        #: whether the run got as far as its command (False: the settings were refused, or a rehearsal's emulator
        #: did not start); the CLI prints such a run's end as one line, as for any refused command line
        self.started = False

    def run(self) -> Result:
        """Build the settings, run the command, publish the result, close what the run opened; the final Result."""
        try:
            with rehearsal.rehearsal(self._raw, self.reporter, self.environ) as given:
                settings = build_settings(given, self.command, rehearsal=rehearsal.wanted(self._raw))
                self._projects = settings.project_ids
                self._live = Result(command=settings.command, project_id=settings.project_id)
                self.started = True
                with open_run(settings, self.reporter, self.cancel, self.environ, self.debug) as opened:
                    self._live = opened.result
                    result = self._end(opened.execute())
                result = opened.result  # the clean-up may have changed it (a cancel while closing)
        except StreampixelDeployError as exc:  # input errors, or a signal outside the command (handler published)
            result = self._end(self._failed(exc))
        except KeyboardInterrupt:
            result = self._end(self._failed(Cancelled("Cancelled by the user.")))
        except Exception as exc:  # a bug: still a result, outputs and a summary
            result = self._end(self._failed(unexpected(exc)))
        self._publish(result)  # again, only if the clean-up changed it
        return result

    def first_signal(self, reason: str) -> None:
        """The first SIGINT/SIGTERM: publish the run as it stands, cancelled, before any clean-up (the runner kills
        the step seconds later)."""
        self._publish(self._failed(Cancelled(f"{reason} Outputs written; cleaning up."), copy.copy(self._live)))
        self.reporter.warning(f"{reason} Cleaning up.", "Cancelled")

    def _failed(self, exc: StreampixelDeployError, result: Result | None = None) -> Result:
        """The run as it stands (``result``, else the live one) ended by ``exc``: with several projects that never
        got their own results, one row each with the error (``each_project``)."""
        return each_project(fail(self._live if result is None else result, exc, self.debug), self._projects)

    def _end(self, result: Result) -> Result:
        """The result is known: mark a rehearsal, let the reporter say it, publish."""
        show_labels(result, self.label)
        self._live = result
        if rehearsal.wanted(self._raw):
            rehearsal.mark(result, self._raw)
        self.reporter.ended(result)
        self._publish(result)
        return result

    def _publish(self, result: Result) -> None:
        """The one place a run's outputs and summary are written (nothing when the face has no publisher)."""
        show_labels(result, self.label)
        if self.publisher is not None:
            self.publisher.publish(result)


def each_project(result: Result, project_ids: Sequence[str]) -> Result:
    """A run of several projects that ended before they had results of their own (a refused setting, a zip or a
    hosting error before any submit): the run's result for each of them, so that ``results`` has a row per project."""
    if result.projects or len(project_ids) < 2:
        return result
    result.projects = tuple(dataclasses.replace(result, project_id=p, projects=()) for p in project_ids)
    return result
