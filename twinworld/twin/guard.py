"""Check one telemetry message, cheaply and in an order that no input can break.

Before parsing: the size (a 1 MB payload is refused unread) and the nesting depth (counted on the
raw bytes, so a message nested 100,000 deep never reaches the recursive JSON parser). Then JSON
with non-finite numbers (``NaN``, ``Infinity``, ``1e999``) and duplicate keys refused, the
reserved envelope keys ``time`` and ``id``, the topic, the element and finally the strict
pydantic model of the system's contract. Every refusal is a :class:`Rejection` with one
:class:`Reason` and a one-line detail; nothing here raises on bad input.
"""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from twinworld.twin.channels import SystemTelemetry, Telemetry
from twinworld.twin.topics import EVENT, Topic, parse_topic

__all__ = ["Reason", "Limits", "Message", "Rejection", "check_message", "check_body", "json_depth", "deeper_than",
           "parse_json"]


class Reason(enum.StrEnum):
    """Why a message was quarantined."""

    MALFORMED = "malformed"               # not UTF-8, not JSON, a duplicate key, not an object
    TOO_LARGE = "too_large"               # more bytes than Limits.max_bytes
    TOO_DEEP = "too_deep"                 # nested deeper than Limits.max_depth
    NON_FINITE = "non_finite"             # NaN, Infinity, or a number too large for a float
    UNKNOWN_TOPIC = "unknown_topic"       # not a telemetry topic, or a system the scenario lacks
    UNKNOWN_ELEMENT = "unknown_element"   # an element the system does not have
    UNKNOWN_KIND = "unknown_kind"         # an event kind the system does not have
    UNKNOWN_FIELD = "unknown_field"       # a field the contract does not have
    MISSING_FIELD = "missing_field"       # a required field left out
    WRONG_TYPE = "wrong_type"             # "12" for a count, 3.5 for a whole number, a list for an object
    OUT_OF_RANGE = "out_of_range"         # negative beds, a latitude of 95, more than the limit
    BAD_TIME = "bad_time"                 # a time that is not ISO 8601 with a zone, or in the future
    INTERNAL = "internal_error"           # a bug of the twin's own (the message is kept, the twin goes on)


@dataclass(frozen=True)
class Limits:
    """What a message may be."""

    max_bytes: int = 64 * 1024
    max_depth: int = 16
    max_future_s: float = 3600.0     # clock skew tolerated between a sensor and the twin


@dataclass(frozen=True)
class Message:
    """An accepted message, normalised.

    ``channel`` is ``state`` or ``event``; ``slot`` is what the latest-state table keys it by
    (``state`` for snapshots and element states, ``event:<facet>`` for events that change the state,
    ``event`` for observations); ``body`` is the validated payload without the envelope.
    """

    system: str
    channel: str
    element: str
    kind: str
    slot: str
    body: dict[str, Any]
    observed_at: datetime
    message_id: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A quarantined message: the reason and a one-line detail."""

    reason: Reason
    detail: str
    system: str = ""
    element: str = ""


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def deeper_than(data: bytes, limit: int) -> bool:
    """Whether JSON text nests deeper than ``limit``, without parsing it (fast when it cannot)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    return json_depth(data, limit) > limit


