"""Registry search page, the registry links of the address tree and the statistics by grid, in a real
headless Chromium on a phone viewport (390×844)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from citybase.demo.houses import make_uscc
from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.domains.grids import NewGrid
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.browser.live import ARGS, CHROMIUM, new_platform, serve
from tests.helpers import ADMIN_PASSWORD, add_department, add_user
from tests.test_grids import COMMUNITY, DISTRICT, EAST, STREET, WEST

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
ID = fake_citizen_id("420602", date(1979, 8, 8), 999)
USCC = make_uscc(21)


@dataclass
class Served:
    base: str
    tree: SmallTree
    platform: Platform
    org_id: int
    plate_code: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    base, port, platform = new_platform(tmp_path)
    g = platform.grids
    district = g.create(SYSTEM, NewGrid("district", "襄城区", DISTRICT, division_code="420602")).id
    street = g.create(SYSTEM, NewGrid("street", "真武山街道", STREET, district, division_code="420602001")).id
    community = g.create(SYSTEM, NewGrid("community", "檀溪社区", COMMUNITY, street, division_code="420602001001")).id
    g.create(SYSTEM, NewGrid("grid", "第1网格", WEST, community))
    g.create(SYSTEM, NewGrid("grid", "第2网格", EAST, community))
    tree = small_tree(platform)  # mapped to the grids as it is written (platform hook)
    add_department(platform, "jyj", "襄阳市教育局")
    add_user(platform, "jyj_user", "department_user", "jyj")
    platform.people.register(SYSTEM, {"id_number": ID, "name": "孙志强", "address_node_id": tree.room})
    org = platform.orgs.register(SYSTEM, {"uscc": USCC, "name": "襄阳檀溪便利店", "type": "self_employed",
                                          "legal_rep": "欧阳修文", "registered_address": "襄阳市某处"})
    platform.orgs.bind(SYSTEM, {"organisation_id": org["id"], "address_node_id": tree.building})
    plate_code = platform.addresses.node(tree.plate).display_code or ""
    with serve(platform, port):
        yield Served(base, tree, platform, org["id"], plate_code)


def _login(page: Page, base: str, username: str, password: str = "user-pass-123") -> None:
    page.goto(f"{base}/portal/registry.html")
    token = page.evaluate("""async ([username, password]) => {
        const r = await fetch('/api/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({username, password})});
        const data = await r.json();
        localStorage.setItem('citybase.token', data.token);
        return data.token; }""", [username, password])
    assert token


def _search(page: Page, q: str) -> None:
    page.fill("#regs-q", q)
    page.click("#regs-submit")


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_one_box_finds_orgs_addresses_and_people_with_links(served: Served) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{served.base}/portal/registry.html")
        expect(page.locator("#regs-login")).to_be_visible()  # anonymous: asked to log in
        _login(page, served.base, "admin", ADMIN_PASSWORD)
        page.goto(f"{served.base}/portal/")
        expect(page.locator("#registry-link")).to_have_attribute("href", "registry.html")
        page.goto(f"{served.base}/portal/registry.html")
        _search(page, USCC)
        hits = page.locator("#regs-results li.regs-hit")
        expect(hits).to_have_count(1)
        expect(page.locator("#regs-kind")).to_contain_text("统一社会信用代码")
        expect(hits.first).to_contain_text("襄阳檀溪便利店")
        expect(hits.first.locator("a.regs-link-house")).to_have_attribute(
            "href", f"/portal/house.html?node={served.tree.building}")
        hits.first.locator("a.regs-link-org").click()
        expect(page.locator("#regs-org h2")).to_have_text("襄阳檀溪便利店")
        expect(page.locator("#regs-org")).to_contain_text("欧阳**")  # the legal representative, masked
        expect(page.locator("#regs-org")).to_contain_text("檀溪花园3栋")  # where it operates
        assert "欧阳修文" not in page.locator("#regs-org").inner_text()

        _search(page, served.plate_code)
        expect(page.locator("#regs-kind")).to_contain_text("地址编码")
        expect(hits.first.locator("a.regs-link-plate")).to_have_attribute("href", f"/a/{served.plate_code}")
        hits.first.locator("a.regs-link-plate").click()
        expect(page.locator("body")).to_contain_text("57号")  # the public QR page
        page.go_back()

        _search(page, "长虹路57号檀溪花园3栋")
        expect(hits.first).to_have_attribute("data-type", "address")
        expect(hits.first.locator("a.regs-link-house")).to_have_attribute(
            "href", f"/portal/house.html?node={served.tree.building}")

        _search(page, ID)
        expect(page.locator("#regs-kind")).to_contain_text("身份证号")
        expect(hits).to_have_count(1)
        expect(hits.first).to_have_attribute("data-type", "person")
        assert "孙志强" not in hits.first.inner_text() and ID not in hits.first.inner_text()  # masked
        expect(hits.first.locator("a.regs-link-person")).to_have_attribute(
            "href", f"/portal/people.html?node={served.tree.room}")
        _no_horizontal_scroll(page)
        page.click("#lang-toggle")
        expect(page.locator("#regs-kind")).to_contain_text("citizen ID")
        expect(hits.first.locator("a.regs-link-person")).to_have_text("Person search")
        assert errors == []
        browser.close()


def test_a_department_without_a_grant_is_told_why_no_person_shows(served: Served) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, served.base, "jyj_user")
        page.goto(f"{served.base}/portal/registry.html?q={ID}")
        expect(page.locator("#regs-message")).to_contain_text("身份证号查询仅限")
        expect(page.locator("#regs-results li.regs-hit")).to_have_count(0)
        assert "孙" not in page.locator("main").inner_text()
        _search(page, USCC[:17] + ("1" if USCC[17] != "1" else "2"))  # a mistyped USCC says what is wrong
        expect(page.locator("#regs-message")).to_contain_text("check character")
        assert errors == []
        browser.close()


def test_address_tree_links_and_statistics_by_grid(served: Served) -> None:
    t = served.tree
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, served.base, "admin", ADMIN_PASSWORD)
        page.goto(f"{served.base}/portal/addresses.html?node={t.building}")
        expect(page.locator("a.addr-house-card")).to_have_attribute("href", f"house.html?node={t.building}")
        code = served.platform.addresses.node(t.building).display_code
        expect(page.locator("a.addr-plate-page")).to_have_attribute("href", f"/a/{code}")
        expect(page.locator("a.addr-plate-sheet")).to_have_count(0)  # a building has no sheet
        page.goto(f"{served.base}/portal/addresses.html?node={t.road}")
        sheet = page.locator("a.addr-plate-sheet")
        expect(sheet).to_have_attribute("href", f"/api/plates/sheet.pdf?parent={t.road}")
        with page.expect_download() as info:
            sheet.click()
        path = info.value.path()
        assert info.value.suggested_filename == f"plates-{t.road}.pdf"
        assert Path(path).read_bytes().startswith(b"%PDF")
        expect(page.locator("a.addr-house-card")).to_have_count(0)  # a road has no house card
        page.goto(f"{served.base}/portal/stats.html")
        expect(page.locator("body")).to_have_attribute("data-loaded", "1")
        expect(page.locator("#stats-grids")).to_contain_text("第2网格")  # the room is in the east grid
        assert errors == []
        browser.close()
