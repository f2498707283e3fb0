"""The studio under a real uvicorn server in a background thread, and Playwright pointed at Debian's
Chromium (``playwright install`` cannot download browsers here): ``apt-get install chromium``; the
Makefile and .ci/run install it when missing."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TOKEN = "test-token-for-the-browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"


@dataclass(frozen=True)
class Studio:
    """A running studio: its address (without the token) and its data folder."""

    url: str
    port: int
    data_dir: Path
    token: str = TOKEN

    def page_url(self, page: str) -> str:
        return f"{self.url}/{page}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """One server for the session (its worker keeps the models loaded, which keeps the tests fast)."""
    uvicorn = pytest.importorskip("uvicorn")
    from atelier.studio.app import create_app

    data_dir = tmp_path_factory.mktemp("studio")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(data_dir, token=TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="studio-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the studio server did not start")
        time.sleep(0.05)
    yield Studio(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir)
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, pointed at the system Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed for the studio's browser tests: apt-get install chromium ({CHROMIUM} missing)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--autoplay-policy=no-user-gesture-required", "--mute-audio",
                     "--host-resolver-rules=MAP evil.test 127.0.0.1"]}  # a rebinding attacker's name


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where the tests' screenshots go: docs/images (the README's) with ATELIER_SCREENSHOTS=1, as
    `make pictures` sets; otherwise a temporary folder, so a test run leaves the repository as it was."""
    if os.environ.get("ATELIER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path