def json_depth(data: bytes, limit: int) -> int:
    """Nesting depth of JSON text without parsing it, counting only up to ``limit + 1``."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
        else:
            depth -= 1
    return deepest


class _Refused(ValueError):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _constant(name: str) -> float:
    raise _Refused(Reason.NON_FINITE, f"{name} is not a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(Reason.NON_FINITE, f"{text[:40]} does not fit a finite number")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(Reason.MALFORMED, f"key {key[:60]!r} appears twice")
        found[key] = value
    return found


def parse_json(payload: bytes, limits: Limits) -> Any:
    """Parse a payload within the limits, raising :class:`_Refused` (a ValueError) with the reason."""
    if len(payload) > limits.max_bytes:
        raise _Refused(Reason.TOO_LARGE, f"{len(payload):,} bytes; at most {limits.max_bytes:,}")
    if deeper_than(payload, limits.max_depth):
        raise _Refused(Reason.TOO_DEEP, f"nested more than {limits.max_depth} deep")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Refused(Reason.MALFORMED, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_pairs)
    except _Refused:
        raise
    except (ValueError, RecursionError) as err:
        raise _Refused(Reason.MALFORMED, f"not JSON: {str(err)[:120]}") from None


def _time(value: Any, received_at: datetime, limits: Limits) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Refused(Reason.BAD_TIME, f"time must be ISO 8601 text or unix seconds; got {type(value).__name__}")
    try:
        stamp = (datetime.fromtimestamp(value, UTC) if not isinstance(value, str)
                 else datetime.fromisoformat(value))
    except (ValueError, OverflowError, OSError):
        raise _Refused(Reason.BAD_TIME, f"time {str(value)[:40]!r} is not ISO 8601 "
                                        "(e.g. 2026-03-02T06:00:00Z) or unix seconds") from None
    if stamp.tzinfo is None:
        raise _Refused(Reason.BAD_TIME, f"time {value!r} has no time zone (add Z or +hh:mm)")
    stamp = stamp.astimezone(UTC)
    if not _EARLIEST <= stamp < _LATEST:
        raise _Refused(Reason.BAD_TIME, f"time {stamp.isoformat()} is outside 2000..2100")
    if stamp > received_at + timedelta(seconds=limits.max_future_s):
        raise _Refused(Reason.BAD_TIME, f"time {stamp.isoformat()} is in the future (received "
                                        f"{received_at.isoformat()})")
    return stamp


def _envelope(data: Any, received_at: datetime, limits: Limits) -> tuple[dict[str, Any], datetime, str | None]:
    if not isinstance(data, dict):
        raise _Refused(Reason.WRONG_TYPE, f"payload must be a JSON object, not {type(data).__name__}")
    body = dict(data)
    stamp = _time(body.pop("time"), received_at, limits) if "time" in body else received_at
    message_id = body.pop("id", None)
    if message_id is not None and (not isinstance(message_id, str) or not 0 < len(message_id) <= 200):
        raise _Refused(Reason.WRONG_TYPE, "id must be text of 1..200 characters")
    return body, stamp, message_id


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_long",
                 "too_short", "string_too_long", "string_too_short"}


def _validation(err: ValidationError) -> _Refused:
    first = err.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    kind = first["type"]
    shown = repr(first.get("input"))[:60]
    if kind == "finite_number":
        return _Refused(Reason.NON_FINITE, f"{where}: not a finite number")
    if kind in _RANGE_ERRORS:
        return _Refused(Reason.OUT_OF_RANGE, f"{where}: {first['msg'].lower()}; got {shown}")
    if kind == "extra_forbidden":
        return _Refused(Reason.UNKNOWN_FIELD, f"unknown field {where!r}")
    if kind == "missing":
        return _Refused(Reason.MISSING_FIELD, f"missing field {where!r}")
    if kind == "value_error" and "at least one" in first["msg"]:
        return _Refused(Reason.MISSING_FIELD, first["msg"].removeprefix("Value error, "))
    return _Refused(Reason.WRONG_TYPE, f"{where}: {first['msg'].lower()}; got {shown}")


def _validate(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(body, strict=True)
    except ValidationError as err:
        raise _validation(err) from None
    except RecursionError:
        raise _Refused(Reason.TOO_DEEP, "nested too deep to validate") from None


def _names_in(spec: SystemTelemetry, state: BaseModel) -> None:
    """Every element a whole-state message names must be one the system has."""
    for item in spec.fields:
        value = getattr(state, item.name)
        for name in (value if item.shape == "list" else list(value)):
            if not spec.is_known(item.element_type, name):
                raise _Refused(Reason.UNKNOWN_ELEMENT, f"{item.name}: {spec.system} has no "
                                                       f"{item.element_type} {name[:60]!r}")


def check_body(spec: SystemTelemetry, topic: Topic, body: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """Validate a payload body against the system's contract: ``(kind, slot, element, body)``."""
    if topic.channel == EVENT:
        kind = body.get("kind")
        if kind is None:
            raise _Refused(Reason.MISSING_FIELD, "missing field 'kind'")
        model = spec.events.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise _Refused(Reason.UNKNOWN_KIND, f"{spec.system} ({spec.kind}) has no event kind "
                                                f"{str(kind)[:60]!r}; valid: {', '.join(spec.events) or '(none)'}")
        event = _validate(model, body)
        element = event.element()  # type: ignore[attr-defined]
        if not spec.is_known(model.element_type, element):
            raise _Refused(Reason.UNKNOWN_ELEMENT, f"{spec.system} has no {model.element_type} {element[:60]!r}")
        slot = f"event:{model.facet}" if model.facet else "event"
        return kind, slot, element, event.model_dump(mode="json")
    if not topic.element:
        state = _validate(spec.observable, body)
        _names_in(spec, state)
        return "state", "state", "", state.model_dump(mode="json")
    element_type = spec.type_of(topic.element)
    if element_type is None:
        types = ", ".join(spec.element_types()) or "none"
        raise _Refused(Reason.UNKNOWN_ELEMENT, f"{spec.system} has no element {topic.element[:60]!r} "
                                               f"(element types with telemetry: {types})")
    part = _validate(spec.element_model(element_type), body)
    return "element", "state", topic.element, part.model_dump(mode="json", exclude_unset=True)


def check_message(topic: str, payload: bytes, telemetry: Telemetry, *, prefix: str,
                  received_at: datetime, limits: Limits = Limits()) -> Message | Rejection:
    """Check one message from ``topic``: a :class:`Message` to store, or a :class:`Rejection`."""
    parsed = parse_topic(topic, prefix)
    system, element = (parsed.system, parsed.element) if isinstance(parsed, Topic) else ("", "")
    try:
        data = parse_json(payload, limits)
        body, observed_at, message_id = _envelope(data, received_at, limits)
        if not isinstance(parsed, Topic):
            raise _Refused(Reason.UNKNOWN_TOPIC, parsed)
        spec = telemetry.get(parsed.system)
        if spec is None:
            raise _Refused(Reason.UNKNOWN_TOPIC, f"no system {parsed.system[:60]!r} with telemetry; systems: "
                                                 f"{', '.join(telemetry.systems) or '(none)'}")
        kind, slot, element, clean = check_body(spec, parsed, body)
    except _Refused as refused:
        return Rejection(refused.reason, str(refused), system, element)
    return Message(parsed.system, parsed.channel, element, kind, slot, clean, observed_at, message_id)
