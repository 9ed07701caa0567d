"""Every S3 call under the run's deadline (``timeout-minutes``), through botocore's own timeouts.

Before each attempt of each call (``before-send``: retries and the parts of a multipart upload included) the time
left is read from the run's clock: none left raises ``WaitTimeout`` (botocore does not retry it), else the attempt's
read timeout, which bounds every wait for the server (the answer's headers and each read of its body) is the time
left, when that is shorter than the client's own. So a server that never answers costs the run what it had left,
not the client's read timeout times its attempts.

Clean-up is the exception: removing what a stopped upload left (``AbortMultipartUpload``, ``DeleteObject``) still
goes out once the deadline has passed, each attempt bounded by :data:`CLEANUP_SECONDS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from streampixel_deploy.hosting import Deadline, time_left

CLEANUP = frozenset({"AbortMultipartUpload", "DeleteObject"})
#: How long one attempt of a clean-up call may wait for the server once the deadline has passed.
CLEANUP_SECONDS = 5.0
_EVENT = "before-send.s3"


@contextlib.contextmanager
def under(client: Any, deadline: Deadline | None, read_timeout: float) -> Iterator[None]:
    """While in the block, each request ``client`` sends waits at most the time ``deadline`` leaves (see above)."""
    if deadline is None:
        yield
        return

    def bound(request: Any, event_name: str = "", **_: Any) -> None:
        if event_name.rsplit(".", 1)[-1] in CLEANUP:
            left = max(deadline(), CLEANUP_SECONDS)
        else:
            left = time_left(deadline) or 0.0  # raises WaitTimeout when none is left
        context = getattr(request, "context", None)
        if isinstance(context, dict):
            context["read_timeout"] = min(read_timeout, left)  # botocore's per-request read timeout

    client.meta.events.register(_EVENT, bound)
    try:
        yield
    finally:
        client.meta.events.unregister(_EVENT, bound)
