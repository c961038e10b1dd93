"""A per-process cache for heavy static inputs (road graphs, PTDF matrices).

A run stays a pure function: it asks for a static input by a content key (for example the hash of
the source file plus the options that shape it), and the first run in a worker process builds it;
later runs in the same process reuse it. The cache belongs to the process, never to a run's results.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["StaticCache", "static", "file_digest"]

T = TypeVar("T")


class StaticCache:
    """Build-once store keyed by content; thread-safe; bounded by entry count."""

    def __init__(self, max_entries: int = 32) -> None:
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.builds = 0

    def get(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = build()
        with self._lock:
            if len(self._items) >= self.max_entries:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value
            self.builds += 1
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_PROCESS_CACHE = StaticCache()


def static(key: str, build: Callable[[], T]) -> T:
    """Return the process-wide static input ``key``, building it on first use."""
    return _PROCESS_CACHE.get(key, build)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: the content half of a static-input key."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
