"""The studio end to end: a real server, Debian's Chromium driven by Playwright, the issue's
scenarios, with tiny parameters so the whole file runs in about a minute. The screenshots these
tests take are the README's (docs/images/studio-*.png)."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.studio.conftest import Studio  # noqa: E402

JOB_TIMEOUT_MS = 60_000  # the first job waits for the worker to import torch on a busy machine
expect.set_options(timeout=JOB_TIMEOUT_MS)


@pytest.fixture
def open_page(page: Page, studio: Studio):
    """Open a studio page the way a person does: the printed address with the token. A script
    error in any page fails the test."""
    page.set_default_timeout(JOB_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def go(name: str) -> Page:
        page.goto(studio.page_url(name))
        expect(page).to_have_url(f"{studio.url}/{name}")  # the token moved into a cookie
        return page
    yield go
    assert not errors, errors


def photo(tmp_path: Path) -> Path:
    from atelier.data.photos import builtin_image

    path = tmp_path / "holiday.jpg"
    builtin_image("chelsea").convert("RGB").save(path)
    return path


def play_keys(page: Page, keys: str) -> None:
    """Play notes on the computer keyboard, each held for about an eighth note."""
    page.locator("#keyboard").scroll_into_view_if_needed()
    for key in keys:
        page.keyboard.down(key)
        page.wait_for_timeout(200)
        page.keyboard.up(key)
        page.wait_for_timeout(60)


def test_generate_a_class_row_then_vary_and_morph(open_page, screenshot_dir: Path) -> None:
    page = open_page("generate")
    page.select_option("select[name=model]", "mnist-cgan")
    page.select_option("select[name=label]", "all")
    page.fill("input[name=n]", "4")
    page.fill("input[name=seed]", "1")
    page.click("#generate-form button[type=submit]")
    tiles = page.locator("#results .tile")
    expect(tiles).to_have_count(40)  # one row of 4 per class
    expect(tiles.nth(4)).to_have_attribute("data-label", "1")  # the second row is class 1
    expect(tiles.nth(5)).to_have_attribute("data-seed", "2")
    expect(page.locator("#queue-list li.done")).not_to_have_count(0)
    page.set_viewport_size({"width": 1280, "height": 1180})  # all ten rows
    page.screenshot(path=screenshot_dir / "studio-generate.png")
    page.set_viewport_size({"width": 1280, "height": 860})

    # click an image: variations around it
    page.fill("input[name=vary_n]", "4")
    tiles.nth(7).click()
    expect(page.locator("#result-title")).to_contain_text("Variations around seed 4")
    expect(page.locator("#results .tile")).to_have_count(4)

    # pick two and morph: a strip and a GIF
    page.click("#generate-form button[type=submit]")
    expect(page.locator("#results .tile")).to_have_count(40)
    page.check("input[name=morph]")
    tiles.nth(0).click()
    tiles.nth(3).click()
    page.fill("input[name=steps]", "5")
    page.click("#morph-button")
    expect(page.locator("#results img.gif")).to_be_visible()
    expect(page.locator("#results img.sheet")).to_have_attribute("src", re.compile(r"strip\.png$"))


def test_stylize_an_uploaded_photo(open_page, tmp_path: Path, screenshot_dir: Path) -> None:
    page = open_page("stylize")
    page.set_input_files("input[name=content_file]", photo(tmp_path))
    expect(page.locator("select[name=content]")).to_have_value(re.compile("^[0-9a-f]{16}$"))
    page.select_option("select[name=method]", "fast")
    page.check("input[name=style][value=starry_night]")
    page.fill("input[name=size]", "256")
    page.click("#stylize-form button[type=submit]")
    compare = page.locator("#results .compare")
    expect(compare).to_be_visible()
    expect(compare.locator("img.after")).to_have_attribute("src", re.compile(r"stylized\.png$"))
    expect(page.locator("#results .downloads a")).not_to_have_count(0)
    page.locator("#results .compare-slider").fill("70")
    expect(compare.locator("img.after")).to_have_attribute("style", re.compile(r"inset\(0(px)? 30%"))
    page.set_viewport_size({"width": 1280, "height": 1120})  # the form and the result
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshot_dir / "studio-stylize.png")


def test_compose_from_a_typed_primer_and_play_it(open_page) -> None:
    page = open_page("compose")
    play_keys(page, "adgk")  # C E G C
    expect(page.locator("#phrase-count")).to_contain_text("4 notes")
    form = page.locator("#compose-form")
    form.locator("select[name=model]").select_option("essen-melody-rnn")
    form.locator("input[name=bars]").fill("2")
    form.locator("input[name=bars]").press("Control+Enter")  # the shortcut runs the form
    card = page.locator("#melodies .melody").first
    expect(card).to_be_visible()
    expect(card.locator(".downloads a", has_text=".mid")).to_have_count(1)
    expect(card.locator(".downloads a", has_text=".wav")).to_have_count(1)
    card.locator("button.play").click()
    expect(card.locator(".status")).to_contain_text("playing")
    expect(card.locator(".status")).to_contain_text("played", timeout=15_000)

    # morph from that melody to an uploaded one (MusicVAE)
    from atelier.data.examples import MUSIC_DIR

    morph = page.locator("#morph-form")
    morph.locator("input[name=melody_file]").set_input_files(MUSIC_DIR / "tune_b.mid")
    expect(morph.locator("select[name=b] option", has_text="uploaded: tune_b.mid")).to_have_count(1)
    morph.locator("select[name=a]").select_option(label=card.locator("h3").inner_text())
    morph.locator("select[name=b]").select_option(label="uploaded: tune_b.mid")
    morph.locator("input[name=steps]").fill("3")
    morph.locator("button[type=submit]").click()
    expect(page.locator("#morphs .melody .downloads a", has_text="interpolation.mid")).to_have_count(1)
    expect(page.locator("#morphs .melody .status")).to_contain_text("notes")


def test_call_and_response_for_three_turns(open_page, screenshot_dir: Path) -> None:
    page = open_page("compose")
    answer = page.locator("#respond-form button[type=submit]")
    for turn, phrase in enumerate(["asdf", "ghjk", "fdsa"], start=1):
        play_keys(page, phrase)
        answer.click()
        expect(page.locator("#turns")).to_have_text(f"{turn} turn{'s' if turn > 1 else ''}")
        expect(page.locator("#phrase-count")).to_have_text("no notes")  # the call moved into the conversation
        expect(page.locator("#play-status")).to_contain_text(re.compile("answer|silence"))
    page.locator("#respond-form").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "studio-compose.png")


def test_queue_three_jobs_and_cancel_one(open_page, screenshot_dir: Path) -> None:
    page = open_page("generate")
    # three jobs at once: two of a couple of seconds each (a row of 25 per class: 250 pictures), a small one
    ids = page.evaluate("""async () => {
        const {submitJob} = await import("/static/common.js");
        const row = (seed) => ({model: "mnist-cgan", n: 25, seed, label: "all"});
        return [await submitJob("sample", row(0)), await submitJob("sample", row(1)),
                await submitJob("sample", {model: "mnist-dcgan", n: 2, seed: 6, label: null})];
    }""")
    rows = [page.locator(f"#queue-list li[data-job='{job_id}']") for job_id in ids]
    expect(rows[0]).to_have_attribute("data-status", "running")
    page.keyboard.press("Escape")  # Esc cancels the running job
    expect(rows[0]).to_have_attribute("data-status", "cancelled")
    expect(rows[1]).to_have_attribute("data-status", "running")
    expect(rows[2]).to_have_attribute("data-status", "queued")
    expect(rows[1].locator("progress")).to_be_visible()
    page.screenshot(path=screenshot_dir / "studio-queue.png")
    rows[2].locator("button.cancel").click()  # a queued job: it never runs
    expect(rows[2]).to_have_attribute("data-status", "cancelled")
    expect(rows[1]).to_have_attribute("data-status", "done")
    jobs = {job["id"]: job for job in page.evaluate("() => fetch('/api/jobs').then(r => r.json())")}
    assert [jobs[i]["status"] for i in ids] == ["cancelled", "done", "cancelled"]
    assert jobs[ids[0]]["step"] < jobs[ids[0]]["total"]  # stopped part way, between two steps
    assert "item" not in jobs[ids[0]] and "item" not in jobs[ids[2]]  # nothing half-made in the history


def test_reload_keeps_the_history(open_page, screenshot_dir: Path) -> None:
    page = open_page("generate")
    page.select_option("select[name=model]", "mnist-dcgan")
    page.fill("input[name=n]", "3")
    page.fill("input[name=seed]", "42")
    page.click("#generate-form button[type=submit]")
    expect(page.locator("#results .tile")).to_have_count(3)
    page.goto(page.url.replace("/generate", "/gallery"))
    items = page.locator("#items .item")
    expect(items.first).to_be_visible()
    count = items.count()
    page.reload()
    expect(items).to_have_count(count)
    expect(items.first).to_contain_text("seed 42")
    expect(page.locator("#queue-list li.done")).not_to_have_count(0)  # the queue remembers too
    page.click("#filters button[data-kind=music]")
    expect(page.locator("#items .item.image")).to_have_count(0)
    page.click("#filters button[data-kind='']")
    expect(items).to_have_count(count)
    page.screenshot(path=screenshot_dir / "studio-gallery.png")
    # "use these settings": back on the Generate page with its form filled
    items.first.locator("button.reuse").click()
    expect(page).to_have_url(re.compile("/generate$"))
    expect(page.locator("select[name=model]")).to_have_value("mnist-dcgan")
    expect(page.locator("input[name=seed]")).to_have_value("42")
    expect(page.locator("input[name=n]")).to_have_value("3")


def test_reproduce_says_identical(open_page) -> None:
    page = open_page("generate")
    page.select_option("select[name=model]", "mnist-cgan")
    page.select_option("select[name=label]", "7")
    page.fill("input[name=n]", "2")
    page.fill("input[name=seed]", "9")
    page.click("#generate-form button[type=submit]")
    expect(page.locator("#results .tile")).to_have_count(2)
    page.click("nav a[data-page=gallery]")
    item = page.locator("#items .item", has_text="seed 9").first
    item.locator("button.reproduce").click()
    expect(item.locator(".verdict")).to_contain_text("identical")
    expect(item.locator(".verdict")).to_have_class(re.compile("identical"))


def test_a_corrupt_or_oversized_upload_shows_an_error(open_page, tmp_path: Path) -> None:
    page = open_page("stylize")
    corrupt = tmp_path / "photo.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 100)
    page.set_input_files("input[name=content_file]", corrupt)
    expect(page.locator("#message")).to_contain_text("unreadable")
    page.locator("#message").evaluate("m => { m.hidden = true; }")
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("hello")
    page.set_input_files("input[name=content_file]", not_an_image)
    expect(page.locator("#message")).to_contain_text("not an image")
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(21 * 1024 * 1024))
    page.set_input_files("input[name=content_file]", big)
    expect(page.locator("#message")).to_contain_text("at most 20 MB")
    # the server refuses it as well, when a page does not check first
    status = page.evaluate("""async () => {
        const form = new FormData();
        form.append("file", new Blob([new Uint8Array(21 * 1024 * 1024)]), "huge.png");
        const r = await fetch("/api/uploads", {method: "POST", body: form});
        return [r.status, (await r.json()).error];
    }""")
    assert status[0] == 400 and "at most 20 MB" in status[1]
    # the page and the server carry on
    page.set_input_files("input[name=content_file]", photo(tmp_path))
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("select[name=content]")).to_have_value(re.compile("^[0-9a-f]{16}$"))


def test_a_missing_token_is_refused(page: Page, studio: Studio) -> None:
    response = page.goto(f"{studio.url}/generate")
    assert response is not None and response.status == 403
    expect(page.locator("body")).to_contain_text("token")
    response = page.goto(f"{studio.url}/generate?token=wrong")
    assert response is not None and response.status == 403
    api = page.request.get(f"{studio.url}/api/items")
    assert api.status == 403 and "token" in api.json()["error"]


def test_a_foreign_host_is_refused(page: Page, studio: Studio) -> None:
    """DNS rebinding: evil.test resolves to 127.0.0.1 (the browser's resolver rule), and even with
    the token the studio refuses a page whose Host is not its own."""
    response = page.goto(f"http://evil.test:{studio.port}/generate?token={studio.token}")
    assert response is not None and response.status == 403
    expect(page.locator("body")).to_contain_text("host")


def _post(studio: Studio, path: str, body: dict, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=10)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def test_a_foreign_origin_is_refused(page: Page, studio: Studio) -> None:
    """A cross-site page posting to the studio (with the token even) is refused; so is a foreign
    Host at the HTTP level, and nothing is queued."""
    page.goto(f"{studio.url}/generate?token={studio.token}")  # this browser holds the cookie
    before = len(page.evaluate("() => fetch('/api/jobs').then(r => r.json())"))
    page.goto(f"http://evil.test:{studio.port}/whatever")  # a page on another origin (refused, but it is a page)
    with page.expect_response(re.compile(r"/api/jobs$")) as refused:
        page.evaluate("""url => fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
            headers: {"Content-Type": "text/plain"},
            body: JSON.stringify({kind: "sample", params: {model: "mnist-dcgan", n: 1}})}).catch(() => null)""",
                      f"{studio.url}/api/jobs")
    assert refused.value.status == 403
    token = {"X-Atelier-Token": studio.token}
    status, body = _post(studio, "/api/jobs", {"kind": "sample", "params": {"model": "mnist-dcgan", "n": 1}},
                         {**token, "Origin": "http://evil.example"})
    assert status == 403 and "evil.example" in body["error"]
    status, body = _post(studio, "/api/jobs", {"kind": "sample", "params": {"model": "mnist-dcgan", "n": 1}},
                         {**token, "Host": f"evil.example:{studio.port}"})
    assert status == 403 and "host" in body["error"]
    page.goto(f"{studio.url}/generate?token={studio.token}")
    assert len(page.evaluate("() => fetch('/api/jobs').then(r => r.json())")) == before


def test_taste_ask_pick_generate_for_me_and_why(open_page, screenshot_dir: Path) -> None:
    page = open_page("taste")
    form = page.locator("#taste-form")
    form.locator("select[name=model]").select_option("mnist-dcgan")
    form.locator("input[name=profile]").fill("browser")
    form.locator("input[name=profile]").press("Tab")  # a new profile: no answers yet
    expect(page.locator("#answer-count")).to_have_text("0 answers")
    expect(page.locator("#profile-file")).to_contain_text("taste.sqlite")
    page.locator("#ask-form input[name=k]").fill("3")
    page.click("#ask-form button[type=submit]")
    works = page.locator("#question .choice")
    expect(works).to_have_count(3)
    first = works.first.locator("img").get_attribute("src")
    works.nth(1).locator("button.pick").click()  # "This one": recorded, and the next question comes
    expect(page.locator("#answer-count")).to_have_text("1 answer")
    expect(works.first.locator("img")).not_to_have_attribute("src", first or "")
    expect(works).to_have_count(3)
    works.nth(0).locator("button.pick").click()
    expect(page.locator("#answer-count")).to_have_text("2 answers")

    page.locator("#for-me-form input[name=n]").fill("4")
    page.click("#for-me-form button[type=submit]")
    mine = page.locator("#for-me .choice")
    expect(mine).to_have_count(4)
    mine.nth(2).locator(".star[data-stars='4']").click()  # a rating of one work
    expect(mine.nth(2).locator(".stars .status")).to_have_text("rated 4 stars")
    expect(page.locator("#answer-count")).to_have_text("3 answers")
    page.click("#why-form button[type=submit]")
    expect(page.locator("#why li").first).to_be_visible()
    expect(page.locator("#why li", has_text="brightness")).to_have_count(1)
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshot_dir / "studio-taste.png")

    # privacy: the export is every answer, as JSON; the delete asks first, then forgets them
    with page.expect_download() as download:
        page.click("#export-profile")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["profile"] == "browser" and len(exported["answers"]) == 3
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-profile")
    expect(page.locator("#message")).to_contain_text("3 answers forgotten")
    expect(page.locator("#answer-count")).to_have_text("0 answers")
