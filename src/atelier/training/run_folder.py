"""A run folder belongs to one run: its lock, its checkpoints (the newest K kept) and its loss log.

* **The lock.** A trainer holds an advisory lock on ``OUT/.atelier.lock`` (``flock``) for as long as it
  runs, and writes its PID into the file. A second trainer on the same folder is refused with the
  holder's PID. The operating system drops the lock when its process dies, even by ``kill -9``, so a
  lock left by a killed run is simply taken over.
* **Checkpoints.** ``checkpoint.safetensors`` is the newest; ``checkpoint-1.safetensors`` …
  ``checkpoint-{K-1}.safetensors`` the ones before it. A new checkpoint is written in full to
  ``checkpoint-new.safetensors`` (itself through a temporary file), then the older ones move down one
  place and it is renamed into place. Every step of that is a rename, so a kill at any moment leaves
  at least one complete checkpoint; :func:`newest_checkpoint` picks the readable one with the most
  steps.
* **The loss log.** ``losses.csv`` gets a row at every logged step, so a killed run keeps its curve.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import warnings
from pathlib import Path
from typing import Any

from atelier.checkpoint import Checkpoint, load_checkpoint, read_header
from atelier.errors import AtelierError

CHECKPOINT_NAME = "checkpoint.safetensors"
NEW_NAME = "checkpoint-new.safetensors"
LOCK_NAME = ".atelier.lock"
LOSSES_NAME = "losses.csv"
RUN_FILES = ("losses.csv", "losses.png")  # besides the checkpoints; removed by --overwrite
RUN_FOLDERS = ("samples", "tensorboard")


def checkpoint_paths(out: Path, keep: int) -> list[Path]:
    """Newest first: checkpoint.safetensors, checkpoint-1.safetensors, … (``keep`` in all)."""
    return [out / CHECKPOINT_NAME] + [out / f"checkpoint-{i}.safetensors" for i in range(1, keep)]


def _candidates(out: Path) -> list[Path]:
    found = sorted(out.glob("checkpoint-*.safetensors")) if out.is_dir() else []
    return [p for p in [out / NEW_NAME, out / CHECKPOINT_NAME, *found] if p.is_file()]


def has_checkpoint(out: Path) -> bool:
    return bool(_candidates(out))


def newest_checkpoint(out: Path, *, expect_kind: str | None = None) -> Checkpoint:
    """The readable checkpoint in ``out`` with the most steps; unreadable ones are skipped with a
    warning (the newest one can be damaged by a full disk, never by a kill)."""
    for path, _ in _by_step(out, expect_kind):
        try:
            return load_checkpoint(path, expect_kind=expect_kind)
        except AtelierError as exc:  # a sound header over damaged tensors
            warnings.warn(f"skipped the unreadable checkpoint {path}: {exc}", stacklevel=2)
    raise AtelierError(f"--resume: none of the checkpoints in {out} can be read")


def newest_header(out: Path) -> dict[str, Any]:
    """The header (kind, config, step, meta) of the checkpoint :func:`newest_checkpoint` would
    choose, without reading any tensors: what a resumed run keeps."""
    return _by_step(out, None)[0][1]


def _by_step(out: Path, expect_kind: str | None) -> list[tuple[Path, dict[str, Any]]]:
    """The readable checkpoints' paths and headers, most steps first; unreadable ones skipped with a
    warning (the newest one can be damaged by a full disk, never by a kill)."""
    candidates = _candidates(out)
    if not candidates:
        raise AtelierError(f"--resume: no checkpoint in {out} to resume from")
    found = []
    for path in candidates:  # headers only: tensors are read once, for the one chosen
        try:
            found.append((path, read_header(path, expect_kind=expect_kind)))
        except AtelierError as exc:
            if expect_kind is not None and "holds a" in str(exc):
                raise
            warnings.warn(f"skipped the unreadable checkpoint {path}: {exc}", stacklevel=2)
    if not found:
        raise AtelierError(f"--resume: none of the {len(candidates)} checkpoint(s) in {out} can be read")
    return sorted(found, key=lambda pair: pair[1]["step"], reverse=True)


def rotate_in(out: Path, keep: int) -> Path:
    """Move the freshly written ``checkpoint-new.safetensors`` into place, the older ones down one
    place, the oldest beyond ``keep`` dropped. Returns the newest checkpoint's path."""
    paths = checkpoint_paths(out, keep)
    for older, newer in zip(reversed(paths[1:]), reversed(paths[:-1])):
        if newer.exists():
            os.replace(newer, older)
    os.replace(out / NEW_NAME, paths[0])
    return paths[0]


def clear_run(out: Path) -> None:
    """What ``--overwrite`` removes: the run's checkpoints, loss log, sample pictures and TensorBoard
    logs. Anything else in the folder is left alone."""
    for path in _candidates(out):
        path.unlink()
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for name in RUN_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)


class RunLock:
    """The advisory lock of a run folder, held while training (see the module docstring).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with RunLock(folder):
    ...     RunLock(folder).acquire()
    Traceback (most recent call last):
    atelier.errors.AtelierError: run folder ... is in use by another training (PID ...); wait for it to finish, or train into another --out
    """

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK_NAME
        self._fh: Any = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        if not _try_lock(fh):
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise AtelierError(f"run folder {self.path.parent} is in use by another training (PID {holder.split()[0]}); "
                               "wait for it to finish, or train into another --out")
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {socket.gethostname()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            _unlock(self._fh)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(fh: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fh: Any) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class LossLog:
    """``losses.csv``, one row per logged step, appended as training goes and flushed each time."""

    def __init__(self, out: Path, history: list[dict[str, Any]]) -> None:
        """Start the log from ``history`` (a resumed run's rows up to its checkpoint): rows a killed
        run wrote after its last checkpoint are dropped, because those steps run again."""
        self.path = Path(out) / LOSSES_NAME
        self.keys: list[str] = []
        rows = [_row(h) for h in history]
        self._rewrite(rows)

    def append(self, entry: dict[str, Any]) -> None:
        row = _row(entry)
        keys = sorted(k for k in row if k != "step")
        if keys != self.keys:  # a new loss appeared: rewrite with the wider header
            rows = self._read() + [row]
            self._rewrite(rows)
            return
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=["step", *self.keys]).writerow(row)

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as fh:
            return [{k: float(v) if v not in ("", None) else "" for k, v in r.items()} for r in csv.DictReader(fh)]

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        self.keys = sorted({k for r in rows for k in r if k != "step"})
        if not rows:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(".losses.csv.tmp")
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["step", *self.keys])
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, self.path)


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "metrics"}
