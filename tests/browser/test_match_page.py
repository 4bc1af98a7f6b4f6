"""The batch address matching page in a real headless Chromium against a real server (SQLite)."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD
from tests.test_address_matching_api import load_registry

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}", job_workers=1, log_json=False
    )
    platform = Platform(settings)
    platform.init(admin_password=ADMIN_PASSWORD)
    load_registry(platform)
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_upload_follow_and_download(served: str, tmp_path: Path) -> None:
    upload = tmp_path / "部门地址.csv"
    upload.write_bytes("编号,address\n1,樊城区人民路12号2栋\n2,\n3,人民路99号\n4,长征路7号\n".encode("gbk"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(served + "/portal/")
        expect(page.locator("#match-link")).to_have_attribute("href", "match.html")
        page.goto(served + "/portal/match.html")
        expect(page.locator("#match-login")).to_be_visible()
        expect(page.locator("h1")).to_have_text("地址批量匹配")
        page.evaluate("([u, p]) => import('./api.js').then((m) => m.api.login(u, p))", ["admin", ADMIN_PASSWORD])
        expect(page.locator("#match-login")).to_be_hidden()
        page.set_input_files("#match-file", str(upload))
        page.click("#match-submit")
        expect(page.locator("#match-state")).to_have_text("已完成", timeout=30_000)
        expect(page.locator("#count-matched dd")).to_have_text("1")
        expect(page.locator("#count-error dd")).to_have_text("1")
        expect(page.locator("#count-ambiguous dd")).to_have_text("1")
        expect(page.locator("#match-row-errors")).to_contain_text("empty")
        with page.expect_download() as info:
            page.click("#match-download")
        path = info.value.path()
        rows = list(csv.DictReader(io.StringIO(Path(path).read_bytes().decode("utf-8-sig"))))
        assert [r["status"] for r in rows] == ["matched", "error", "partial", "ambiguous"]
        assert rows[0]["full_address"].endswith("人民路12号2栋")
        page.click("#lang-toggle")
        expect(page.locator("h1")).to_have_text("Batch address matching")
        expect(page.locator("#match-state")).to_have_text("done")
        assert errors == []
        browser.close()
