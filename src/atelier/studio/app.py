"""The studio's web server: :func:`create_app` builds the FastAPI application for one data folder.

Requests pass :class:`Guard` first (the token, the Host and the Origin); pages are Jinja2 templates
(``studio/templates``) with plain JavaScript modules (``studio/static``); the JSON API queues jobs
for the one worker (:mod:`atelier.studio.jobs`) and streams their progress as server-sent events.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
from collections.abc import Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from atelier.checkpoint import read_header
from atelier.errors import AtelierError
from atelier.studio import taste
from atelier.studio.jobs import Hub, Runner, Store, is_id, new_id, upload_meta
from atelier.studio.params import ITEM_KINDS, PAGES, Catalog, check_params
from atelier.taste.profile import DEFAULT_PROFILE

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 25_000_000  # 5000×5000: far above what the models paint, far below a decompression bomb
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
COOKIE = "atelier_token"
HEADER = "x-atelier-token"
PAGE_NAMES = ("generate", "stylize", "compose", "taste", "gallery")
KEEPALIVE_S = 15.0
HERE = Path(__file__).resolve().parent
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF87a", ".gif"), (b"GIF89a", ".gif"),
               (b"BM", ".bmp"))
# The catalogue's sections, by model kind: what the pages offer where (cyclegan and the classifier have no page).
SECTIONS = {"gan": "image", "vae": "image", "fast_style": "fast", "adain": "adain", "melody_rnn": "music",
            "melody_transformer": "music", "music_vae": "music"}
MEDIA_TYPES = {".png": "image/png", ".gif": "image/gif", ".mid": "audio/midi", ".wav": "audio/wav",
               ".musicxml": "application/vnd.recordare.musicxml+xml", ".json": "application/json"}


# ---------------------------------------------------------------------------------------------
# Security: every request carries the token; foreign Host and Origin headers are refused
# ---------------------------------------------------------------------------------------------


def _hostname(host: str) -> str:
    """``127.0.0.1:7860`` -> ``127.0.0.1``; ``[::1]:7860`` -> ``::1``."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: refuses a request unless its Host is local (DNS rebinding), its Origin, when
    sent, is this server (cross-site requests), and it carries the token — in the query (pages then
    set an HttpOnly cookie and drop it from the address), the cookie, or the ``X-Atelier-Token``
    header. A request that changes something (not GET) must carry it in the cookie or the header."""

    def __init__(self, app: Any, *, token: str, hosts: tuple[str, ...]) -> None:
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            return await _refuse(scope, send, f"host {host!r} is not this studio's")
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return await _refuse(scope, send, f"requests from {origin!r} are refused")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        cookie = SimpleCookie(headers.get("cookie", ""))
        given = {"query": query.get("token"), "header": headers.get(HEADER),
                 "cookie": cookie[COOKIE].value if COOKIE in cookie else None}
        safe = scope["method"] in ("GET", "HEAD")
        accepted = [where for where, value in given.items() if value is not None and (safe or where != "query")
                    and secrets.compare_digest(value.encode(), self.token.encode())]
        if not accepted:
            return await _refuse(scope, send, "a valid access token is needed: open the address `atelier studio` printed")
        if accepted == ["query"] and safe and not scope["path"].startswith(("/api/", "/static/")):
            # A page opened from the printed address: keep the token in a cookie, not in the address bar.
            rest = urlencode([(k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1")) if k != "token"])
            response = RedirectResponse(scope["path"] + ("?" + rest if rest else ""), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return await response(scope, receive, send)
        await self.app(scope, receive, send)


async def _refuse(scope: dict, send: Any, message: str) -> None:
    if scope["path"].startswith("/api/"):
        response: Response = JSONResponse({"error": message}, status_code=403)
    else:
        response = Response(f"<!doctype html><title>Atelier Studio</title><p>Forbidden: {message}</p>",
                            status_code=403, media_type="text/html")
    await response(scope, None, send)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


# ---------------------------------------------------------------------------------------------
# What the pages offer: models, paintings, photos
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _models() -> dict[str, Any]:
    """The shipped models by what they make (image models are loaded once to read their classes)."""
    import atelier
    from atelier import zoo
    from atelier.data.photos import PAINTINGS, PHOTOS, TEXTURES

    kinds = {name: entry.kind for name, entry in zoo.read_manifest().items()}
    image = []
    for name in sorted(n for n, k in kinds.items() if k in ("gan", "vae")):
        config = atelier.load(name).config
        image.append({"name": name, "kind": kinds[name], "num_classes": config.num_classes,
                      "channels": config.channels})
    return {"image": image, "fast": sorted(n for n, k in kinds.items() if k == "fast_style"),
            "adain": sorted(n for n, k in kinds.items() if k == "adain"),
            "music": [{"name": n, "kind": kinds[n]} for n in sorted(kinds) if kinds[n] in ("melody_rnn", "melody_transformer", "music_vae")],
            "paintings": list(PAINTINGS), "textures": list(TEXTURES), "photos": list(PHOTOS), "kinds": kinds}


_HEADERS: dict[tuple[str, int, int], tuple[str, dict[str, Any]] | None] = {}  # (path, mtime, size) -> kind, config


def _checkpoint_header(path: Path) -> tuple[str, dict[str, Any]] | None:
    """An Atelier checkpoint's kind and config from its safetensors header alone (no tensors read);
    None for anything else (another safetensors file, a corrupt one). Cached while the file is unchanged."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _HEADERS:
        try:
            meta = read_header(path)
            _HEADERS[key] = (meta["kind"], dict(meta.get("config") or {}))
        except AtelierError:  # not ours or unreadable: left out of the catalogue, never a failed page
            _HEADERS[key] = None
    return _HEADERS[key]


