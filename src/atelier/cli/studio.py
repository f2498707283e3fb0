"""``atelier studio``: the local web app (FastAPI + uvicorn), reachable with the token it prints."""

from __future__ import annotations

import argparse
import secrets
import threading
import webbrowser
from pathlib import Path

from atelier.errors import AtelierError

DEFAULT_DATA_DIR = Path.home() / "atelier-studio"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("studio", help="the web studio: generate, stylise, compose, with a queue and a history")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only; others need the token too)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                   help=f"where the history and its files are kept (default: {DEFAULT_DATA_DIR})")
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
    token = secrets.token_urlsafe(24)
    app = create_app(Path(args.data_dir), token=token, hosts=(args.host,))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/generate?token={token}"
    print(f"Atelier Studio: {url}\n(data in {args.data_dir}; Ctrl+C stops it)", flush=True)
    if args.open:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    # Open event streams never end by themselves: give them 2 s at Ctrl+C, then close them.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0
