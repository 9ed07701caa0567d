"""Structured logs: one JSON object per line, secrets scrubbed before anything is written."""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any, TextIO

from streampixel_deploy.core.redact import scrub

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class JsonLog:
    """Writes ``{"ts", "level", "msg", **fields}`` lines to ``stream`` (stderr by default).

    Every line goes through :func:`streampixel_deploy.core.redact.scrub`, so a value registered in
    ``redact.SECRETS`` (the webhook token, the GitHub token, the API key) never reaches the log, even if a
    field or an exception message happens to carry it. ``records`` keeps the last lines in memory (tests).
    """

    def __init__(self, stream: TextIO | None = None, level: str = "info", keep: int = 1000) -> None:
        self._stream = stream
        self._threshold = LEVELS.get(level, 20)
        self._lock = threading.Lock()
        self._keep = keep
        self.records: list[dict[str, Any]] = []

    def log(self, level: str, msg: str, **fields: object) -> None:
        if LEVELS.get(level, 20) < self._threshold:
            return
        record: dict[str, object] = {
            "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "msg": msg,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        line = scrub(json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":")))
        with self._lock:
            self.records.append(json.loads(line))
            if len(self.records) > self._keep:
                del self.records[: len(self.records) - self._keep]
            stream = self._stream if self._stream is not None else sys.stderr
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed stream must not take the relay down
                pass

    def debug(self, msg: str, **fields: object) -> None:
        self.log("debug", msg, **fields)

    def info(self, msg: str, **fields: object) -> None:
        self.log("info", msg, **fields)

    def warning(self, msg: str, **fields: object) -> None:
        self.log("warning", msg, **fields)

    def error(self, msg: str, **fields: object) -> None:
        self.log("error", msg, **fields)

    def find(self, msg: str) -> list[dict[str, Any]]:
        """The kept records whose ``msg`` is ``msg`` (oldest first)."""
        with self._lock:
            return [r for r in self.records if r.get("msg") == msg]
