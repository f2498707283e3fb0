"""The studio's Taste tab through FastAPI's test client: ask, answer, generate for me, rate, why,
export and delete, each work in its own file with its own recipe; bad input as one-line 400s."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from fastapi.testclient import TestClient
from PIL import Image, ImageStat

from atelier.imageio import read_metadata
from atelier.music.midi import read_midi_metadata
from atelier.studio import create_app
from tests.studio.test_api import AUTH, BASE, TOKEN, submit, wait


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One studio for the module: its worker keeps the models and taste subjects between tests."""
    app = create_app(tmp_path_factory.mktemp("studio"), token=TOKEN)
    with TestClient(app, base_url=BASE, headers=AUTH) as c:
        yield c


def data_dir(client):
    return client.app.state.store.data_dir


def run(client, kind, **params) -> dict:
    job = wait(client, submit(client, kind, **params))
    assert job["status"] == "done", job["error"]
    return job


def ask(client, profile, model="mnist-dcgan", **params) -> dict:
    return run(client, "taste_ask", model=model, profile=profile, **params)["result"]


def answer(client, profile, question, picked):
    return client.post("/api/taste/answer", json={"profile": profile, "question": question, "picked": picked})


def question_path(client, result, work):
    return data_dir(client) / "taste" / result["profile"] / result["question"] / work["file"]


def counts(client, profile) -> dict[str, int]:
    r = client.get(f"/api/taste/profiles/{profile}")
    assert r.status_code == 200, r.text
    return r.json()["answers"]


def test_the_tab_renders_and_says_everything_stays_here(client):
    r = client.get("/taste")
    assert r.status_code == 200 and "stays on this machine" in r.text
    assert 'href="/taste"' in client.get("/generate").text  # the tab is in every page's bar


def test_ask_answer_then_generate_for_me(client):
    result = ask(client, "ada", k=2, seed=1)
    assert result["outputs"] == "images" and result["answers"] == 0 and len(result["works"]) == 2
    for work in result["works"]:
        url = f"/api/taste/questions/ada/{result['question']}/{work['file']}"
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        recipe = read_metadata(question_path(client, result, work))  # each work: the one call that makes it
        assert recipe["command"] == "sample" and recipe["model"] == "mnist-dcgan" and recipe["params"]["n"] == 1
        assert recipe["studio"]["job"] == "taste_ask" and recipe["studio"]["params"]["profile"] == "ada"
    r = answer(client, "ada", result["question"], 1)
    assert r.status_code == 200 and r.json()["answers"] == {"mnist-dcgan": 1}, r.text
    assert counts(client, "ada") == {"mnist-dcgan": 1}
    assert client.get(f"/api/taste/questions/ada/{result['question']}/work_1.png").status_code == 404  # answered: gone
    # the profile file is the studio's DATA_DIR/taste.sqlite, which the library (and the CLI) read
    from atelier.api.taste import profiles

    assert profiles(data_dir(client) / "taste.sqlite") == {"ada": {"mnist-dcgan": 1}}

    job = run(client, "taste_for_me", model="mnist-dcgan", profile="ada", n=2, seed=3)
    item = client.get(f"/api/items/{job['item']}").json()
    assert item["kind"] == "image" and "1 answers" in item["title"]
    assert set(item["files"]) == {"image_001.png", "image_002.png", "grid.png", "recipe.json"}
    assert [w["file"] for w in job["result"]["works"]] == ["image_001.png", "image_002.png"]
    folder = client.app.state.store.items_dir / item["id"]
    seeds = set()
    for name in ("image_001.png", "image_002.png"):
        recipe = read_metadata(folder / name)
        assert recipe["command"] == "sample" and recipe["params"]["n"] == 1
        assert recipe["studio"]["job"] == "taste_for_me"
        seeds.add(recipe["params"]["seed"])
    assert len(seeds) == 2
    check = run(client, "reproduce", item=item["id"])  # every file, grid included, made again bit for bit
    assert check["result"]["identical"] and set(check["result"]["checked"]) == set(item["files"]) - {"recipe.json"}
    assert client.post(f"/api/items/{item['id']}/reuse").json()["page"] == "/taste"


