"""Showing a snapshot's progress: a live table on a terminal, structured log lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from entrasnap.catalog.model import ResourceType
from entrasnap.collect import TypeResult

STATUS_STYLE = {
    "ok": "green",
    "forbidden": "red",
    "unlicensed": "yellow",
    "unavailable": "yellow",
    "error": "red",
}


def logfmt(**fields: Any) -> str:
    parts = []
    for key, value in fields.items():
        text = str(value)
        if not text or any(c in text for c in ' ="'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class LogProgress:
    """One logfmt line per type started and finished (for schedulers and CI logs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def _emit(self, **fields: Any) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(logfmt(ts=stamp, **fields), file=self.stream, flush=True)

    def started(self, rtype: ResourceType) -> None:
        self._emit(event="type_started", type=rtype.key)

    def advanced(self, rtype: ResourceType, objects: int, requests: int) -> None:
        return None

    def finished(self, result: TypeResult) -> None:
        fields: dict[str, Any] = {
            "event": "type_finished",
            "type": result.key,
            "status": result.status,
            "objects": result.count,
            "requests": result.requests,
        }
        if result.mode:
            fields["mode"] = result.mode  # delta-capable types: full or incremental
        if result.error:
            fields["error"] = result.error.get("message", "")
            if result.error.get("permission"):
                fields["permission"] = result.error["permission"]
        self._emit(**fields)


class LiveProgress:
    """A live table per resource type: objects, requests, status; with throttling waits overall."""

    def __init__(self, console: Console, waits: Callable[[], tuple[int, float]]) -> None:
        self.console = console
        self.waits = waits
        self.rows: dict[str, dict[str, Any]] = {}
        self.started_at = time.monotonic()
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self._table())
        self.live.__exit__(None, None, None)

    def _table(self) -> Table:
        throttled, waited = self.waits()
        elapsed = time.monotonic() - self.started_at
        table = Table(
            title=f"snapshot — {elapsed:.0f}s, {throttled} throttled, {waited:.1f}s waiting",
            title_justify="left",
        )
        for column in ("type", "objects", "requests", "status"):
            table.add_column(column, justify="right" if column in {"objects", "requests"} else "left")
        for key, row in self.rows.items():
            status = row["status"]
            table.add_row(
                key,
                f"{row['objects']:,}",
                f"{row['requests']:,}",
                f"[{STATUS_STYLE.get(status, 'cyan')}]{status}[/]",
            )
        return table

    def started(self, rtype: ResourceType) -> None:
        self.rows[rtype.key] = {"objects": 0, "requests": 0, "status": "reading"}
        self.live.update(self._table())

    def advanced(self, rtype: ResourceType, objects: int, requests: int) -> None:
        row = self.rows.setdefault(rtype.key, {"objects": 0, "requests": 0, "status": "reading"})
        row["objects"] += objects
        row["requests"] = requests
        self.live.update(self._table())

    def finished(self, result: TypeResult) -> None:
        self.rows[result.key] = {
            "objects": result.count,
            "requests": result.requests,
            "status": result.status,
        }
        self.live.update(self._table())
