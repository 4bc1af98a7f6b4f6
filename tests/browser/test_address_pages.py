"""The address tree browser and the naming-workflow page in a real headless Chromium against a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import ADMIN_PASSWORD, add_department, add_user

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


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
    add_department(platform, "mzj", "民政局")
    add_user(platform, "mzj_user", "department_user", "mzj")
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield base, tree, platform
    server.should_exit = True
    thread.join(10)


def test_tree_browser_walks_down_with_counts_and_flies_to_the_node(served: tuple[str, SmallTree, Platform]) -> None:
    base, tree, _ = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/addresses.html")
        kids = page.locator("#addr-children")
        expect(kids).to_contain_text("湖北省")
        for name in ("湖北省", "襄阳市", "襄城区", "真武山街道", "檀溪社区", "长虹路", "57号", "檀溪花园"):
            kids.get_by_role("button", name=name).click()
            expect(page.locator("#addr-detail h2")).to_contain_text(name)
        row = kids.get_by_role("button", name="3栋")
        expect(row.locator(".addr-count")).to_have_text("1")  # one unit below the building
        row.click()
        expect(page.locator("#addr-detail")).to_contain_text(
            "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋"
        )
        expect(page.locator("body")).to_have_attribute("data-flown", str(tree.building), timeout=15000)
        expect(page.locator("#addr-crumbs")).to_contain_text("檀溪花园")
        page.locator("#addr-crumbs").get_by_role("button", name="长虹路").click()
        expect(page.locator("a.propose-here")).to_have_attribute("href", f"naming.html?parent={tree.road}")
        page.fill("#addr-q", "檀溪社区居委会")  # a common name finds the community
        page.click("#addr-search button")
        expect(kids).to_contain_text("湖北省襄阳市襄城区真武山街道檀溪社区")
        page.click("#lang-toggle")
        expect(page.locator("#addr-children-title")).to_have_text("Below this address")
        assert errors == []
        browser.close()


def test_naming_page_proposes_and_approves(served: tuple[str, SmallTree, Platform]) -> None:
    base, tree, platform = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/")
        token = page.evaluate("""async () => {
            const r = await fetch('/api/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({username: 'mzj_user', password: 'user-pass-123'})});
            const data = await r.json();
            localStorage.setItem('citybase.token', data.token);
            return data.token; }""")
        assert token
        page.goto(f"{base}/portal/naming.html?parent={tree.community}")
        page.fill("#naming-name", "檀溪东路")
        page.click("#naming-submit")
        row = page.locator("#naming-list tr").first
        expect(row).to_contain_text("檀溪东路")
        expect(row).to_contain_text("待审")
        row.locator("button.step-approve").click()
        expect(row).to_contain_text("已登记")
        assert [w.state for w in platform.addresses.workflows.list()] == ["recorded"]
        assert platform.addresses.search("檀溪东路", level="road")
        assert errors == []
        browser.close()


def test_the_map_search_suggests_standard_addresses_while_typing(served: tuple[str, SmallTree, Platform]) -> None:
    """Type-ahead on the map page answers from the address registry; choosing a row flies there."""
    base, tree, platform = served
    plate = platform.addresses.record(tree.plate)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/")
        _poll(page, "() => !!(window.__citybase && window.__citybase.map.loaded())")
        page.locator("#search-input").press_sequentially("长虹路57", delay=40)  # no Enter: type-ahead
        row = page.locator("#search-results button.result-address").first
        expect(row).to_be_visible(timeout=10000)
        expect(row.locator(".result-name")).to_contain_text("长虹路57号")
        row.click()
        near = (
            "([x, y]) => { const c = window.__citybase.map.getCenter();"
            " return Math.abs(c.lng - x) < 1e-4 && Math.abs(c.lat - y) < 1e-4; }"
        )
        _poll(page, near, [plate.lon, plate.lat])
        assert errors == []
        browser.close()


def _poll(page: Any, predicate: str, arg: Any = None, timeout: float = 20.0) -> None:
    """Wait until ``predicate`` is true in the page (the portal's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.1)