def test_rate_works_of_the_history(client):
    single = run(client, "taste_for_me", model="mnist-dcgan", profile="cy", n=1, seed=5)["item"]
    rated = run(client, "taste_rate", item=single, stars=4, profile="cy")
    assert rated["result"]["file"] == "image_001.png" and rated["result"]["stars"] == 4
    assert counts(client, "cy") == {"mnist-dcgan": 1}
    pair = run(client, "taste_for_me", model="mnist-dcgan", profile="cy", n=2, seed=6)["item"]
    r = client.post("/api/jobs", json={"kind": "taste_rate", "params": {"item": pair, "stars": 2, "profile": "cy"}})
    assert r.status_code == 400 and "holds 2 works" in r.json()["error"]
    run(client, "taste_rate", item=pair, file="image_002.png", stars=2, profile="cy")
    sampled = run(client, "sample", model="mnist-dcgan", n=1, seed=11)["item"]  # the Generate page's one picture
    run(client, "taste_rate", item=sampled, stars=5, profile="cy")
    assert counts(client, "cy") == {"mnist-dcgan": 3}
    # a work made in a way taste cannot rate: the job fails with the library's one line, the worker lives on
    varied = run(client, "vary", model="mnist-dcgan", seed=1, n=1)["item"]
    job = wait(client, submit(client, "taste_rate", item=varied, stars=3, profile="cy"))
    assert job["status"] == "failed" and "interpolate" in job["error"] and "\n" not in job["error"]
    assert job["error"].startswith("image_001.png: ")  # the file by its name, not the studio's folders
    strip = run(client, "interpolate", model="mnist-dcgan", seed_a=0, seed_b=1, steps=2)["item"]
    r = client.post("/api/jobs", json={"kind": "taste_rate", "params": {"item": strip, "stars": 3}})
    assert r.status_code == 400 and "no single work" in r.json()["error"]
    assert counts(client, "cy") == {"mnist-dcgan": 3}


def brightness(path) -> float:
    with Image.open(path) as picture:
        return ImageStat.Stat(picture.convert("L")).mean[0]


def test_why_names_what_the_answers_favour(client):
    """Always pick the brightest work: "why" puts brightness among what the answers favour."""
    from atelier.taste.subjects import NUM_DIRECTIONS, PICTURE_FEATURES

    for turn in range(6):
        result = ask(client, "di", k=4, seed=100 + turn)
        lights = [brightness(question_path(client, result, w)) for w in result["works"]]
        assert answer(client, "di", result["question"], lights.index(max(lights))).status_code == 200
    effects = run(client, "taste_why", model="mnist-dcgan", profile="di")["result"]["effects"]
    names = [name for name, _ in effects]
    assert set(names) <= {f"direction_{i + 1}" for i in range(NUM_DIRECTIONS)} | set(PICTURE_FEATURES)
    sizes = [abs(effect) for _, effect in effects]
    assert sizes == sorted(sizes, reverse=True)
    assert dict(effects)["brightness"] > 0
    # without answers there is nothing to say, in one line
    job = wait(client, submit(client, "taste_why", model="mnist-gan", profile="di"))
    assert job["status"] == "failed" and "no answers" in job["error"]


def test_melodies_and_stylised_photos(client):
    result = ask(client, "ed", model="essen-melody-rnn", k=2, seed=2, bars=2)
    assert result["outputs"] == "melodies" and all(w["notes"] and w["file"].endswith(".mid") for w in result["works"])
    recipe = read_midi_metadata(question_path(client, result, result["works"][0]))
    assert recipe["command"] == "compose" and recipe["params"]["n"] == 1 and recipe["params"]["bars"] == 2
    assert answer(client, "ed", result["question"], 0).status_code == 200
    job = run(client, "taste_for_me", model="essen-melody-rnn", profile="ed", n=1, bars=2, seed=4)
    item = client.get(f"/api/items/{job['item']}").json()
    assert item["kind"] == "music" and {"melody_001.mid", "melody_001.wav"} <= set(item["files"])
    run(client, "taste_rate", item=item["id"], stars=5, profile="ed")
    assert counts(client, "ed") == {"essen-melody-rnn": 2}

    result = ask(client, "ed", model="fast-paintings", k=2, seed=3, photo="chelsea")
    assert result["outputs"] == "pictures" and len(result["works"]) == 2
    recipe = read_metadata(question_path(client, result, result["works"][1]))
    assert recipe["command"] == "stylize" and recipe["params"]["content"] == "chelsea"
    assert recipe["params"]["method"] == "fast" and len(recipe["params"]["weights"]) == 3


