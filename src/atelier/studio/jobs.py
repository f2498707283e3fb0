"""The studio's history and its one worker.

* :class:`Store`: SQLite (``data_dir/studio.sqlite3``, tables ``jobs`` and ``items``). Only the
  server process writes it, from one lock, so the worker never races the web handlers.
* :class:`Runner`: ONE worker process (multiprocessing "spawn": no forked torch state) runs jobs in
  submission order, so the web server's event loop never runs a model. A dispatcher thread in the
  server hands the worker one job at a time and reads its messages (progress, done, failed) from a
  queue; each change is saved and fanned out to the server-sent-event subscribers (:class:`Hub`).
* Cancel: a queued job is simply never handed over; a running one sees a shared flag between its
  steps, and a job that ignores it for more than :data:`CANCEL_GRACE_S` has its worker terminated
  and restarted.
* A server killed mid-job leaves rows "queued"/"running": the next :class:`Store` marks them failed.
  Item files are written to a staging folder that is renamed into place, and the item row is
  inserted only after that, so the history never points at half-written files.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import queue
import secrets
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

STOPPED_MESSAGE = "the server stopped before it finished"
CANCEL_GRACE_S = 2.0  # a running job that ignores the cancel flag this long has its worker restarted
WORKER_START_TIMEOUT_S = 120.0  # importing torch on a busy 2-core machine can take a while
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
JOB_LIST_LIMIT = 200  # GET /api/jobs: every unfinished job and the newest finished ones up to this many

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    eta_s REAL,
    error TEXT,
    item TEXT,
    result TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,
    job TEXT NOT NULL,
    created REAL NOT NULL,
    title TEXT NOT NULL,
    recipe TEXT NOT NULL,
    files TEXT NOT NULL
);
"""


def new_id() -> str:
    """A random id: 16 hex digits. Ids, never client-given names, address everything stored."""
    return secrets.token_hex(8)


def is_id(text: str) -> bool:
    return isinstance(text, str) and len(text) == 16 and all(c in "0123456789abcdef" for c in text)


class Store:
    """The jobs and items of one data folder. Opening it fails the jobs a killed server left behind."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.items_dir = self.data_dir / "items"
        self.items_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / "studio.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("UPDATE jobs SET status='failed', error=?, finished=? WHERE status IN ('queued', 'running')",
                             (STOPPED_MESSAGE, time.time()))
            known = {r["id"] for r in self._db.execute("SELECT id FROM items")}
        # Folders no row points at: staging left by a killed worker, or renamed just before a kill.
        for folder in self.items_dir.iterdir():
            if folder.name not in known:
                shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- jobs -------------------------------------------------------------------------------------

    def add_job(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        job_id = new_id()
        with self._lock:
            self._db.execute("INSERT INTO jobs (id, kind, params, status, created) VALUES (?, ?, ?, 'queued', ?)",
                             (job_id, kind, json.dumps(params), time.time()))
        return self.job(job_id)

    def update_job(self, job_id: str, **fields: Any) -> dict[str, Any] | None:
        if "result" in fields and fields["result"] is not None:
            fields["result"] = json.dumps(fields["result"])
        if fields.get("status") in FINISHED:
            fields["finished"] = time.time()
        names = ", ".join(f"{k}=?" for k in fields)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {names} WHERE id=?", (*fields.values(), job_id))
        return self.job(job_id)

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else _job_json(row)

    def jobs(self) -> list[dict[str, Any]]:
        """Unfinished jobs and the newest finished ones, in submission order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM (SELECT * FROM jobs WHERE status IN ('queued', 'running') OR seq > "
                "(SELECT COALESCE(MAX(seq), 0) - ? FROM jobs)) ORDER BY seq", (JOB_LIST_LIMIT,)).fetchall()
        return [_job_json(r) for r in rows]

    def next_queued(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The oldest queued job and its parameters."""
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE status='queued' ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else (_job_json(row), json.loads(row["params"]))

    # -- items ------------------------------------------------------------------------------------

    def add_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Record an item whose folder ``items/<id>`` is complete (the worker renamed it into place)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO items (id, kind, job, created, title, recipe, files) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item["id"], item["kind"], item["job"], time.time(), item["title"], json.dumps(item["recipe"]),
                 json.dumps(item["files"])))
        return self.item(item["id"])

    def item(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()
        return None if row is None else _item_json(row)

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        query, args = "SELECT * FROM items", ()
        if kind is not None:
            query, args = query + " WHERE kind=?", (kind,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq DESC", args).fetchall()
        return [_item_json(r) for r in rows]

    def item_file(self, item_id: str, name: str) -> Path | None:
        """The path of one of an item's own files; anything not in its list is None."""
        item = self.item(item_id) if is_id(item_id) else None
        if item is None or name not in item["files"]:
            return None
        return self.items_dir / item_id / name


def _job_json(row: sqlite3.Row) -> dict[str, Any]:
    job = {k: row[k] for k in ("id", "kind", "status", "step", "total", "eta_s", "error", "created")}
    job["params"] = json.loads(row["params"])
    if row["item"]:
        job["item"] = row["item"]
    if row["result"]:
        job["result"] = json.loads(row["result"])
    return job


def _item_json(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "job": row["job"], "created": row["created"], "title": row["title"],
            "recipe": json.loads(row["recipe"]), "files": json.loads(row["files"])}


class Hub:
    """Fans job changes out to the server-sent-event streams; each stream has a bounded queue, so a
    stalled client drops events instead of growing the server's memory."""

    MAX_PENDING = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue]:
        entry = (asyncio.get_running_loop(), asyncio.Queue(self.MAX_PENDING))
        with self._lock:
            self._subscribers.add(entry)
        return entry

    def unsubscribe(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Queue]) -> None:
        with self._lock:
            self._subscribers.discard(entry)

    def publish(self, job: dict[str, Any]) -> None:
        """Called from any thread."""
        data = json.dumps(job)
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, q in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, q, data)
            except RuntimeError:  # that stream's loop has closed
                self.unsubscribe((loop, q))


