"""Opening data files safely: regular files only, size-capped, decoded with a clear error.

Every feed reads its file through :func:`check_file` (or :func:`read_text`), so a FIFO, a device
such as ``/dev/zero``, a folder or an oversized file is refused before a byte is read, and a wrong
text encoding is a one-line error. Error messages name the file, never its content:
:func:`describe_error` strips the quoted fragments third-party parsers put in their messages.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from twinworld.errors import FeedError

__all__ = ["check_file", "describe_error", "read_bytes", "read_text", "size_text"]

_QUOTED = re.compile(r"""'[^'\n]*'|"[^"\n]*"|b'[^'\n]*'""")


def size_text(size: float) -> str:
    """Bytes as people read them: 512 B, 3.2 KiB, 16 MiB, 1.5 GiB."""
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} B"


def check_file(path: str | Path, *, max_bytes: int, what: str = "data file") -> Path:
    """``path`` if it is a regular file of at most ``max_bytes``; else a :class:`FeedError`.

    Parameters
    ----------
    path
        The file (symbolic links are followed).
    max_bytes
        The size limit (see :mod:`twinworld.limits`).
    what
        How messages name the file's kind, e.g. ``"census CSV"``.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FeedError(f"{what} {path.name!r} not found") from None
    except (OSError, ValueError) as err:
        raise FeedError(f"{what} {path.name!r} cannot be read: {getattr(err, 'strerror', None) or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FeedError(f"{what} {path.name!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FeedError(f"{what} {path.name!r} is not a regular file (a FIFO, device or socket)")
    if info.st_size > max_bytes:
        raise FeedError(f"{what} {path.name!r} is {size_text(info.st_size)}; such files are limited to "
                        f"{size_text(max_bytes)} (see docs/limits.md)")
    return path


def read_bytes(path: str | Path, *, max_bytes: int, what: str = "data file") -> bytes:
    """The bytes of a checked regular file, reading at most ``max_bytes`` (a growing file is an error)."""
    path = check_file(path, max_bytes=max_bytes, what=what)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the check, open does not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FeedError(f"{what} {path.name!r} is not a regular file (a FIFO, device or socket)")
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise FeedError(f"{what} {path.name!r} cannot be read: {err.strerror or err}") from None
    if len(data) > max_bytes:
        raise FeedError(f"{what} {path.name!r} grew beyond {size_text(max_bytes)} while being read")
    return data


def read_text(path: str | Path, *, max_bytes: int, what: str = "data file") -> str:
    """The text of a checked regular file, decoded as UTF-8 (a byte-order mark is allowed).

    Raises
    ------
    FeedError
        Not a regular file, too large, unreadable, or not UTF-8 (naming the line of the first
        undecodable byte, not the byte's context).
    """
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise FeedError(f"{what} {Path(path).name!r} is not UTF-8 text: byte 0x{data[err.start]:02x} "
                        f"on line {line} cannot be decoded; save the file as UTF-8") from None


def describe_error(err: BaseException, *, limit: int = 160) -> str:
    """``Type: message`` of a parser's exception, with quoted fragments (file content) removed."""
    message = _QUOTED.sub("'…'", str(err)).replace("\n", " ").strip()
    if len(message) > limit:
        message = message[:limit - 1] + "…"
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
