"""The live twin's MQTT topic layout.

Everything lives under one prefix, ``twinworld/<scenario slug>`` by default::

    <prefix>/<system>/state              the system's whole observable state (a snapshot)
    <prefix>/<system>/state/<element>    one element's part of it (a hospital, a berth, a bus ...)
    <prefix>/<system>/event              an event (line tripped, road closed, admissions ...)
    <prefix>/twin/recommendation         published by the twin, retained: the ranked strategies
    <prefix>/twin/status                 published by the twin, retained: its health and counts

The slug is the scenario's name in lower case with every run of other characters turned into one
``-`` (``"Flu wave across the region's hospitals"`` -> ``flu-wave-across-the-region-s-hospitals``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Topic", "slug", "default_prefix", "parse_topic", "subscriptions", "RECOMMENDATION",
           "STATUS", "STATE", "EVENT"]

STATE = "state"
EVENT = "event"
RECOMMENDATION = "twin/recommendation"
STATUS = "twin/status"
MAX_TOPIC_CHARS = 512


def slug(name: str) -> str:
    """``"Storm cascade from the grid"`` -> ``"storm-cascade-from-the-grid"`` (never empty)."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text or "scenario"


def default_prefix(scenario_name: str) -> str:
    return f"twinworld/{slug(scenario_name)}"


@dataclass(frozen=True)
class Topic:
    """A telemetry topic taken apart: which system, which channel, which element (may be "")."""

    system: str
    channel: str
    element: str = ""


def parse_topic(topic: str, prefix: str) -> Topic | str:
    """The parts of a telemetry topic under ``prefix``, or a sentence saying why it is not one."""
    if len(topic) > MAX_TOPIC_CHARS:
        return f"topic longer than {MAX_TOPIC_CHARS} characters"
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return f"topic {topic!r} is not under {prefix!r}"
    parts = topic[len(head):].split("/")
    if len(parts) >= 2 and parts[1] == STATE:
        element = "/".join(parts[2:])
        if len(parts) > 2 and not element:
            return f"topic {topic!r} names an empty element"
        return Topic(parts[0], STATE, element)
    if len(parts) == 2 and parts[1] == EVENT:
        return Topic(parts[0], EVENT)
    return (f"topic {topic!r} is not <prefix>/<system>/state, <prefix>/<system>/state/<element> "
            f"or <prefix>/<system>/event")


def subscriptions(prefix: str) -> list[str]:
    """The topic filters the twin subscribes to (``state/#`` also matches ``state`` itself)."""
    return [f"{prefix}/+/{STATE}/#", f"{prefix}/+/{EVENT}"]
