"""The public page of a door-plate QR code on a phone (390 x 844) in headless Chromium: read, report, confirm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.browser.live import ARGS, CHROMIUM, new_platform, serve

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SmallTree, Platform]]:
    base, port, platform = new_platform(tmp_path)
    tree = small_tree(platform)
    with serve(platform, port):
        yield base, tree, platform


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
