"""test-webhook: ask Streampixel to call the project's webhook URL; fail when the receiver did not answer 2xx."""

from __future__ import annotations

from streampixel_deploy.api.models import Outcome, Result
from streampixel_deploy.core.errors import ApiError
from streampixel_deploy.run.context import Run


def test_webhook(run: Run) -> Result:
    if run.settings.dry_run:
        run.read_project("check credentials and project")
        return run.end_with(Outcome.DRY_RUN, "Dry run: would ask Streampixel to send a test webhook; nothing was sent.")
    with run.reporter.group("test-webhook"):
        outcome = run.client.test_webhook(run.settings.project_id)
    answered = f"the receiver answered HTTP {outcome.status_code}" if outcome.status_code else "no connection"
    run.result.webhook = outcome
    if not outcome.success:
        raise ApiError(
            f"The test webhook was not delivered ({answered}). Check that the project's webhook URL is "
            f"public and answers 2xx within 10 s. Streampixel said: {outcome.message or '(no message)'}",
            200,
            outcome.message,
        )
    return run.end_with(Outcome.OK, f"Test webhook delivered: {answered}. Streampixel said: {outcome.message}")