def own_models(model_dirs: Sequence[Path]) -> dict[str, tuple[Path, str, dict[str, Any]]]:
    """Every Atelier checkpoint (``*.safetensors``, recursively) under ``model_dirs`` of a kind a page
    uses, by a short name: the folder's own name and the path inside it (``runs/moths/checkpoint.safetensors``);
    the whole path where two folders share a name. Name -> (file, kind, config)."""
    found: dict[str, tuple[Path, str, dict[str, Any]]] = {}
    for folder in model_dirs:
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.safetensors")):
            header = _checkpoint_header(path) if path.is_file() else None
            if header is None or header[0] not in SECTIONS:
                continue
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            found[str(path) if name in found else name] = (path, *header)
    return found


def _catalogue(shipped: dict[str, Any], own: dict[str, tuple[Path, str, dict[str, Any]]]) -> dict[str, Any]:
    """The shipped catalogue with the own models added to their sections (after the shipped ones)."""
    out = {k: list(v) if isinstance(v, list) else dict(v) for k, v in shipped.items()}
    for name, (_path, kind, config) in own.items():
        section = SECTIONS[kind]
        if section == "image":
            out["image"].append({"name": name, "kind": kind, "num_classes": config.get("num_classes", 0) or 0,
                                 "channels": config.get("channels", 1), "own": True})
        elif section == "music":
            out["music"].append({"name": name, "kind": kind, "own": True})
        else:
            out[section].append(name)
        out["kinds"][name] = kind
    return out


# ---------------------------------------------------------------------------------------------
# Uploads: checked by content, stored under an id
# ---------------------------------------------------------------------------------------------


