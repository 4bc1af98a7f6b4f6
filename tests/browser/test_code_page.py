"""The portal's code page (what a QR label opens) in a real headless Chromium against a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from citybase.domains.access import SYSTEM
from citybase.domains.codes import Part
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD, add_building, add_department

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
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
    add_department(platform)
    east = add_building(platform, "东楼")
    west = add_building(platform, "西楼", dx=0.0003)
    codes = {"east": platform.codes.assign(SYSTEM, east.id).code, "west": platform.codes.assign(SYSTEM, west.id).code}
    platform.codes.map_legacy(SYSTEM, "zjj", "LP-001", codes["east"])
    codes["merged"] = platform.codes.merge(SYSTEM, [codes["east"], codes["west"]], Part("东西楼")).code
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield base, codes
    server.should_exit = True
    thread.join(10)


def test_the_code_page_shows_the_card_lineage_and_label(served: tuple[str, dict[str, str]]) -> None:
    base, codes = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/code.html?code={codes['east']}")
        card = page.locator("#code-card")
        expect(card).to_contain_text("东楼")
        expect(card).to_contain_text("注销 retired")
        expect(card.get_by_role("link", name=codes["merged"])).to_be_visible()
        expect(card).to_contain_text("LP-001")
        expect(card.locator("img.label-preview")).to_have_attribute("src", f"/api/codes/{codes['east']}/label.svg")
        card.get_by_role("link", name=codes["merged"]).click()
        expect(card).to_contain_text("东西楼")
        expect(card).to_contain_text("来源 / came from")
        wrong = codes["east"][:20] + ("0" if codes["east"][20] != "0" else "1")
        page.fill("#code-input", wrong)
        page.click("#code-form button")
        expect(card).to_contain_text("check character")
        assert errors == []
        browser.close()
