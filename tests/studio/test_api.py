"""The studio's HTTP API through FastAPI's test client: security, uploads, jobs (order, progress,
cancel, restart), every job kind on the shipped models with tiny parameters, items and their recipes."""

from __future__ import annotations

import io
import json
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from fastapi.testclient import TestClient
from PIL import Image

from atelier.imageio import read_metadata
from atelier.music.events import Melody, Note
from atelier.music.midi import read_midi, write_midi
from atelier.music.theory import MAJOR_SCALE
from atelier.studio import MAX_UPLOAD_BYTES, create_app
from atelier.studio.jobs import STOPPED_MESSAGE, Store

TOKEN = "api-test-token"
BASE = "http://127.0.0.1:7860"
AUTH = {"X-Atelier-Token": TOKEN}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One studio for the module: its worker keeps the models loaded between tests."""
    app = create_app(tmp_path_factory.mktemp("studio"), token=TOKEN)
    with TestClient(app, base_url=BASE, headers=AUTH) as c:
        yield c


def submit(client, kind, **params) -> str:
    r = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def wait(client, job_id, statuses=("done", "failed", "cancelled"), timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.05)


def png_bytes(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def midi_bytes(tmp_path, pitches=(60, 62, 64, 65, 67, 65, 64, 62)) -> bytes:
    path = tmp_path / "tune.mid"
    write_midi(Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate(pitches)), num_steps=32), path)
    return path.read_bytes()


# -- security --------------------------------------------------------------------------------------


def test_every_request_needs_the_token(client):
    assert client.get("/api/jobs", headers={"X-Atelier-Token": ""}).status_code == 403
    assert client.get("/api/jobs", headers={"X-Atelier-Token": "wrong"}).status_code == 403
    bare = TestClient(client.app, base_url=BASE)  # no token anywhere
    assert bare.get("/api/items").status_code == 403
    assert bare.get("/api/items").json()["error"]
    assert bare.get("/generate").status_code == 403
    assert bare.get("/static/common.js").status_code == 403
    assert bare.post("/api/jobs", json={"kind": "sample", "params": {"model": "mnist-dcgan"}}).status_code == 403


def test_the_token_in_the_address_becomes_an_httponly_cookie(client):
    browser = TestClient(client.app, base_url=BASE, follow_redirects=False)
    r = browser.get(f"/generate?token={TOKEN}&x=1")
    assert r.status_code == 303 and r.headers["location"] == "/generate?x=1"
    cookie = r.headers["set-cookie"]
    assert "atelier_token=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert browser.get("/generate").status_code == 200  # the cookie now carries the token
    assert browser.get("/api/jobs").status_code == 200


def test_the_pages_render_and_home_goes_to_generate(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/generate"
    for page in ("generate", "stylize", "compose", "gallery"):
        r = client.get(f"/{page}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), page


def test_a_change_needs_the_token_in_a_header_or_cookie_not_the_address(client):
    bare = TestClient(client.app, base_url=BASE)
    r = bare.post(f"/api/jobs?token={TOKEN}", json={"kind": "sample", "params": {"model": "mnist-dcgan"}})
    assert r.status_code == 403
    assert bare.get(f"/api/jobs?token={TOKEN}").status_code == 200  # reading with it is fine


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7860", "127.0.0.1.evil.example", "192.168.1.5:7860"])
def test_a_foreign_host_is_refused(client, host):
    """DNS rebinding: a page on the attacker's name resolved to 127.0.0.1 sends its own Host."""
    assert client.get("/api/jobs", headers={"Host": host}).status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1:7860", "localhost:7860", "[::1]:7860", "localhost"])
def test_local_hosts_are_accepted(client, host):
    assert client.get("/api/jobs", headers={"Host": host}).status_code == 200


