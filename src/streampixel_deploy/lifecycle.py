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
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Protocol

from streampixel_deploy import rehearsal
from streampixel_deploy.core.errors import Cancelled, InputError, StreampixelDeployError
from streampixel_deploy.core.models import Result
from streampixel_deploy.core.reporter import Reporter
from streampixel_deploy.core.settings import SPEC_BY_NAME, build_settings
from streampixel_deploy.report.outputs import Publisher
from streampixel_deploy.run.execute import fail, open_run, unexpected


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
    ) -> None:
        self._raw = dict(raw)
        self.command = command
        self.reporter = reporter
        self.publisher = publisher
        self.debug = debug
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        #: set by the first signal; every wait of the run watches it
        self.cancel = cancel if cancel is not None else threading.Event()
        #: the run's result as it stands (what the first signal publishes)
        self._live = Result(command=command, project_id=str(raw.get("project-id") or ""))
        #: whether the run got as far as its command (False: the settings were refused, or a rehearsal's emulator
        #: did not start); the CLI prints such a run's end as one line, as for any refused command line
        self.started = False

    def run(self) -> Result:
        """Build the settings, run the command, publish the result, close what the run opened; the final Result."""
        try:
            with rehearsal.rehearsal(self._raw, self.reporter, self.environ) as given:
                settings = build_settings(given, self.command)
                self._live = Result(command=settings.command, project_id=settings.project_id)
                self.started = True
                with open_run(settings, self.reporter, self.cancel, self.environ, self.debug) as opened:
                    self._live = opened.result
                    result = self._end(opened.execute())
                result = opened.result  # the clean-up may have changed it (a cancel while closing)
        except StreampixelDeployError as exc:  # input errors, or a signal outside the command (handler published)
            result = self._end(fail(self._live, exc, self.debug))
        except KeyboardInterrupt:
            result = self._end(fail(self._live, Cancelled("Cancelled by the user."), self.debug))
        except Exception as exc:  # a bug: still a result, outputs and a summary
            result = self._end(fail(self._live, unexpected(exc), self.debug))
        self._publish(result)  # again, only if the clean-up changed it
        return result

    def first_signal(self, reason: str) -> None:
        """The first SIGINT/SIGTERM: publish the run as it stands, cancelled, before any clean-up (the runner kills
        the step seconds later)."""
        self._publish(fail(copy.copy(self._live), Cancelled(f"{reason} Outputs written; cleaning up.")))
        self.reporter.warning(f"{reason} Cleaning up.", "Cancelled")

    def _end(self, result: Result) -> Result:
        """The result is known: mark a rehearsal, let the reporter say it, publish."""
        self._live = result
        if rehearsal.wanted(self._raw):
            rehearsal.mark(result, self._raw)
        self.reporter.ended(result)
        self._publish(result)
        return result

    def _publish(self, result: Result) -> None:
        """The one place a run's outputs and summary are written (nothing when the face has no publisher)."""
        if self.publisher is not None:
            self.publisher.publish(result)
