"""Recorded telemetry, replayed deterministically: no broker, the file's clock, the same checks.

A replay file is JSON Lines, one received message a line, in the order received::

    {"time": "2026-03-02T06:00:00Z", "topic": "twinworld/<slug>/hospitals/state/Central",
     "payload": {"ward_occupied": 371, "icu_occupied": 30}}

``time`` is when the twin received it (the payload may carry its own observation ``time``);
``payload`` is the JSON message, or ``payload_text`` its raw text (to record malformed messages).
Each line goes through the same guard as a live message; a line that is not such a record is
quarantined with its line number. Rounds run at every ``every`` of the file's time from time 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from twinworld.errors import FeedError
from twinworld.twin.clock import parse_time
from twinworld.twin.guard import Limits, Reason, Rejection, parse_json
from twinworld.twin.live import LiveTwin, Pending
from twinworld.twin.store import Received

__all__ = ["ReplayLine", "read_replay", "replay", "write_replay"]

_SLACK_BYTES = 4096   # a line holds a payload plus its envelope
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplayLine:
    """One line: when it was received and the message (or why the line itself is bad)."""

    line: int
    time: datetime | None
    pending: Pending


def _line(number: int, raw: bytes, source: str, limits: Limits, last: datetime | None) -> ReplayLine:
    envelope = Limits(limits.max_bytes + _SLACK_BYTES, limits.max_depth + 1, limits.max_future_s)
    where = f"{source}:{number}"
    try:
        record = parse_json(raw, envelope)
        if not isinstance(record, dict):
            raise ValueError("a line must be an object with time, topic and payload")
        stamp = parse_time(str(record["time"]))
        topic = record["topic"]
        if not isinstance(topic, str):
            raise ValueError("topic must be text")
        if "payload_text" in record:
            payload = str(record["payload_text"]).encode("utf-8")
        else:
            payload = json.dumps(record["payload"], allow_nan=True).encode("utf-8")
    except (ValueError, KeyError, TypeError) as err:
        reason = getattr(err, "reason", Reason.MALFORMED)
        detail = f"replay line {number}: " + (f"missing {err}" if isinstance(err, KeyError) else str(err))
        received = Received(where, raw[:256], last or _EPOCH, "replay")
        return ReplayLine(number, None, Pending(received, verdict=Rejection(reason, detail[:300])))
    return ReplayLine(number, stamp, Pending(Received(topic, payload, stamp, "replay")))


def read_replay(path: str | Path, *, limits: Limits = Limits()) -> Iterator[ReplayLine]:
    """The lines of a replay file, in order (blank lines skipped).

    Raises
    ------
    FeedError
        The file cannot be read.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise FeedError(f"cannot read replay file {path}: {err.strerror}") from None
    last: datetime | None = None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                item = _line(number, raw.rstrip(b"\r\n"), path.name, limits, last)
                last = item.time or last
                yield item


def replay(twin: LiveTwin, path: str | Path, *, every_h: float, rounds: int = 0, batch: int = 500,
           on_round: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Play a file into ``twin``; a round at each ``every_h`` of file time (and at the end).

    ``rounds`` > 0 stops after that many rounds. Returns the rounds' recommendations.
    """
    results: list[dict[str, Any]] = []
    pending: list[Pending] = []
    next_round: datetime | None = None
    last: datetime | None = None

    def flush() -> None:
        if pending:
            twin.ingest(pending)
            pending.clear()

    def do_round(at: datetime) -> bool:
        flush()
        results.append(twin.round(at))
        if on_round is not None:
            on_round(results[-1])
        return bool(rounds) and len(results) >= rounds

    step = timedelta(hours=every_h)
    for item in read_replay(path, limits=twin.options.limits):
        if item.time is not None:
            if twin.clock is None:
                flush()
                pending.append(item.pending)
                flush()
                continue
            if next_round is None:
                next_round = twin.clock.time(twin.calibrator.until_h) + step
            while item.time > next_round:
                if do_round(next_round):
                    return results
                next_round += step
            last = max(last, item.time) if last else item.time
        pending.append(item.pending)
        if len(pending) >= batch:
            flush()
    flush()
    if last is not None and (not results or last > datetime.fromisoformat(results[-1]["state_time"])):
        do_round(last)
    return results


def write_replay(records: list[dict[str, Any]], path: str | Path) -> None:
    """Write records (``time``, ``topic``, ``payload`` or ``payload_text``) as a replay file."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
