"""The twin's memory: every message it received and the latest state, in one DuckDB file.

Tables (times are UTC):

- ``messages``: one row per distinct message received, in receive order (``seq``): topic, system,
  element, kind, ``status`` (``stored`` or ``quarantined``), the reason and detail of a quarantine,
  the validated body (JSON text) of a stored message or an excerpt of a quarantined one;
- ``latest``: per system, slot and element, the newest stored message that changes the state;
- ``counters``: duplicates seen (a message redelivered after a reconnect or a crash);
- ``meta``: the scenario, topic prefix and the twin clock's time 0;
- ``rounds``: each forecast round's recommendation and the particle filter after it.

A batch of messages is written in one transaction, and the MQTT feed acknowledges the messages
only after the commit: a twin killed at any moment loses nothing (the broker redelivers what was
not acknowledged) and counts nothing twice (a redelivered message has the same key and is counted
as a duplicate). Keys are the message's ``id`` when it has one, else a hash of topic and payload.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from twinworld.errors import TwinworldError
from twinworld.twin.guard import Message, Rejection

__all__ = ["TwinStore", "Received", "Outcome", "BatchResult", "StoreError", "message_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq BIGINT PRIMARY KEY, key VARCHAR NOT NULL UNIQUE, received_at TIMESTAMP NOT NULL,
    observed_at TIMESTAMP, source VARCHAR, topic VARCHAR, system VARCHAR, channel VARCHAR,
    kind VARCHAR, element VARCHAR, status VARCHAR NOT NULL, reason VARCHAR, detail VARCHAR,
    body VARCHAR, excerpt VARCHAR, size_bytes BIGINT);
CREATE TABLE IF NOT EXISTS latest (
    system VARCHAR, slot VARCHAR, element VARCHAR, seq BIGINT, observed_at TIMESTAMP,
    received_at TIMESTAMP, kind VARCHAR, body VARCHAR, PRIMARY KEY (system, slot, element));
CREATE TABLE IF NOT EXISTS counters (name VARCHAR PRIMARY KEY, value BIGINT);
CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, state_time TIMESTAMP, created_at TIMESTAMP, recommendation VARCHAR,
    filter BLOB);
"""
_EXCERPT_CHARS = 200
_COLUMNS = ("seq", "key", "received_at", "observed_at", "source", "topic", "system", "channel", "kind",
            "element", "status", "reason", "detail", "body", "excerpt", "size_bytes")
_TYPES = {"seq": pa.int64(), "received_at": pa.timestamp("us"), "observed_at": pa.timestamp("us"),
          "size_bytes": pa.int64(), **{name: pa.string() for name in ("key", "source", "topic", "system",
                                       "channel", "kind", "element", "status", "reason", "detail", "body",
                                       "excerpt")}}


class StoreError(TwinworldError, RuntimeError):
    """The twin's store cannot be opened or belongs to another scenario."""


@dataclass(frozen=True)
class Received:
    """One message as it arrived: where from, when, and its raw bytes."""

    topic: str
    payload: bytes
    received_at: datetime
    source: str = "mqtt"


@dataclass(frozen=True)
class Outcome:
    """A received message and what the guard made of it."""

    received: Received
    result: Message | Rejection


@dataclass
class BatchResult:
    """What one write did: new messages stored (with their ``seq``) and quarantined, duplicates skipped."""

    stored: list[tuple[int, Outcome]] = field(default_factory=list)
    quarantined: list[Outcome] = field(default_factory=list)
    duplicates: int = 0


def message_key(outcome: Outcome) -> str:
    """The dedupe key: topic and the publisher's ``id`` when given, else topic and payload bytes."""
    digest = hashlib.sha256(outcome.received.topic.encode("utf-8", "replace") + b"\0")
    result = outcome.result
    if isinstance(result, Message) and result.message_id is not None:
        digest.update(b"id\0" + result.message_id.encode())
    else:
        digest.update(b"bytes\0" + outcome.received.payload)
    return digest.hexdigest()


def _naive(stamp: datetime | None) -> datetime | None:
    return None if stamp is None else stamp.astimezone(UTC).replace(tzinfo=None)


def _row(seq: int, key: str, outcome: Outcome) -> tuple[Any, ...]:
    """The ``messages`` row of one new message, in :data:`_COLUMNS` order."""
    got, result = outcome.received, outcome.result
    size = len(got.payload)
    if isinstance(result, Message):
        return (seq, key, _naive(got.received_at), _naive(result.observed_at), got.source, got.topic, result.system,
                result.channel, result.kind, result.element, "stored", None, None, json.dumps(result.body), None, size)
    return (seq, key, _naive(got.received_at), None, got.source, got.topic, result.system, None, None,
            result.element, "quarantined", str(result.reason), result.detail, None, _excerpt(got.payload), size)


