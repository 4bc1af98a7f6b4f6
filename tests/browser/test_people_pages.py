"""The person search and population statistics pages in a real headless Chromium, on a phone viewport:
masked results for everyone, full values only with a grant and a purpose (and audited)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM, audit_entries
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.browser.live import ARGS, CHROMIUM, new_platform, serve
from tests.helpers import add_department, add_user

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
ID = fake_citizen_id("420602", date(1979, 8, 8), 999)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, SmallTree, Platform]]:
    base, port, platform = new_platform(tmp_path)
    tree = small_tree(platform)
    gaj = add_department(platform, "gaj", "襄阳市公安局")
    add_department(platform, "jyj", "襄阳市教育局")
    add_user(platform, "gaj_user", "department_user", "gaj")
    add_user(platform, "jyj_user", "department_user", "jyj")
    platform.personal_grants.grant(SYSTEM, gaj.id, "all", "治安管理")
    platform.people.register(SYSTEM, {"id_number": ID, "name": "孙志强", "phone": "13512345678",
                                      "address_node_id": tree.room})
    with serve(platform, port):
        yield base, tree, platform


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/portal/people.html")
    token = page.evaluate("""async (username) => {
        const r = await fetch('/api/auth/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({username, password: 'user-pass-123'})});
        const data = await r.json();
        localStorage.setItem('citybase.token', data.token);
        return data.token; }""", username)
    assert token


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_search_masked_then_unmask_with_purpose(served: tuple[str, SmallTree, Platform]) -> None:
    base, tree, platform = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, "gaj_user")
        page.goto(f"{base}/portal/people.html?node={tree.community}")
        rows = page.locator("#people-rows tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("孙**")
        expect(rows.first).not_to_contain_text(ID)
        rows.first.locator("button.show-person").click()
        page.fill("#purpose-input", "入户核查")
        page.click("#purpose-submit")
        card = page.locator("#person-card")
        expect(card).to_contain_text("孙志强")
        expect(card).to_contain_text(ID)
        expect(card).to_contain_text("135")
        _no_horizontal_scroll(page)
        entries = audit_entries(platform.store, SYSTEM, action="person.read_unmasked")
        assert [(e.actor, e.purpose) for e in entries] == [("gaj_user", "入户核查")]
        assert errors == []
        browser.close()


def test_department_without_grant_stays_masked_and_sees_statistics(served: tuple[str, SmallTree, Platform]) -> None:
    base = served[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, "jyj_user")
        page.fill("#q-id", ID)
        page.click("#people-search")
        rows = page.locator("#people-rows tr")
        expect(rows).to_have_count(1)
        rows.first.locator("button.show-person").click()
        page.fill("#purpose-input", "招生")
        page.click("#purpose-submit")
        expect(page.locator("#toast")).to_contain_text("403")
        expect(page.locator("#person-card")).not_to_contain_text("孙志强")
        page.goto(f"{base}/portal/stats.html")
        expect(page.locator("body")).to_have_attribute("data-loaded", "1")
        expect(page.locator("#stats-communities")).to_contain_text("檀溪社区")
        expect(page.locator("#stats-ages li")).to_have_count(7)
        assert page.locator("#stats-types").get_attribute("data-total") == "1"
        assert "孙" not in page.locator("main").inner_text()
        _no_horizontal_scroll(page)
        page.click("#lang-toggle")
        expect(page.locator("h1")).to_have_text("Population statistics")
        assert errors == []
        browser.close()
