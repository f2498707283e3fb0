"""The studio's four goals (issue 11), measured against a real server in its own process.

1. the first progress event after a submit (an idle, warm worker), from the POST to the event;
2. a 2-bar call-and-response round trip, from the POST to the "done" event with the answer;
3. 20 concurrent clients submitting 100 jobs in all: each completes once, none lost or duplicated,
   and the server's memory (resident set, /proc) before and after;
4. every gallery item's reproducible files re-run by a "reproduce" job: how many are identical.

``python benchmarks/bench_studio.py`` prints the section; ``benchmarks/run.py --only studio`` writes it.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

TOKEN = "bench-token"
CALL = [[62, 0, 4], [64, 4, 8], [66, 8, 12], [67, 12, 16], [69, 16, 24], [66, 24, 32]]  # 2 bars, D major
SERVER = """
import sys, uvicorn
from atelier.studio import create_app
if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1], token=sys.argv[2]), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning",
                timeout_graceful_shutdown=2)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Events:
    """Reads /api/events in a thread; every event with the time it arrived."""

    def __init__(self, client: httpx.Client) -> None:
        self.client, self.lock = client, threading.Lock()
        self.by_job: dict[str, list[tuple[float, dict]]] = defaultdict(list)
        self.opened = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.opened.wait(30)

    def _read(self) -> None:
        try:
            self._lines()
        except httpx.HTTPError:  # the server stopped at the end of the run
            pass

    def _lines(self) -> None:
        with self.client.stream("GET", "/api/events", timeout=None) as stream:
            for line in stream.iter_lines():
                if line == ": connected":
                    self.opened.set()
                if line.startswith("data: "):
                    job = json.loads(line[6:])
                    with self.lock:
                        self.by_job[job["id"]].append((time.perf_counter(), job))

    def wait_for(self, job_id: str, status: str, timeout: float = 120) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                for t, job in self.by_job.get(job_id, []):
                    if job["status"] == status or (status == "finished" and job["status"] in ("done", "failed",
                                                                                               "cancelled")):
                        return t, job
            time.sleep(0.001)
        raise TimeoutError(f"job {job_id}: no {status} event")


def _submit(client: httpx.Client, kind: str, **params) -> tuple[float, str]:
    start = time.perf_counter()
    r = client.post("/api/jobs", json={"kind": kind, "params": params})
    r.raise_for_status()
    return start, r.json()["id"]


def run(quick: bool = False) -> str:
    repeats = 10 if quick else 30
    data_dir = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    port = _free_port()
    script = data_dir / "serve.py"
    script.write_text(SERVER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, str(script), str(data_dir / "data"), TOKEN, str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers={"X-Atelier-Token": TOKEN}, timeout=60)
    try:
        for _ in range(600):
            try:
                if client.get("/api/jobs").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        events = Events(httpx.Client(base_url=url, headers={"X-Atelier-Token": TOKEN}))
        # warm-up: the worker loads the models once
        for kind, params in [("sample", {"model": "mnist-dcgan", "n": 1}),
                             ("respond", {"model": "essen-melody-rnn", "call_notes": CALL})]:
            events.wait_for(_submit(client, kind, **params)[1], "done")

        # 1. first progress event after a submit, the worker idle
        first = []
        for seed in range(repeats):
            start, job_id = _submit(client, "sample", model="mnist-dcgan", n=4, seed=seed)
            t, _ = events.wait_for(job_id, "running")
            first.append((t - start) * 1000)
            events.wait_for(job_id, "finished")

        # 2. call and response round trips
        trips = []
        for seed in range(repeats):
            start, job_id = _submit(client, "respond", model="essen-melody-rnn", call_notes=CALL, bars=2, seed=seed)
            t, job = events.wait_for(job_id, "done")
            assert job["result"]["notes"], "an empty answer"
            trips.append((t - start) * 1000)

        # 3. 20 clients, 100 jobs, twice (memory after the first and the second hundred)
        def burst(offset: int) -> tuple[list[str], float]:
            def one_client(c: int) -> list[str]:
                with httpx.Client(base_url=url, headers={"X-Atelier-Token": TOKEN}, timeout=60) as own:
                    return [_submit(own, "sample", model="mnist-dcgan", n=1, seed=offset + 5 * c + k)[1]
                            for k in range(5)]

            start = time.perf_counter()
            with ThreadPoolExecutor(20) as pool:
                ids = [i for batch in pool.map(one_client, range(20)) for i in batch]
            for job_id in ids:
                events.wait_for(job_id, "finished", timeout=600)
            return ids, time.perf_counter() - start

        rss_before = _rss_mb(server.pid)
        ids_1, seconds_1 = burst(1000)
        rss_1 = _rss_mb(server.pid)
        ids_2, seconds_2 = burst(2000)
        rss_2 = _rss_mb(server.pid)
        ids = ids_1 + ids_2
        jobs = {j["id"]: j for j in client.get("/api/jobs").json()}
        done = [i for i in ids if jobs.get(i, {}).get("status") == "done"]
        done_events = Counter(j["id"] for i in ids for _, j in events.by_job[i] if j["status"] == "done")
        items = client.get("/api/items").json()
        made = Counter(j.get("item") for i in ids if (j := jobs.get(i)))

        # 4. reproduce every item
        identical, checked_files, total_items = 0, 0, 0
        for item in items:
            _, job_id = _submit(client, "reproduce", item=item["id"])
            _, job = events.wait_for(job_id, "finished", timeout=600)
            total_items += 1
            if job["status"] == "done" and job["result"]["checked"]:
                checked_files += len(job["result"]["checked"])
                identical += job["result"]["identical"]
    finally:
        client.close()
        server.terminate()  # uvicorn's graceful shutdown gives the open event stream 2 s
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    p95 = statistics.quantiles(trips, n=20)[-1]
    return "\n".join([
        "## Studio",
        "",
        "`atelier studio`'s server in its own process (uvicorn, one worker process with one torch thread), driven "
        "over HTTP by `benchmarks/bench_studio.py`; times from the POST that submits a job to the server-sent event "
        f"that reports it, after one warm-up job per model. {repeats} repetitions each.",
        "",
        "| goal | target | measured |",
        "|---|---|---|",
        f"| first progress event after a submit (`sample`, idle worker) | ≤ 250 ms | median {statistics.median(first):.1f} ms, "
        f"max {max(first):.1f} ms |",
        f"| 2-bar call and response round trip (`respond`, essen-melody-rnn) | p95 ≤ 500 ms | median "
        f"{statistics.median(trips):.0f} ms, p95 {p95:.0f} ms |",
        f"| 20 concurrent clients × 5 jobs, twice | every job done once | {len(done)}/{len(ids)} done, "
        f"{sum(1 for i in ids if done_events[i] == 1)}/{len(ids)} with exactly one \"done\" event, "
        f"{len(set(ids))} distinct ids, {len([k for k, v in made.items() if k and v == 1])} distinct items |",
        f"| server memory over those 200 jobs | flat | RSS {rss_before:.0f} MB → {rss_1:.0f} MB after 100 → "
        f"{rss_2:.0f} MB after 200 ({seconds_1:.1f} s and {seconds_2:.1f} s per 100) |",
        f"| gallery items that reproduce (`reproduce` job, `atelier.reproduce` on each file one call made) | 100% | "
        f"{identical}/{total_items} items identical ({checked_files} files re-run) |",
    ])


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
