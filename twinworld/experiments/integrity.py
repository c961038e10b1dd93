"""Keeping a results folder whole: one writer at a time, durable part files, damaged ones set aside.

- :class:`FolderLock`: an exclusive ``flock`` on ``DIR/.lock`` held by the one process writing
  the folder; a second writer gets a :class:`~twinworld.errors.SweepError` at once, naming the
  holder. The operating system releases the lock when the holder dies, so no stale lock remains.
- :func:`write_durable`: a file written under a temporary name, flushed to disk, then renamed: a
  crash leaves either the old state or the whole new file.
- :func:`check_part` / :func:`quarantine`: a part file that does not read back (truncated,
  overwritten, bad page checksums) is moved to ``DIR/quarantine/``; its runs are then missing and
  a resumed sweep computes them again.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from twinworld.errors import SweepError, output_error
from twinworld.feeds.safe_files import describe_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: an exclusive-create lock file instead
    fcntl = None  # type: ignore[assignment]

__all__ = ["REQUIRED_PART_COLUMNS", "FolderLock", "check_part", "quarantine", "write_durable"]

REQUIRED_PART_COLUMNS = ("run_id", "status")


class FolderLock:
    """An exclusive lock on a results folder for as long as one process writes it.

    Parameters
    ----------
    folder
        The results folder (must exist).

    Raises
    ------
    SweepError
        Another process holds the lock (exit code 2 on the command line).
    OutputError
        The lock file cannot be created (a read-only folder).
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / ".lock"
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL), 0o644)
        except FileExistsError:
            raise self._held() from None
        except OSError as err:
            raise output_error(self.path, err) from err
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._held() from None
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
        except OSError:
            pass  # the lock holds without its note; a full disk must not stop a resume

    def _held(self) -> SweepError:
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        who = (f" (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"
               if info.get("pid") else "")
        return SweepError(f"{self.path.parent} is being written by another sweep{who}; wait for it "
                          "to finish or write to another folder")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if fcntl is None:  # pragma: no cover
            self.path.unlink(missing_ok=True)
        os.close(fd)  # closing the descriptor releases the flock

    @property
    def held(self) -> bool:
        return self._fd is not None


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_durable(target: Path, write: Callable[[Path], Any]) -> Path:
    """Write ``target`` atomically: ``write(temporary)``, fsync, rename, fsync the folder.

    Raises
    ------
    OutputError
        Any OSError on the way (read-only folder, full disk); the temporary file is removed and
        ``target`` is left as it was.
    """
    temporary = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise output_error(target, err) from err
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target


def check_part(path: Path) -> str | None:
    """Why the part file ``path`` is damaged, or None when it reads back completely."""
    try:
        table = pq.read_table(path, page_checksum_verification=True)
    except Exception as err:
        return describe_error(err)
    missing = [c for c in REQUIRED_PART_COLUMNS if c not in table.column_names]
    if missing:
        return f"no {', '.join(missing)} column"
    return None


def quarantine(root: Path, part: Path, reason: str) -> dict[str, str]:
    """Move a damaged part to ``root/quarantine/`` and describe it for the manifest."""
    folder = root / "quarantine"
    try:
        folder.mkdir(exist_ok=True)
        target = folder / part.name
        if target.exists():
            target = folder / f"{part.stem}-{time.time_ns()}{part.suffix}"
        os.replace(part, target)
    except OSError as err:
        raise output_error(part, err, doing="set aside") from err
    return {"file": str(target.relative_to(root)), "reason": reason,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}
