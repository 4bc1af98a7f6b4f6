"""The public page of a door-plate QR code on a phone (390 x 844) in headless Chromium: read, report, confirm."""

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
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SmallTree, Platform]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        job_workers=0,
        log_json=False,
        public_base_url=base,
    )
    platform = Platform(settings)
    platform.init(admin_password=ADMIN_PASSWORD)
    tree = small_tree(platform)
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield base, tree, platform
    server.should_exit = True
    thread.join(10)


def test_scan_read_and_report_on_a_phone(served: tuple[str, SmallTree, Platform]) -> None:
    base, tree, platform = served
    building = platform.addresses.node(tree.building)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/a/{building.display_code}")  # what the plate's QR code opens
        expect(page.locator("#full-address")).to_have_text("湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋")
        expect(page.locator("#display-code")).to_have_text(building.display_code)
        expect(page.locator("svg.mini-map")).to_be_visible()
        expect(page.locator("ul.children")).to_contain_text("1单元")
        # nothing wider than the phone: no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.select_option("#report-kind", "wrong_plate")
        page.fill("#report-description", "门牌被遮挡，看不清楼号")
        page.fill("#report-phone", "13812345678")
        submit = page.locator("#report-submit")
        submit.scroll_into_view_if_needed()
        submit.tap()
        result = page.locator("#report-result")
        expect(result).to_have_class("ok", timeout=10000)
        reference = str(page.evaluate("document.getElementById('report-result').dataset.reference"))
        expect(result).to_contain_text(reference)
        task = platform.collect.get(SYSTEM, int(reference.removeprefix("SB")))
        assert (task.kind, task.source, task.address_node_id) == ("address.report", "scan", tree.building)
        assert task.detail["description"] == "门牌被遮挡，看不清楼号"
        expect(page.locator("#report-description")).to_have_value("")  # the form is reset for the next report
        # an empty description is refused with the reason shown, and nothing is sent twice
        submit.tap()
        expect(result).to_have_class("fail")
        expect(result).to_contain_text("description")
        page.goto(f"{base}/a/NO-SUCH-CODE")
        expect(page.locator("#not-found")).to_contain_text("未找到该地址")
        browser.close()
    # the refused report (400) and the unknown code (404) are expected; no script or CSP error is
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
