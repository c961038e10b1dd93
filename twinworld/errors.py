"""The exceptions twinworld raises on purpose.

Every error a user can cause derives from :class:`TwinworldError`; errors about input also derive
from :class:`ValueError` so generic code can catch them. A :class:`ScenarioError` carries where the
problem is (file, line, column, field path) and what would be valid, and renders as one readable
message without a traceback.
"""

from __future__ import annotations

import difflib
import errno
import re
from dataclasses import dataclass, field
from pathlib import Path

from twinworld.limits import MAX_PROBLEMS_SHOWN

__all__ = [
    "TwinworldError",
    "ScenarioError",
    "Problem",
    "FeedError",
    "UnknownKindError",
    "SweepError",
    "OutputError",
    "output_error",
    "name_list",
]


class TwinworldError(Exception):
    """Base class of every error twinworld raises on purpose.

    ``exit_code`` is what the command line exits with: 2 for what the user gave (a scenario, an
    option, a folder another sweep holds), 1 for an output that could not be written.
    """

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is and what would be right."""

    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    valid: str = ""

    def render(self, file: str | Path | None) -> str:
        where = _printable(str(file)) if file is not None else "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.path:
            text += f"{_printable(self.path)}: "
        text += _printable(self.message, keep="\n")
        if self.valid:
            text += f" (valid: {_printable(self.valid)})"
        return text


def _printable(text: str, keep: str = "") -> str:
    """``text`` with control and other non-printable characters escaped (``\\x1e``), so that a
    name written with one cannot break an error's line or forge another."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else ascii(ch)[1:-1] for ch in text)


@dataclass
class ScenarioError(TwinworldError, ValueError):
    """A scenario file is missing, malformed or inconsistent.

    Parameters
    ----------
    problems
        Everything found wrong, each with its location.
    file
        The scenario file, if the scenario came from one.
    """

    problems: list[Problem] = field(default_factory=list)
    file: str | Path | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = [p.render(self.file) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            shown.append(f"... and {hidden:,} more problem(s)")
        return "\n".join(shown) or "invalid scenario"

    @property
    def first(self) -> Problem:
        return self.problems[0]

    @classmethod
    def single(cls, message: str, *, file: str | Path | None = None, path: str = "",
               line: int | None = None, column: int | None = None, valid: str = "") -> "ScenarioError":
        return cls([Problem(message, path, line, column, valid)], file)


class UnknownKindError(TwinworldError, KeyError):
    """A system, disruption or strategy ``kind`` that no plugin provides."""

    def __init__(self, kind: str, known: list[str], what: str = "system kind") -> None:
        self.kind, self.known, self.what = kind, sorted(known), what
        super().__init__(kind)

    def __str__(self) -> str:
        return f"unknown {self.what} {self.kind!r}; known: {', '.join(self.known) or '(none)'}"


class FeedError(TwinworldError, ValueError):
    """A data feed could not be read at all (a bad single record is quarantined instead)."""


class SweepError(TwinworldError, RuntimeError):
    """A sweep could not be set up or its result folder is inconsistent."""


class OutputError(TwinworldError, OSError):
    """An output file or folder could not be written: read-only, full disk, a file in the way.

    Finished work already saved stays saved; the message names the path. Exit code 1.
    """

    exit_code = 1

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot write output"


def output_error(path: str | Path, err: OSError, *, doing: str = "write") -> OutputError:
    """An :class:`OutputError` for ``err`` raised while writing ``path`` (chain it ``from err``)."""
    reason = err.strerror or type(err).__name__
    where = err.filename if isinstance(err.filename, str) and err.filename else str(path)
    if err.errno == errno.ENOENT and not Path(where).parent.exists():
        reason = f"its folder {Path(where).parent} does not exist"
    error = OutputError(f"cannot {doing} {where}: {reason}")
    error.errno, error.filename = err.errno, where
    return error
def name_list(names: list[str], *, wrong: str | None = None, limit: int = 12) -> str:
    """Names for a ``valid:`` hint: runs of numbered ids compacted (``L0..L8``), at most ``limit``
    items, the closest matches to ``wrong`` first when not all fit.

    >>> name_list(["L0", "L1", "L2", "T0", "hub"])
    'L0..L2, T0, hub'
    """
    parts = _ranges(names)
    if len(parts) <= limit:
        return ", ".join(parts)
    close = difflib.get_close_matches(wrong, names, n=3, cutoff=0.6) if wrong else []
    shown = close + [p for p in parts if p not in close][:limit - len(close)]
    return ", ".join(shown) + f", ... ({len(names)} in all)"


def _ranges(ids: list[str]) -> list[str]:
    """``["L0", "L1", "L2", "T0"]`` -> ``["L0..L2", "T0"]`` (runs of one prefix, consecutive numbers)."""
    parts: list[str] = []
    run: list[tuple[str, int]] = []

    def flush() -> None:
        if run:
            (p, a), (_, b) = run[0], run[-1]
            parts.extend([f"{p}{a}", f"{p}{b}"][:b - a + 1] if b - a < 2 else [f"{p}{a}..{p}{b}"])
            run.clear()

    for item in ids:
        match = re.fullmatch(r"(.*?)(\d+)", item)
        if match is None:
            flush()
            parts.append(item)
            continue
        prefix, number = match.group(1), int(match.group(2))
        if run and (run[-1][0] != prefix or run[-1][1] + 1 != number):
            flush()
        run.append((prefix, number))
    flush()
    return parts
