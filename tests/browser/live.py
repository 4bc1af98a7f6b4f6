"""A platform served on a free local port for the Chromium tests of one page (the pattern every page test shares)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


def new_platform(tmp_path: Path) -> tuple[str, int, Platform]:
    """(base URL, port, platform) of a fresh embedded platform; skips the test without Debian's chromium."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}",
                             job_workers=0, log_json=False, public_base_url=base)
    platform = Platform(settings)
    platform.init(admin_password=ADMIN_PASSWORD)
    return base, port, platform


@contextmanager
def serve(platform: Platform, port: int) -> Iterator[None]:
    """Serve ``platform`` on ``port`` in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
