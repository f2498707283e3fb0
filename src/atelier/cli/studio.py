"""``atelier studio``: the local web app (FastAPI + uvicorn), reachable with the token it prints."""

from __future__ import annotations

import argparse
import secrets
import threading
import webbrowser
from pathlib import Path

from atelier.cache import studio_folder
from atelier.errors import AtelierError

DEFAULT_DATA_DIR = studio_folder()


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("studio", help="the web studio: generate, stylise, compose, with a queue and a history")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only; others need the token too)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                   help=f"where the history and its files are kept (default: {DEFAULT_DATA_DIR})")
    p.add_argument("--models", action="append", metavar="DIR",
                   help="a folder whose Atelier checkpoints (*.safetensors, in subfolders too) the pages offer "
                        "beside the shipped models; repeatable (default: DATA_DIR/models, and ./runs if present)")
    p.add_argument("--open", action="store_true", help="open the studio in the web browser")
    p.set_defaults(handler=_studio)


def _studio(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from atelier.studio import create_app
    except ImportError as error:
        raise AtelierError(f"the studio needs its web packages ({error.name} is missing): "
                           "pip install \"atelier[studio]\"") from None
    if not 1 <= args.port <= 65535:
        raise AtelierError(f"--port {args.port}: must be in 1..65535")
    if args.models is None:  # where `atelier train --out runs/NAME` puts a run, and the studio's own folder
        model_dirs = [Path(args.data_dir) / "models"] + ([Path("runs")] if Path("runs").is_dir() else [])
    else:
        model_dirs = [Path(d) for d in args.models]
        missing = [str(d) for d in model_dirs if not d.is_dir()]
        if missing:
            raise AtelierError(f"--models {missing[0]}: no such folder")
    token = secrets.token_urlsafe(24)
    app = create_app(Path(args.data_dir), token=token, hosts=(args.host,), model_dirs=model_dirs)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/generate?token={token}"
    print(f"Atelier Studio: {url}\n(data in {args.data_dir}; own models from {', '.join(map(str, model_dirs))}; "
          "Ctrl+C stops it)", flush=True)
    if args.open:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    # Open event streams never end by themselves: give them 2 s at Ctrl+C, then close them.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0
