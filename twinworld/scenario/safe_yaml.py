"""Read scenario YAML within work limits: size, nesting and alias expansion are checked first.

A scenario file is read only if it is a regular file of at most :data:`MAX_SCENARIO_FILE_BYTES`;
its YAML events are then scanned once, without building anything, to enforce
:data:`MAX_YAML_DEPTH` and :data:`MAX_YAML_NODES` (counting what aliases expand to, so a "billion
laughs" file of one kilobyte is refused in milliseconds) and to find repeated keys. Only then is
the document built, with ``yaml.safe_load`` semantics (libyaml when available).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from twinworld.errors import Problem, ScenarioError
from twinworld.limits import MAX_SCENARIO_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

__all__ = ["load_yaml", "read_scenario_text", "scan_yaml"]



class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """yaml.safe_load's loader (libyaml when available), reading ``1e9`` as a number as YAML 1.2
    does (YAML 1.1 wants ``1.0e9`` and would give the string "1e9")."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))
_FAST = _Loader
#: Below this size a syntax error is re-parsed by the pure-Python parser for its wording.
_REWORD_BYTES = 1 << 20
_VALID_YAML = "YAML mappings like `key: value`, indented with spaces"


def _mib(size: int) -> str:
    return f"{size:,} bytes ({size / 2 ** 20:.3g} MiB)"


def read_scenario_text(source: str | Path) -> tuple[str, Path | None]:
    """The text of a scenario: YAML text itself (anything with a newline) or a file's content.

    Raises
    ------
    ScenarioError
        The file is missing, not a regular file (a folder, FIFO, device), larger than
        :data:`MAX_SCENARIO_FILE_BYTES`, unreadable, or not UTF-8.
    """
    if isinstance(source, str) and "\n" in source:
        if len(source) > MAX_SCENARIO_FILE_BYTES:
            raise ScenarioError.single(f"the scenario text is {_mib(len(source))}; scenario files are "
                                       f"limited to {_mib(MAX_SCENARIO_FILE_BYTES)} (see docs/limits.md)")
        return source, None
    file = Path(source)
    if "\x00" in str(source):
        raise ScenarioError.single("the file name contains a NUL character", file=repr(str(source)))
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise ScenarioError.single("file not found", file=file, valid="a path to a scenario .yaml "
                                   "file, e.g. scenarios/hospital_surge.yaml") from None
    except OSError as err:
        raise ScenarioError.single(f"cannot read it: {err.strerror or err}", file=file) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError.single("is a folder, not a scenario file", file=file)
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError.single("is not a regular file (a FIFO, device or socket); give a .yaml file",
                                   file=file)
    if info.st_size > MAX_SCENARIO_FILE_BYTES:
        raise ScenarioError.single(f"the file is {_mib(info.st_size)}; scenario files are limited to "
                                   f"{_mib(MAX_SCENARIO_FILE_BYTES)} (see docs/limits.md)", file=file)
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_SCENARIO_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError.single(f"cannot read it: {err.strerror or err}", file=file) from None
    if len(raw) > MAX_SCENARIO_FILE_BYTES:
        raise ScenarioError.single(f"the file grew beyond {_mib(MAX_SCENARIO_FILE_BYTES)} while being "
                                   "read; scenario files are limited to that", file=file)
    try:
        return raw.decode("utf-8-sig"), file
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ScenarioError.single(f"not UTF-8 text: byte 0x{raw[err.start]:02x} cannot be decoded; "
                                   "save the file as UTF-8", file=file, line=line) from None


@dataclass
class _Open:
    """A mapping or list being scanned."""

    path: str
    anchor: str | None
    is_mapping: bool
    size: int = 1
    expect_key: bool = True
    key: str | None = None
    items: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def child_path(self) -> str:
        part = self.key if self.is_mapping else str(self.items)
        return f"{self.path}.{part}" if self.path else str(part)