def _store_upload(data_dir: Path, data: bytes, client_name: str) -> dict[str, Any]:
    """Decide the type from the bytes, check it decodes, store it as uploads/<id>; else AtelierError."""
    import hashlib

    if data[:4] == b"MThd":
        kind, suffix = "midi", ".mid"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind, suffix = "image", ".webp"
    else:
        kind, suffix = "image", next((s for magic, s in IMAGE_MAGIC if data.startswith(magic)), None)
        if suffix is None:
            raise AtelierError("not an image (PNG, JPEG, WebP, GIF, BMP) or a MIDI file")
    upload_id = new_id()
    staging = data_dir / "uploads" / f".staging-{upload_id}"
    staging.mkdir(parents=True)
    try:
        path = staging / f"upload{suffix}"
        path.write_bytes(data)
        meta = {"id": upload_id, "kind": kind, "name": Path(client_name or "upload").name[:120] or "upload",
                "file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        try:
            if kind == "image":
                from atelier.imageio import read_image

                meta["width"], meta["height"] = read_image(path, max_pixels=MAX_UPLOAD_PIXELS).size
            else:
                from atelier.music.midi import read_midi

                meta["notes"] = len(read_midi(path).notes)
        except AtelierError as error:
            raise AtelierError(f"{'image' if kind == 'image' else 'MIDI file'} unreadable: "
                               f"{str(error).replace(str(path), 'upload')}") from None
        except Exception as error:  # a corrupt file can fail deep in a decoder; the server lives on
            raise AtelierError(f"{'image' if kind == 'image' else 'MIDI file'} unreadable: {type(error).__name__}") from None
        (staging / "meta.json").write_text(json.dumps(meta))
        staging.rename(data_dir / "uploads" / upload_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {k: meta[k] for k in ("id", "kind", "name", "width", "height") if k in meta}


# ---------------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------------


def create_app(data_dir: Path, *, token: str | None = None, hosts: tuple[str, ...] = (),
               model_dirs: Sequence[Path] | None = None) -> FastAPI:
    """The studio for ``data_dir`` (created if missing). ``token``: the access token (default: a new
    random one, ``app.state.token``). ``hosts``: Host names accepted besides 127.0.0.1, localhost and
    ::1 (the address the server is bound to). ``model_dirs``: folders whose Atelier checkpoints are
    offered beside the shipped models (default: ``data_dir/models``). The worker starts with the
    app's lifespan."""
    data_dir = Path(data_dir)
    model_dirs = (data_dir / "models",) if model_dirs is None else tuple(Path(d) for d in model_dirs)
    (data_dir / "uploads").mkdir(parents=True, exist_ok=True)
    store, hub = Store(data_dir), Hub()
    runner = Runner(store, hub)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(runner.stop)

    app = FastAPI(title="Atelier Studio", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token = token or secrets.token_urlsafe(24)
    app.state.store, app.state.runner, app.state.hub = store, runner, hub
    app.add_middleware(Guard, token=app.state.token, hosts=tuple(LOCAL_HOSTS) + tuple(hosts))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static"), check_dir=False), name="static")

    def all_models() -> dict[str, Any]:
        """Shipped and own models; the folders are looked at again each time (a run may have finished)."""
        own = own_models(model_dirs)
        return {**_catalogue(_models(), own), "files": {name: path for name, (path, _k, _c) in own.items()}}

    def catalog() -> Catalog:
        from atelier.data.photos import PHOTOS

        models = all_models()
        return Catalog(models=models["kinds"], paintings=tuple(models["paintings"]), photos=tuple(PHOTOS),
                       data_dir=data_dir, upload_kind=lambda i: (upload_meta(data_dir, i) or {}).get("kind"),
                       item_kind=lambda i: (store.item(i) or {}).get("kind") if is_id(i) else None,
                       item_files=lambda i: (store.item(i) or {}).get("files", []) if is_id(i) else [],
                       model_files=models["files"])

    # -- pages
    @app.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/generate", status_code=303)

    def page(name: str):
        def render(request: Request) -> Response:
            return templates.TemplateResponse(request, f"{name}.html",
                                              {"page": name, "max_upload_bytes": MAX_UPLOAD_BYTES})
        render.__name__ = f"page_{name}"
        return render

    for name in PAGE_NAMES:
        app.get(f"/{name}")(page(name))

    # -- the catalogue and uploads
    @app.get("/api/models")
    async def models() -> dict[str, Any]:
        found = await run_in_threadpool(all_models)
        return {k: v for k, v in found.items() if k not in ("kinds", "files")}

    @app.post("/api/uploads")
    async def upload(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_UPLOAD_BYTES + 64 * 1024:
            return _error(f"uploads are at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        try:
            form = await request.form(max_files=1, max_fields=4)
        except Exception:
            return _error("send the file as multipart form data, field 'file'")
        file = form.get("file")
        if file is None or isinstance(file, str):
            return _error("send the file as multipart form data, field 'file'")
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            return _error(f"uploads are at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        if not data:
            return _error("the file is empty")
        try:
            return JSONResponse(await run_in_threadpool(_store_upload, data_dir, data, file.filename or ""))
        except AtelierError as error:
            return _error(str(error))

    # -- jobs
    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error("the body must be JSON: {\"kind\": ..., \"params\": {...}}")
        if not isinstance(body, dict):
            return _error("the body must be a JSON object: {\"kind\": ..., \"params\": {...}}")
        try:
            params = await run_in_threadpool(check_params, body.get("kind"), body.get("params", {}), catalog())
        except AtelierError as error:
            return _error(str(error))
        job = store.add_job(body["kind"], params)
        hub.publish(job)
        runner.wake()
        return JSONResponse({"id": job["id"]}, status_code=202)

    @app.get("/api/jobs")
    def jobs() -> list[dict[str, Any]]:
        return store.jobs()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> Response:
        found = store.job(job_id) if is_id(job_id) else None
        return _error("no such job", 404) if found is None else JSONResponse(found)

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> Response:
        found = runner.cancel(job_id) if is_id(job_id) else None
        return _error("no such job", 404) if found is None else JSONResponse({"status": found["status"]})

    @app.get("/api/events")
    async def events() -> StreamingResponse:
        entry = hub.subscribe()

        async def stream():
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        data = await asyncio.wait_for(entry[1].get(), timeout=KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {data}\n\n"
            finally:
                hub.unsubscribe(entry)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- items
    @app.get("/api/items")
    def items(kind: str | None = None) -> Response:
        if kind is not None and kind not in set(ITEM_KINDS.values()):
            return _error(f"kind {kind!r}: choose one of: {', '.join(sorted(set(ITEM_KINDS.values())))}")
        return JSONResponse(store.items(kind))

    @app.get("/api/items/{item_id}")
    def item(item_id: str) -> Response:
        found = store.item(item_id) if is_id(item_id) else None
        return _error("no such item", 404) if found is None else JSONResponse(found)

    @app.get("/api/items/{item_id}/files/{name}")
    def item_file(item_id: str, name: str) -> Response:
        path = store.item_file(item_id, name)
        if path is None or not path.is_file():
            return _error("no such file", 404)
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"), filename=name)

    @app.post("/api/items/{item_id}/reuse")
    def reuse(item_id: str) -> Response:
        found = store.item(item_id) if is_id(item_id) else None
        if found is None:
            return _error("no such item", 404)
        kind = found["recipe"]["job"]
        return JSONResponse({"page": PAGES[kind], "kind": kind, "params": found["recipe"]["params"]})

    # -- taste: the profile file needs no model, so these answer at once (asking, rating, generating
    # for the person and "why" are jobs: atelier.studio.taste)
    def answer_counts(profile: str) -> dict[str, int]:
        own = {str(path): name for name, path in all_models()["files"].items()}  # own models' answers: by checkpoint
        return taste.answer_counts(data_dir, profile, own)

    async def taste_call(call, *args) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(call, *args))
        except AtelierError as error:
            return _error(str(error))

    @app.get("/api/taste/profiles/{profile}")
    async def taste_profile(profile: str) -> Response:
        return await taste_call(lambda: {"profile": profile, "answers": answer_counts(profile),
                                         "file": str(taste.profile_path(data_dir).resolve())})

    @app.post("/api/taste/answer")
    async def taste_answer(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error("the body must be a JSON object: {\"profile\": ..., \"question\": ..., \"picked\": 0}")
        profile = body.get("profile", DEFAULT_PROFILE)

        def record() -> dict[str, Any]:
            answer_id = taste.answer(data_dir, profile, body.get("question"), body.get("picked"))
            return {"answer": answer_id, "answers": answer_counts(profile)}
        return await taste_call(record)

    @app.get("/api/taste/profiles/{profile}/export")
    async def taste_export(profile: str) -> Response:
        response = await taste_call(taste.export, data_dir, profile)
        if response.status_code == 200:
            response.headers["Content-Disposition"] = f'attachment; filename="taste-{profile}.json"'
        return response

    @app.post("/api/taste/profiles/{profile}/delete")
    async def taste_delete(profile: str) -> Response:
        return await taste_call(lambda: {"profile": profile, "deleted": taste.delete(data_dir, profile)})

    @app.get("/api/taste/questions/{profile}/{question}/{name}")
    def taste_question_file(profile: str, question: str, name: str) -> Response:
        path = taste.question_file(data_dir, profile, question, name)
        if path is None:
            return _error("no such file", 404)
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))

    return app