def test_export_then_delete(client):
    result = ask(client, "fay", k=2, seed=7)
    assert answer(client, "fay", result["question"], 0).status_code == 200
    kept = counts(client, "ada")
    r = client.get("/api/taste/profiles/fay/export")
    assert r.status_code == 200 and 'filename="taste-fay.json"' in r.headers["content-disposition"]
    exported = r.json()
    assert exported["profile"] == "fay" and [a["subject"] for a in exported["answers"]] == ["mnist-dcgan"]
    open_question = ask(client, "fay", k=2, seed=8)  # asked and left open: its works' files go too
    assert question_path(client, open_question, open_question["works"][0]).exists()
    r = client.post("/api/taste/profiles/fay/delete")
    assert r.status_code == 200 and r.json() == {"profile": "fay", "deleted": 1}
    assert client.get("/api/taste/profiles/fay/export").json()["answers"] == []
    assert counts(client, "fay") == {}
    assert not (data_dir(client) / "taste" / "fay").exists()
    assert answer(client, "fay", open_question["question"], 0).status_code == 400  # forgotten too
    assert counts(client, "ada") == kept  # another person's answers stay


@pytest.mark.parametrize("kind, params, word", [
    ("taste_ask", {"model": "nope"}, "mnist-dcgan"),
    ("taste_ask", {"model": "digit-classifier"}, "model"),
    ("taste_ask", {"model": "mnist-dcgan", "profile": "../me"}, "profile name"),
    ("taste_ask", {"model": "mnist-dcgan", "k": 5}, "k=5"),
    ("taste_ask", {"model": "fast-paintings"}, "photo"),
    ("taste_ask", {"model": "mnist-dcgan", "photo": "chelsea"}, "photo"),
    ("taste_ask", {"model": "essen-melody-rnn", "label": 1}, "label"),
    ("taste_for_me", {"model": "mnist-dcgan", "n": 0}, "n=0"),
    ("taste_why", {"model": "essen-musicvae-2bar", "bars": 4}, "bars"),
    ("taste_rate", {"item": "0" * 16, "stars": 3}, "item"),
])
def test_bad_job_params_are_one_line_400s(client, kind, params, word):
    r = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 400 and word in r.json()["error"] and "\n" not in r.json()["error"], r.text


def test_stars_outside_one_to_five_and_a_question_not_open_are_400s(client):
    item = run(client, "sample", model="mnist-dcgan", n=1, seed=2)["item"]
    for stars in (0, 6, 2.5, "5", None):
        r = client.post("/api/jobs", json={"kind": "taste_rate", "params": {"item": item, "stars": stars}})
        assert r.status_code == 400 and "stars=" in r.json()["error"], stars
    r = answer(client, "ada", "0123456789ab", 0)
    assert r.status_code == 400 and "not an open question" in r.json()["error"]
    result = ask(client, "gil", k=2, seed=9)
    for picked in (2, -1, "1"):
        r = answer(client, "gil", result["question"], picked)
        assert r.status_code == 400 and "picked=" in r.json()["error"], picked
    assert answer(client, "ada", result["question"], 0).status_code == 400  # asked of another profile
    r = answer(client, "bad name!", result["question"], 0)
    assert r.status_code == 400 and "profile name" in r.json()["error"]
    assert client.get("/api/taste/profiles/bad%20name!").status_code == 400
    assert client.post("/api/taste/profiles/..%2F..%2Fx/delete").status_code in (400, 404)
    r = client.post("/api/taste/answer", content=b"{no", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    for name in ("work_1.png/../../taste.sqlite", "..%2F..%2Ftaste.sqlite", "recipe.json"):
        assert client.get(f"/api/taste/questions/gil/{result['question']}/{name}").status_code == 404
    assert client.get(f"/api/taste/questions/gil/{result['question']}/work_1.png").status_code == 200