def _offer(q: asyncio.Queue, data: str) -> None:
    if not q.full():
        q.put_nowait(data)


class Runner:
    """The worker process and the thread that feeds it, one job at a time, in submission order."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self.store, self.hub = store, hub
        self._ctx = mp.get_context("spawn")
        self._outbox = self._ctx.Queue()  # worker -> server (and "wake" from the handlers)
        self._cancel = self._ctx.Value("q", 0)  # the number of the job asked to stop (its seq in this run)
        self._inbox = None
        self._process = None
        self._ready = False
        self._current: dict[str, Any] | None = None  # the job the worker has
        self._cancel_asked_at: float | None = None
        self._dispatched = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="atelier-studio-runner", daemon=True)

    def start(self) -> None:
        self._start_worker()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.put(("wake",))
        self._thread.join(timeout=10)
        self._stop_worker()

    def wake(self) -> None:
        """A job was queued: let the dispatcher look now, not at its next poll."""
        self._outbox.put(("wake",))

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a queued job at once; ask a running one to stop (forced after CANCEL_GRACE_S)."""
        job = self.store.job(job_id)
        if job is None or job["status"] in FINISHED:
            return job
        current = self._current
        if current is not None and current["id"] == job_id:
            self._cancel.value = current["number"]
            self._cancel_asked_at = time.monotonic()
            self.wake()
            return job
        job = self.store.update_job(job_id, status="cancelled")
        self.hub.publish(job)
        return job

    # -- the worker process -----------------------------------------------------------------------

    def _start_worker(self) -> None:
        from atelier.studio.work import worker_main

        self._inbox = self._ctx.Queue()
        self._ready = False
        self._process = self._ctx.Process(target=worker_main, args=(self._inbox, self._outbox, self._cancel,
                                                                    str(self.store.data_dir)),
                                          name="atelier-studio-worker", daemon=True)
        self._process.start()

    def _stop_worker(self) -> None:
        if self._process is None:
            return
        if self._process.is_alive():
            self._inbox.put(None)
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._inbox.close()
        self._process = None

    def _restart_worker(self) -> None:
        self._process.terminate()
        self._process.join(timeout=5)
        self._inbox.close()
        self._start_worker()

    # -- the dispatcher thread --------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if self._ready and self._current is None:
                self._dispatch()
            try:
                message = self._outbox.get(timeout=0.2)
            except queue.Empty:
                message = None
            if message is not None:
                self._handle(message)
            self._check_worker()

    def _dispatch(self) -> None:
        found = self.store.next_queued()
        if found is None:
            return
        job, params = found
        self._dispatched += 1
        self._current = {"id": job["id"], "number": self._dispatched}
        self._cancel_asked_at = None
        self._inbox.put((job["id"], self._dispatched, job["kind"], params))

    def _handle(self, message: tuple) -> None:
        what = message[0]
        if what == "ready":
            self._ready = True
            return
        if what == "wake" or self._current is None or message[1] != self._current["id"]:
            return
        job_id = message[1]
        if what == "progress":
            _, _, step, total, eta, preview = message
            job = self.store.update_job(job_id, status="running", step=step, total=total, eta_s=eta)
            if preview is not None:  # shown while the job runs, not stored
                job = {**job, "preview": preview}
        elif what == "done":
            outcome = message[2]
            item = outcome.get("item")
            if item is not None:
                self.store.add_item(item)  # its folder is already complete
            job = self.store.update_job(job_id, status="done", step=outcome["total"], total=outcome["total"], eta_s=0,
                                        item=None if item is None else item["id"], result=outcome.get("result"))
            self._current = None
        elif what == "failed":
            job = self.store.update_job(job_id, status="failed", error=message[2])
            self._current = None
        elif what == "cancelled":
            job = self.store.update_job(job_id, status="cancelled")
            self._current = None
        else:
            return
        self.hub.publish(job)

    def _check_worker(self) -> None:
        """Restart a worker that died, or that ignored a cancel for longer than the grace period."""
        if self._stopping.is_set() or self._process is None:
            return
        overdue = self._cancel_asked_at is not None and time.monotonic() - self._cancel_asked_at > CANCEL_GRACE_S
        if not overdue and self._process.is_alive():
            return
        if self._current is not None:
            if overdue:
                job = self.store.update_job(self._current["id"], status="cancelled")
            else:
                job = self.store.update_job(self._current["id"], status="failed",
                                            error=f"the worker stopped (exit code {self._process.exitcode})")
            self.hub.publish(job)
            self._current = None
        self._cancel_asked_at = None
        self._restart_worker()


# -- uploads: data_dir/uploads/<id>/{meta.json, the file}; the server writes them, the worker reads them


def upload_meta(data_dir: Path, upload_id: Any) -> dict[str, Any] | None:
    """What an upload is (``kind``, ``name``, ``file``, ``sha256``...), or None for an unknown id."""
    if not is_id(upload_id):
        return None
    try:
        return json.loads((Path(data_dir) / "uploads" / upload_id / "meta.json").read_text())
    except (OSError, ValueError):
        return None


def upload_path(data_dir: Path, upload_id: str) -> Path:
    """The stored file of a known upload (its name is the server's, never the client's)."""
    meta = upload_meta(data_dir, upload_id)
    if meta is None:
        raise KeyError(upload_id)
    return Path(data_dir) / "uploads" / upload_id / meta["file"]