def _excerpt(payload: bytes) -> str:
    return payload[:_EXCERPT_CHARS].decode("utf-8", "replace")


class TwinStore:
    """A twin's DuckDB file: message history, latest state, rounds.

    Parameters
    ----------
    path
        The database file (created if missing). ``":memory:"`` keeps it in memory (tests).
    read_only
        Open an existing file for reading only (while no twin writes to it).

    Examples
    --------
    >>> store = TwinStore(":memory:")
    >>> store.counts()["received"]
    0
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = str(path)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
            if not read_only:
                self._con.execute(_SCHEMA)
        except duckdb.Error as err:
            raise StoreError(f"cannot open the twin store {self.path}: {err}") from err
        self._lock = threading.Lock()
        row = self._con.execute("SELECT max(seq) FROM messages").fetchone() if self._has("messages") else None
        self._next_seq = int(row[0]) + 1 if row and row[0] is not None else 0

    def _has(self, table: str) -> bool:
        found = self._con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                  [table]).fetchone()
        return bool(found and found[0])

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> "TwinStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- writing --
    def record(self, outcomes: Iterable[Outcome]) -> BatchResult:
        """Store a batch in one transaction, skipping messages already stored (by key)."""
        items = list(outcomes)
        result = BatchResult()
        if not items:
            return result
        keys = [message_key(o) for o in items]
        with self._lock:
            self._con.begin()
            try:
                known = self._known(keys)
                fresh: list[tuple[str, Outcome]] = []
                for key, outcome in zip(keys, items):
                    if key in known:
                        result.duplicates += 1
                        continue
                    known.add(key)
                    if isinstance(outcome.result, Message):
                        result.stored.append((self._next_seq + len(fresh), outcome))
                    else:
                        result.quarantined.append(outcome)
                    fresh.append((key, outcome))
                self._insert(fresh)
                if result.duplicates:
                    self._con.execute("INSERT INTO counters VALUES ('duplicates', ?) ON CONFLICT (name) "
                                      "DO UPDATE SET value = counters.value + excluded.value", [result.duplicates])
                self._con.commit()
            except BaseException:
                self._con.rollback()
                raise
            self._next_seq += len(fresh)
        return result

    def _known(self, keys: list[str]) -> set[str]:
        self._con.register("batch_keys", pa.table({"key": pa.array(keys, pa.string())}))
        try:
            return {r[0] for r in self._con.execute(
                "SELECT m.key FROM messages m JOIN batch_keys b ON m.key = b.key").fetchall()}
        finally:
            self._con.unregister("batch_keys")

    def _insert(self, fresh: list[tuple[str, Outcome]]) -> None:
        """Append the rows (an Arrow table: no pandas on the hot path) and upsert the latest state."""
        if not fresh:
            return
        columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        latest: dict[tuple[str, str, str], int] = {}
        for offset, (key, outcome) in enumerate(fresh):
            values = _row(self._next_seq + offset, key, outcome)
            for name, value in zip(_COLUMNS, values):
                columns[name].append(value)
            result = outcome.result
            if isinstance(result, Message) and result.slot != "event":
                slot = (result.system, result.slot, result.element)
                old = latest.get(slot)
                if old is None or (columns["observed_at"][old], columns["seq"][old]) <= (values[3], values[0]):
                    latest[slot] = offset
        table = pa.table({name: pa.array(columns[name], type=_TYPES[name]) for name in _COLUMNS})
        self._con.register("batch_rows", table)
        try:
            self._con.execute(f"INSERT INTO messages SELECT {', '.join(_COLUMNS)} FROM batch_rows")
            if latest:
                index = pa.array(sorted(latest.values()), pa.int64())
                slots = [getattr(fresh[i][1].result, "slot", None) for i in index.to_pylist()]
                newest = table.take(index).append_column("slot", pa.array(slots, pa.string()))
                self._con.register("batch_latest", newest)
                self._con.execute(
                    "INSERT INTO latest SELECT system, slot, element, seq, observed_at, received_at, kind, body "
                    "FROM batch_latest ON CONFLICT (system, slot, element) DO UPDATE SET seq = excluded.seq, "
                    "observed_at = excluded.observed_at, received_at = excluded.received_at, "
                    "kind = excluded.kind, body = excluded.body WHERE excluded.observed_at > latest.observed_at "
                    "OR (excluded.observed_at = latest.observed_at AND excluded.seq > latest.seq)")
                self._con.unregister("batch_latest")
        finally:
            self._con.unregister("batch_rows")

    # -------------------------------------------------------------------------- reading --
    def _frame(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            frame = self._con.execute(sql, params or []).df()
        for column in ("received_at", "observed_at", "state_time", "created_at"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
        return frame

    def latest(self) -> pd.DataFrame:
        """The newest state-changing message per system, slot and element, oldest first."""
        return self._frame("SELECT system, slot, element, kind, observed_at, received_at, seq, body "
                           "FROM latest ORDER BY observed_at, seq")

    def history(self, system: str | None = None, *, since: datetime | None = None,
                until: datetime | None = None, kind: str | None = None) -> pd.DataFrame:
        """Stored messages (optionally of one system and kind), by observation time, in ``(since, until]``."""
        where, params = ["status = 'stored'"], []
        for column, op, value in (("system", "=", system), ("kind", "=", kind),
                                  ("observed_at", ">", _naive(since)), ("observed_at", "<=", _naive(until))):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        return self._frame("SELECT seq, received_at, observed_at, source, topic, system, channel, kind, element, "
                           f"body FROM messages WHERE {' AND '.join(where)} ORDER BY observed_at, seq", params)

    def unused(self, *, until: datetime, after_seq: int, after: datetime | None) -> pd.DataFrame:
        """Stored messages a calibration round at ``until`` has not used yet: observed by ``until``
        and either received after message ``after_seq`` or observed after ``after`` (the last round)."""
        where = "status = 'stored' AND observed_at <= ? AND (seq > ?" + (" OR observed_at > ?)" if after else ")")
        params: list[Any] = [_naive(until), after_seq] + ([_naive(after)] if after else [])
        return self._frame("SELECT seq, observed_at, system, kind, element, body FROM messages WHERE "
                           f"{where} ORDER BY observed_at, seq", params)

    def max_seq(self) -> int:
        """The newest message's ``seq`` (-1 when empty)."""
        return self._next_seq - 1

    def quarantine(self) -> pd.DataFrame:
        """Quarantined messages in receive order: topic, reason, detail, an excerpt, the size."""
        return self._frame("SELECT seq, received_at, source, topic, system, element, reason, detail, excerpt, "
                           "size_bytes FROM messages WHERE status = 'quarantined' ORDER BY seq")

    def counts(self) -> dict[str, Any]:
        """``received`` (= stored + quarantined + duplicates), ``stored``, ``quarantined``,
        ``duplicates`` and quarantined ``by_reason``."""
        with self._lock:
            rows = dict(self._con.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall())
            reasons = dict(self._con.execute("SELECT reason, count(*) FROM messages WHERE status = "
                                             "'quarantined' GROUP BY reason ORDER BY reason").fetchall())
            dup = self._con.execute("SELECT value FROM counters WHERE name = 'duplicates'").fetchone()
        stored, quarantined, duplicates = rows.get("stored", 0), rows.get("quarantined", 0), dup[0] if dup else 0
        return {"received": stored + quarantined + duplicates, "stored": stored, "quarantined": quarantined,
                "duplicates": duplicates, "by_reason": {str(k): int(v) for k, v in reasons.items()}}

    def last_observed(self) -> datetime | None:
        """The newest observation time stored."""
        with self._lock:
            row = self._con.execute("SELECT max(observed_at) FROM messages WHERE status = 'stored'").fetchone()
        return None if not row or row[0] is None else row[0].replace(tzinfo=UTC)

    # --------------------------------------------------------------------- meta, rounds --
    def meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._con.execute("SELECT name, value FROM meta").fetchall())

    def set_meta(self, **values: str) -> None:
        with self._lock:
            for name, value in values.items():
                self._con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = "
                                  "excluded.value", [name, str(value)])

    def save_round(self, number: int, state_time: datetime, recommendation: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> None:
        """Keep a round's recommendation and the filter's arrays (loaded back without pickle)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first keyword
        with self._lock:
            self._con.execute("INSERT INTO rounds VALUES (?, ?, ?, ?, ?) ON CONFLICT (round) DO UPDATE SET "
                              "state_time = excluded.state_time, created_at = excluded.created_at, "
                              "recommendation = excluded.recommendation, filter = excluded.filter",
                              [number, _naive(state_time), _naive(datetime.now(UTC)),
                               json.dumps(recommendation), buffer.getvalue()])

    def rounds(self) -> pd.DataFrame:
        """Every round: number, state time, when it ran, the recommendation (parsed JSON)."""
        frame = self._frame("SELECT round, state_time, created_at, recommendation FROM rounds ORDER BY round")
        frame["recommendation"] = frame["recommendation"].map(json.loads)
        return frame

    def last_round(self) -> tuple[int, datetime, dict[str, np.ndarray]] | None:
        """The newest round's number, state time and filter arrays, or None."""
        with self._lock:
            row = self._con.execute("SELECT round, state_time, filter FROM rounds ORDER BY round DESC "
                                    "LIMIT 1").fetchone()
        if row is None:
            return None
        with np.load(io.BytesIO(row[2]), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        return int(row[0]), row[1].replace(tzinfo=UTC), arrays
