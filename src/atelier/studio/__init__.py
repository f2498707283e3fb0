"""Atelier Studio: a local web app over the public API — generate, stylise, compose, morph, and learn
the person's taste (the Taste tab: pick the best, rate, "generate for me", why, export, delete) — with
one worker process running jobs in order, live progress by server-sent events, and a history kept
in SQLite plus files in a data folder.

``atelier studio`` starts it (:mod:`atelier.cli.studio`); :func:`create_app` builds the FastAPI
application for a data folder, which is what tests and the benchmark use. The web dependencies are
the ``studio`` extra: ``pip install "atelier[studio]"``.
"""

from atelier.studio.app import MAX_UPLOAD_BYTES, create_app

__all__ = ["MAX_UPLOAD_BYTES", "create_app"]