class _Scan:
    """One pass over the YAML events: depth, expanded size, repeated keys."""

    def __init__(self, file: str | Path | None) -> None:
        self.file = file
        self.stack: list[_Open] = []
        self.sizes: dict[str, int] = {}
        self.total = 0
        self.repeated: list[Problem] = []

    def fail(self, message: str, mark: Any, valid: str = "") -> ScenarioError:
        return ScenarioError.single(message, file=self.file, line=mark.line + 1,
                                    column=mark.column + 1, valid=valid)

    def add(self, size: int, mark: Any) -> None:
        self.total += size
        if self.total > MAX_YAML_NODES:
            raise self.fail(f"the YAML expands to more than {MAX_YAML_NODES:,} nodes (aliases "
                            "counted at their full size); scenario files are limited to that",
                            mark, valid="fewer repeated *aliases, or a smaller file")

    def item(self, size: int, event: Any, scalar_key: str | None) -> None:
        """A finished node of ``size`` nodes: count it and file it under its parent."""
        if not self.stack:
            return
        parent = self.stack[-1]
        parent.size += size
        if parent.is_mapping and parent.expect_key:
            parent.key = scalar_key if scalar_key is not None else "<key>"
            if scalar_key is not None:
                self._check_repeat(parent, scalar_key, event)
            parent.expect_key = False
            return
        parent.expect_key = True
        parent.items += 1

    def _check_repeat(self, parent: _Open, key: str, event: Any) -> None:
        line = event.start_mark.line + 1
        if key in parent.seen:
            path = f"{parent.path}.{key}" if parent.path else key
            self.repeated.append(Problem(f"key {key!r} appears twice (first at line {parent.seen[key]})",
                                         path, line, event.start_mark.column + 1, "each key once"))
        else:
            parent.seen[key] = line

    def event(self, event: Any) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self.add(1, event.start_mark)
            if event.anchor:
                self.sizes[event.anchor] = 1
            self.item(1, event, str(event.value))
        elif isinstance(event, yaml.AliasEvent):
            size = self.sizes.get(event.anchor)
            if size is None:
                open_anchors = {o.anchor for o in self.stack}
                why = "refers to a node that contains it" if event.anchor in open_anchors else \
                    "names no anchor defined before it"
                raise self.fail(f"alias *{event.anchor} {why}", event.start_mark,
                                valid="an alias to an earlier, complete &anchor")
            self.add(size, event.start_mark)
            self.item(size, event, None)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self.add(1, event.start_mark)
            path = self.stack[-1].child_path() if self.stack else ""
            self.stack.append(_Open(path, event.anchor, isinstance(event, yaml.MappingStartEvent)))
            if len(self.stack) > MAX_YAML_DEPTH:
                raise self.fail(f"mappings and lists nest more than {MAX_YAML_DEPTH} deep; "
                                "scenario files are limited to that", event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = self.stack.pop()
            if done.anchor:
                self.sizes[done.anchor] = done.size
            self.item(done.size, event, None)


def scan_yaml(text: str, file: str | Path | None) -> None:
    """Check depth, expanded size and repeated keys of YAML ``text`` without building it.

    Raises
    ------
    ScenarioError
        Too deep, too large once aliases are expanded, a bad alias, keys repeated, or a syntax error.
    """
    scan = _Scan(file)
    try:
        for event in yaml.parse(text, Loader=_FAST):
            scan.event(event)
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, file) from None
    if scan.repeated:
        raise ScenarioError(scan.repeated, file)


def load_yaml(text: str, file: str | Path | None) -> Any:
    """Build the data of YAML ``text`` that :func:`scan_yaml` accepted (safe_load semantics)."""
    try:
        return yaml.load(text, Loader=_FAST)
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, file) from None


def _syntax_error(err: yaml.YAMLError, text: str, file: str | Path | None) -> ScenarioError:
    if _FAST is not yaml.SafeLoader and len(text) <= _REWORD_BYTES:
        try:  # the pure-Python parser words its errors better; it fails at the same place
            for _ in yaml.parse(text, Loader=yaml.SafeLoader):
                pass
            yaml.safe_load(text)
        except yaml.YAMLError as python_err:
            err = python_err
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        message = f"YAML syntax error: {err.problem or err.context}"
        if err.context and err.problem:
            message += f" ({err.context})"
        return ScenarioError.single(message, file=file, line=mark.line + 1 if mark else None,
                                    column=mark.column + 1 if mark else None, valid=_VALID_YAML)
    position = getattr(err, "position", None)
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = getattr(err, "reason", "unreadable character")
        return ScenarioError.single(f"YAML error: {reason} (character #x{ord(text[position]):04x})"
                                    if position < len(text) else f"YAML error: {reason}",
                                    file=file, line=line, column=column, valid=_VALID_YAML)
    return ScenarioError.single(f"YAML error: {type(err).__name__}", file=file)
