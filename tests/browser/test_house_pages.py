"""The phone page "two scans, five steps" (bind.html) at 390×844 and the house card (house.html), in a real
headless Chromium against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from citybase.demo.houses import make_uscc
from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.browser.live import ARGS, CHROMIUM, new_platform, serve
from tests.helpers import add_department, add_user

pytestmark = pytest.mark.browser
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 128
FULL = "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SmallTree, Platform]]:
    base, port, platform = new_platform(tmp_path)
    tree = small_tree(platform)
    platform.houses.create(SYSTEM, tree.building, {"use": "commercial", "structure": "钢混", "year_built": 2010})
    add_department(platform, "scjgj", "襄阳市市场监督管理局")
    add_user(platform, "collector", "department_user", "scjgj")
    with serve(platform, port):
        yield base, tree, platform


def test_two_scans_five_steps_on_a_phone(served: tuple[str, SmallTree, Platform]) -> None:
    base, tree, platform = served
    plate_code = platform.addresses.node(tree.plate).display_code
    uscc = make_uscc(4242, category="2")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/bind.html")
        expect(page.locator("#bind-login")).to_be_visible()
        page.fill("#bind-user", "collector")
        page.fill("#bind-pass", "user-pass-123")
        page.locator("#bind-login button[type=submit]").click()
        expect(page.locator("#bind-login")).to_be_hidden()
        # (1) the door-plate QR gives a URL holding the display code
        page.fill("#plate-input", f"{base}/a/{plate_code}")
        page.locator("#plate-go").click()
        expect(page.locator("#plate-found")).to_contain_text("长虹路57号")
        expect(page.locator("body")).to_have_attribute("data-step", "2")
        # (2) the shopfront photo
        page.set_input_files("#photo-input", {"name": "shop.jpg", "mimeType": "image/jpeg", "buffer": JPEG})
        expect(page.locator("#photo-done")).not_to_be_empty()
        expect(page.locator("body")).to_have_attribute("data-step", "3")
        # (3) the building, (4) the address
        page.locator(".bind-building", has_text="3栋").click()
        expect(page.locator("#confirm-address")).to_contain_text(FULL)
        page.locator("#confirm-go").click()
        expect(page.locator("body")).to_have_attribute("data-step", "5")
        # (5) a bad USCC is refused with its reason; a new one is registered and bound
        page.fill("#uscc-input", uscc[:17] + ("0" if uscc[17] != "0" else "1"))
        page.locator("#bind-go").click()
        expect(page.locator("#toast")).to_contain_text("uscc")
        page.locator("#toast button").click()
        page.fill("#uscc-input", uscc)
        page.locator("#bind-go").click()
        expect(page.locator("#org-new")).to_be_visible()
        page.fill("#org-name", "檀溪小面馆")
        page.locator("#bind-go").click()
        expect(page.locator("#bind-result")).to_contain_text("檀溪小面馆")
        expect(page.locator("body")).to_have_attribute("data-bound", uscc)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # the house card shows the bound shop
        page.goto(f"{base}/portal/house.html?node={tree.building}")
        card = page.locator("#house-card")
        expect(card).to_contain_text(FULL)
        expect(card).to_contain_text("檀溪小面馆")
        expect(card).to_contain_text("商业")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # a registry writer changes the house: a new version in the history
        page.locator("#house-edit select[name=rental_status]").select_option("出租")
        page.locator("#house-edit button[type=submit]").click()
        expect(page.locator("#house-history li")).to_have_count(2)
        # free text finds buildings through the address tree
        page.fill("#house-q", "檀溪花园")
        page.locator("#house-form button[type=submit]").click()
        expect(page.locator("#house-buildings")).to_contain_text("檀溪花园")
        page.locator("#house-buildings button", has_text="檀溪花园").click()
        expect(page.locator("#house-history li")).to_have_count(2)
        page.locator("#lang-toggle").click()
        expect(card).to_contain_text("commercial")
        expect(card).to_contain_text("rented")
        browser.close()
        assert errors == []
    org = platform.orgs.by_uscc(SYSTEM, uscc)
    [site] = [s for s in org["sites"] if s["kind"] == "operating"]
    assert site["address_node_id"] == tree.building and site["photo_path"]
    assert (platform.settings.data_dir / "photos" / site["photo_path"]).read_bytes() == JPEG