def test_a_foreign_origin_is_refused(client):
    body = {"kind": "sample", "params": {"model": "mnist-dcgan", "n": 1}}
    assert client.post("/api/jobs", json=body, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/jobs", json=body, headers={"Origin": "http://127.0.0.1:9999"}).status_code == 403
    assert client.post("/api/jobs", json=body, headers={"Origin": "null"}).status_code == 403
    assert client.post("/api/jobs", json=body, headers={"Origin": BASE}).status_code == 202


# -- uploads ---------------------------------------------------------------------------------------


def test_uploads_are_typed_by_content_and_stored_under_an_id(client, tmp_path):
    r = client.post("/api/uploads", files={"file": ("song.mid", png_bytes(), "audio/midi")})
    assert r.status_code == 200, r.text
    image = r.json()
    assert image["kind"] == "image" and (image["width"], image["height"]) == (40, 30)
    r = client.post("/api/uploads", files={"file": ("../../etc/photo.png", midi_bytes(tmp_path), "image/png")})
    assert r.status_code == 200 and r.json()["kind"] == "midi" and r.json()["name"] == "photo.png"
    data_dir = client.app.state.store.data_dir
    stored = sorted(p.name for p in (data_dir / "uploads").iterdir())
    assert image["id"] in stored and all(len(name) == 16 for name in stored)
    assert not (data_dir.parent / "etc").exists()


@pytest.mark.parametrize("data, what", [
    (b"hello, I am text", "not an image"),
    (png_bytes()[:40], "unreadable"),  # a PNG cut short
    (b"MThd" + b"\x00" * 30, "unreadable"),  # a broken MIDI file
    (b"", "empty"),
])
def test_a_bad_upload_gets_one_line_and_the_server_lives_on(client, data, what):
    r = client.post("/api/uploads", files={"file": ("x.png", data, "image/png")})
    assert r.status_code == 400 and what in r.json()["error"] and "\n" not in r.json()["error"]
    assert client.get("/api/jobs").status_code == 200


def test_an_oversized_upload_is_refused(client):
    big = png_bytes() + b"\x00" * MAX_UPLOAD_BYTES
    r = client.post("/api/uploads", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 400 and "at most 20 MB" in r.json()["error"]


def test_an_image_over_the_pixel_limit_is_refused(client):
    buf = io.BytesIO()
    Image.new("1", (6000, 5000)).save(buf, format="PNG")  # 30 megapixels in a few kB
    r = client.post("/api/uploads", files={"file": ("bomb.png", buf.getvalue(), "image/png")})
    assert r.status_code == 400 and "pixels" in r.json()["error"]


# -- jobs and items --------------------------------------------------------------------------------


def test_bad_params_are_one_line_400s(client):
    for body, word in [({"kind": "paint", "params": {}}, "job kind"),
                       ({"kind": "sample", "params": {"model": "nope"}}, "mnist-dcgan"),
                       ({"kind": "sample", "params": {"model": "essen-melody-rnn"}}, "model"),
                       ({"kind": "sample", "params": {"model": "mnist-dcgan", "n": 0}}, "n=0"),
                       ({"kind": "stylize", "params": {"content": "/etc/passwd", "styles": ["the_scream"]}}, "content"),
                       ({"kind": "respond", "params": {"model": "essen-melody-rnn", "call_notes": [[60, 4, 2]]}},
                        "call_notes")]:
        r = client.post("/api/jobs", json=body)
        assert r.status_code == 400 and word in r.json()["error"], (body, r.text)
    assert client.post("/api/jobs", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400


def test_a_sample_job_keeps_its_pictures_with_their_recipe(client):
    job = wait(client, submit(client, "sample", model="mnist-cgan", n=2, seed=5, label="all"))
    assert job["status"] == "done" and job["step"] == job["total"] == 22
    item = client.get(f"/api/items/{job['item']}").json()
    assert item["kind"] == "image" and "grid.png" in item["files"] and len(job["result"]["images"]) == 20
    assert [(i["seed"], i["label"]) for i in job["result"]["images"][:3]] == [(5, 0), (6, 0), (5, 1)]
    r = client.get(f"/api/items/{item['id']}/files/image_003.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    path = client.app.state.store.items_dir / item["id"] / "image_003.png"
    recipe = read_metadata(path)  # the call that made this picture, and the studio job around it
    assert recipe["command"] == "sample" and recipe["params"] == {"n": 1, "seed": 5, "labels": 1}
    assert recipe["model"] == "mnist-cgan" and recipe["model_sha256"] and recipe["atelier"]
    job_params = {"model": "mnist-cgan", "n": 2, "seed": 5, "label": "all", "truncation": None}
    assert recipe["studio"]["params"] == job_params and recipe["studio"]["job"] == "sample"
    grid = read_metadata(path.with_name("grid.png"))  # the 20 calls and how they were tiled, and the job
    assert grid["command"] == "sequence" and grid["params"]["assemble"] == "grid" and grid["params"]["nrow"] == 2
    assert grid["params"]["parts"][2]["params"] == recipe["params"] and len(grid["params"]["parts"]) == 20
    assert grid["studio"]["params"] == job_params
    assert client.get("/api/items?kind=image").json()[0]["id"] == item["id"]
    assert client.get("/api/items?kind=music").json() == [] or all(
        i["kind"] == "music" for i in client.get("/api/items?kind=music").json())


def test_item_files_are_only_the_items_own(client):
    job = wait(client, submit(client, "interpolate", model="mnist-vae", seed_a=0, seed_b=1, steps=4))
    item = job["item"]
    assert client.get(f"/api/items/{item}/files/morph.gif").status_code == 200
    for name in ["studio.sqlite3", "..%2F..%2Fstudio.sqlite3", "recipe.jsonx"]:
        assert client.get(f"/api/items/{item}/files/{name}").status_code == 404
    assert client.get("/api/items/..%2Fuploads/files/meta.json").status_code == 404
    assert client.get("/api/items/not-an-id").status_code == 404


def test_use_these_settings_returns_the_page_and_params(client):
    job = wait(client, submit(client, "vary", model="mnist-dcgan", seed=3, n=2, strength=0.3))
    r = client.post(f"/api/items/{job['item']}/reuse").json()
    assert r == {"page": "/generate", "kind": "vary",
                 "params": {"model": "mnist-dcgan", "seed": 3, "label": None, "n": 2, "strength": 0.3}}


def test_jobs_run_one_at_a_time_in_submission_order(client):
    ids = [submit(client, "sample", model="mnist-dcgan", n=1, seed=s) for s in range(4)]
    jobs = [wait(client, i) for i in ids]
    assert all(j["status"] == "done" for j in jobs)
    store = client.app.state.store
    with store._lock:
        rows = store._db.execute(f"SELECT id, finished FROM jobs WHERE id IN ({','.join('?' * 4)}) ORDER BY seq",
                                 ids).fetchall()
    assert [r["finished"] for r in rows] == sorted(r["finished"] for r in rows)


def test_cancel_a_queued_and_a_running_job(client):
    running = submit(client, "vary", model="mnist-cgan", seed=1, label=3, n=64, strength=0.5)  # 64 steps
    queued = submit(client, "sample", model="mnist-dcgan", n=1)
    assert client.post(f"/api/jobs/{queued}/cancel").json() == {"status": "cancelled"}
    wait(client, running, statuses=("running",))
    client.post(f"/api/jobs/{running}/cancel")
    job = wait(client, running)
    assert job["status"] == "cancelled" and "item" not in job
    assert wait(client, queued)["status"] == "cancelled"
    items_dir = client.app.state.store.items_dir
    assert not [p for p in items_dir.iterdir() if p.name.startswith(".staging")]
    # the worker lives on
    assert wait(client, submit(client, "sample", model="mnist-dcgan", n=1))["status"] == "done"


def test_stylize_an_uploaded_photo(client):
    photo = client.post("/api/uploads", files={"file": ("me.png", png_bytes((64, 48)), "image/png")}).json()
    job = wait(client, submit(client, "stylize", content=photo["id"], styles=["the_scream", "starry_night"],
                              weights=[2, 1], method="fast", strength=0.8, preserve_color="luminance", size=48))
    assert job["status"] == "done", job["error"]
    item = client.get(f"/api/items/{job['item']}").json()
    assert item["kind"] == "style" and {"stylized.png", "before.png"} <= set(item["files"])
    recipe = read_metadata(client.app.state.store.items_dir / item["id"] / "stylized.png")
    assert list(recipe["inputs"].values()) == [item["recipe"]["inputs"][photo["id"]]]
    assert recipe["studio"]["models"]["fast-paintings"] == recipe["model_sha256"]
    with Image.open(client.app.state.store.items_dir / item["id"] / "stylized.png") as img:
        assert max(img.size) == 48


def test_adain_paints_after_an_uploaded_painting(client):
    painting = client.post("/api/uploads", files={"file": ("art.png", png_bytes((50, 50)), "image/png")}).json()
    job = wait(client, submit(client, "stylize", content="chelsea", styles=[painting["id"]], method="adain", size=32))
    assert job["status"] == "done", job["error"]


def test_compose_from_a_typed_primer_and_from_an_uploaded_one(client, tmp_path):
    job = wait(client, submit(client, "compose", model="essen-melody-rnn", bars=2, n=2, seed=1,
                              primer_notes=[[67, 0, 4], [69, 4, 8], [71, 8, 16]]))
    assert job["status"] == "done", job["error"]
    melodies = job["result"]["melodies"]
    assert len(melodies) == 2 and melodies[0]["num_steps"] == 32
    # the primer opens each melody (the model may hold its last note on)
    assert [n[:2] for n in melodies[0]["notes"][:3]] == [[67, 0], [69, 4], [71, 8]]
    item = client.get(f"/api/items/{job['item']}").json()
    assert {"melody_001.mid", "melody_001.wav", "melody_001.musicxml"} <= set(item["files"])
    assert read_midi(client.app.state.store.items_dir / item["id"] / "melody_002.mid").pitches[:3] == [67, 69, 71]
    primer = client.post("/api/uploads", files={"file": ("p.mid", midi_bytes(tmp_path), "audio/midi")}).json()
    job = wait(client, submit(client, "compose", model="essen-melody-rnn", bars=4, primer=primer["id"]))
    assert job["status"] == "done" and job["result"]["melodies"][0]["notes"][0] == [60, 0, 4]


def test_call_and_response_answers_in_key_and_meter(client):
    call = [[62, 0, 4], [66, 4, 8], [69, 8, 12], [74, 12, 16], [73, 16, 20], [69, 20, 24], [66, 24, 32]]  # D major
    answers = []
    for turn in range(3):
        job = wait(client, submit(client, "respond", model="essen-melody-rnn", call_notes=call, bars=2, seed=turn))
        assert job["status"] == "done", job["error"]
        result = job["result"]
        assert result["call_steps"] == 32 and result["num_steps"] == 32
        notes = result["notes"]
        assert notes and all(0 <= s < e <= 32 for _, s, e in notes)
        answers += notes
    # the call's notes are all in D major (tonic 2); the answers keep to that scale
    assert all((p - 2) % 12 in MAJOR_SCALE for p, _, _ in call)
    in_scale = [p for p, _, _ in answers if (p - 2) % 12 in MAJOR_SCALE]
    assert len(in_scale) >= 0.8 * len(answers)


def test_morph_between_two_gallery_melodies(client):
    jobs = [wait(client, submit(client, "compose", model="essen-musicvae-2bar", n=1, seed=s)) for s in (0, 1)]
    job = wait(client, submit(client, "morph", model="essen-musicvae-2bar", a=jobs[0]["item"], b=jobs[1]["item"],
                              steps=3))
    assert job["status"] == "done", job["error"]
    assert len(job["result"]["melodies"]) == 3
    item = client.get(f"/api/items/{job['item']}").json()
    assert "interpolation.mid" in item["files"] and set(item["recipe"]["inputs"]) == {jobs[0]["item"], jobs[1]["item"]}


def test_progress_reaches_the_event_stream(client):
    """Server-sent events through a real server (the test client buffers whole responses)."""
    import httpx
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))  # the test client's lifespan runs the worker
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        url, headers = f"http://127.0.0.1:{port}", {**AUTH, "Host": f"127.0.0.1:{port}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http, \
                http.stream("GET", "/api/events") as events:
            lines = events.iter_lines()
            assert next(lines) == ": connected"
            job_id = http.post("/api/jobs", json={"kind": "sample",
                                                  "params": {"model": "mnist-dcgan", "n": 3}}).json()["id"]
            seen = []
            for line in lines:
                if line.startswith("data: "):
                    job = json.loads(line[6:])
                    if job["id"] == job_id:
                        seen.append(job)
                        if job["status"] == "done":
                            break
        assert seen[0]["status"] == "queued"
        progress = [(j["step"], j["total"]) for j in seen if j["status"] == "running"]
        assert progress[0] == (0, 5) and progress[-1] == (4, 5) and len(progress) == 5
        assert seen[-1]["item"] and seen[-1]["eta_s"] == 0
        previews = [j["preview"] for j in seen if j.get("preview")]  # each sampled picture, small
        assert len(previews) == 3 and all(p.startswith("data:image/png;base64,") for p in previews)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_restarted_studio_has_its_history_and_fails_what_was_cut_short(tmp_path):
    with TestClient(create_app(tmp_path, token=TOKEN), base_url=BASE, headers=AUTH) as first:
        done = wait(first, submit(first, "sample", model="mnist-dcgan", n=1))
    # a server killed mid-job leaves its rows behind: one running, one queued
    store = Store(tmp_path)
    running, queued = store.add_job("sample", {"model": "mnist-dcgan"}), store.add_job("sample", {})
    store.update_job(running["id"], status="running", step=1, total=3)
    (store.items_dir / ".staging-0123456789abcdef").mkdir()  # half-written files of the killed job
    store.close()
    with TestClient(create_app(tmp_path, token=TOKEN), base_url=BASE, headers=AUTH) as second:
        jobs = {j["id"]: j for j in second.get("/api/jobs").json()}
        assert jobs[done["id"]]["status"] == "done"
        for cut in (running["id"], queued["id"]):
            assert jobs[cut]["status"] == "failed" and jobs[cut]["error"] == STOPPED_MESSAGE
        assert [i["id"] for i in second.get("/api/items").json()] == [done["item"]]
        assert second.get(f"/api/items/{done['item']}/files/grid.png").status_code == 200
        assert not (tmp_path / "items" / ".staging-0123456789abcdef").exists()


def test_reproduce_says_every_kind_of_item_is_identical(client):
    """Every file of every item carries a recipe (one call's, or a sequence of calls'); re-running it
    gives the same content."""
    ids = [submit(client, "sample", model="mnist-cgan", n=2, seed=7, label=4, truncation=0.8),
           submit(client, "vary", model="mnist-dcgan", seed=3, n=2, strength=0.3),
           submit(client, "interpolate", model="mnist-dcgan", seed_a=2, seed_b=9, steps=3),
           submit(client, "stylize", content="coffee", styles=["shipwreck"], method="fast", size=32),
           submit(client, "compose", model="essen-melody-rnn", bars=2, primer_notes=[[60, 0, 2], [67, 2, 4]]),
           submit(client, "respond", model="essen-melody-rnn", call_notes=[[64, 0, 8], [62, 8, 16]], seed=3)]
    morph_ends = [wait(client, submit(client, "compose", model="essen-musicvae-2bar", seed=s))["item"] for s in (4, 5)]
    ids.append(submit(client, "morph", model="essen-musicvae-2bar", a=morph_ends[0], b=morph_ends[1], steps=3))
    for job_id in ids:
        item = wait(client, job_id)["item"]
        check = wait(client, submit(client, "reproduce", item=item))
        assert check["status"] == "done", check["error"]
        assert check["result"]["identical"] and check["result"]["checked"], check["result"]
        files = set(client.get(f"/api/items/{item}").json()["files"]) - {"recipe.json"}
        assert set(check["result"]["checked"]) == files  # grids, GIF, before.png, MusicXML, the answer too
    assert client.post("/api/jobs", json={"kind": "reproduce", "params": {"item": "0" * 16}}).status_code == 400


# -- own models and Gatys ---------------------------------------------------------------------------


def test_own_models_are_offered_by_short_name_and_sample_through_a_job(tmp_path):
    """A checkpoint trained into a models folder joins the catalogue; the client names it, the server
    maps the name to the file, and a path the catalogue does not hold is refused."""
    import atelier
    from atelier.zoo import sha256_file

    models = tmp_path / "mine"
    atelier.train("mlp-gan", data="digits", out=models / "tiny", overrides=["mlp_hidden=16,16"],
                  train_config=atelier.TrainConfig(num_steps=2, batch_size=8, progress=False, tensorboard=False,
                                                   sample_every=0))
    (models / "junk.safetensors").write_bytes(b"not a checkpoint")  # left out, never a failed page
    name = "mine/tiny/checkpoint.safetensors"
    checkpoint = models / "tiny" / "checkpoint.safetensors"
    app = create_app(tmp_path / "studio", token=TOKEN, model_dirs=[models])
    with TestClient(app, base_url=BASE, headers=AUTH) as own:
        catalogue = own.get("/api/models").json()
        image = {m["name"]: m for m in catalogue["image"]}
        assert "mnist-dcgan" in image and image[name]["kind"] == "gan" and image[name]["num_classes"] == 0
        assert not [n for n in image if "junk" in n]
        job = wait(own, submit(own, "sample", model=name, n=2, seed=3))
        assert job["status"] == "done", job["error"]
        item = own.get(f"/api/items/{job['item']}").json()
        assert item["recipe"]["params"]["model"] == name and item["recipe"]["models"][name] == sha256_file(checkpoint)
        recipe = read_metadata(app.state.store.items_dir / item["id"] / "image_001.png")
        assert recipe["model"] == str(checkpoint.resolve())  # what `atelier reproduce` loads
        check = wait(own, submit(own, "reproduce", item=item["id"]))
        assert check["status"] == "done" and check["result"]["identical"], check["result"]
        for outside in [str(checkpoint), str(checkpoint.resolve()), "mine/../mine/tiny/checkpoint.safetensors",
                        "tiny/checkpoint.safetensors"]:
            r = own.post("/api/jobs", json={"kind": "sample", "params": {"model": outside}})
            assert r.status_code == 400 and "model" in r.json()["error"], outside
        # a file the client names beside a shipped model is not used: the server maps names itself
        job = wait(own, submit(own, "sample", model="mnist-dcgan", n=1, model_file=str(checkpoint)))
        recipe = own.get(f"/api/items/{job['item']}").json()["recipe"]
        assert "model_file" not in recipe["params"] and list(recipe["models"]) == ["mnist-dcgan"]


def test_gatys_reports_every_step_and_reproduces(client):
    job = wait(client, submit(client, "stylize", content="chelsea", styles=["the_scream"], method="gatys",
                              size=64, num_steps=2))
    assert job["status"] == "done", job["error"]
    assert job["step"] == job["total"] == 3 + 2 * 2  # load, paint, write as every stylize; 2 steps at 2 scales
    item = client.get(f"/api/items/{job['item']}").json()
    assert item["recipe"]["params"]["preset"] == "fast" and "model" not in item["recipe"]["params"]
    with Image.open(client.app.state.store.items_dir / item["id"] / "stylized.png") as img:
        assert max(img.size) == 64
    check = wait(client, submit(client, "reproduce", item=item["id"]))
    assert check["status"] == "done" and check["result"]["identical"], check["result"]


def test_gatys_is_cancelled_between_steps(client):
    job_id = submit(client, "stylize", content="chelsea", styles=["starry_night"], method="gatys", size=64,
                    num_steps=300)  # 600 steps: far longer than the test waits
    deadline = time.monotonic() + 60
    while (job := client.get(f"/api/jobs/{job_id}").json())["step"] < 4:
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.05)
    worker = client.app.state.runner._process.pid
    asked = time.monotonic()
    client.post(f"/api/jobs/{job_id}/cancel")
    job = wait(client, job_id, timeout=10)
    assert job["status"] == "cancelled" and job["step"] < job["total"] == 603
    # stopped by the step's own check, not by the server killing the worker after its grace period
    assert time.monotonic() - asked < 2 and client.app.state.runner._process.pid == worker


@pytest.mark.parametrize("params, word", [
    ({"size": 1024}, "size=1024"),
    ({"model": "adain-decoder"}, "model"),
    ({"preset": "quality"}, "preset"),
    ({"num_steps": 0}, "num_steps=0"),
])
def test_bad_gatys_params_are_refused(client, params, word):
    body = {"kind": "stylize", "params": {"content": "chelsea", "styles": ["the_scream"], "method": "gatys", **params}}
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 400 and word in r.json()["error"], r.text


def test_the_command_names_the_extra_when_the_web_packages_are_missing(monkeypatch, capsys, tmp_path):
    import sys

    from atelier.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now fails as if it were not installed
    assert main(["studio", "--data-dir", str(tmp_path / "d")]) == 2
    assert 'pip install "atelier[studio]"' in capsys.readouterr().err


def test_the_command_refuses_a_models_folder_that_does_not_exist(capsys, tmp_path):
    from atelier.cli import main

    assert main(["studio", "--data-dir", str(tmp_path / "d"), "--models", str(tmp_path / "nowhere")]) == 2
    assert "--models" in capsys.readouterr().err and not (tmp_path / "d").exists()
