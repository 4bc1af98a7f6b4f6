"""The people import page in a real headless Chromium: upload a GBK CSV, follow the job to the end, see the
registered and rejected counts and the rejected rows with their line, field and reason, in both languages."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from citybase.demo.people import fake_citizen_id
from tests.address_tree_helpers import small_tree
from tests.browser.live import ARGS, CHROMIUM, new_platform, serve
from tests.helpers import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_upload_a_people_csv_and_follow_its_job(tmp_path: Path) -> None:
    base, port, platform = new_platform(tmp_path)
    tree = small_tree(platform)
    lines = ["身份证号,姓名,地址节点,户号,与户主关系"]
    for i in range(6):
        cid = fake_citizen_id("420602", date(1960, 1, 1) + timedelta(days=i), 997)
        lines.append(f"{cid},{'王五6' if i == 3 else '王五'},{tree.room},W1,{'户主' if i == 0 else '子女'}")
    upload = tmp_path / "社区人口.csv"
    upload.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    errors: list[str] = []
    with serve(platform, port), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/portal/people.html")
        page.click("a[href='people-import.html']")
        expect(page.locator("h1")).to_have_text("人口批量导入")
        expect(page.locator("#pimp-login")).to_be_visible()
        page.evaluate("([u, p]) => import('./api.js').then((m) => m.api.login(u, p))", ["admin", ADMIN_PASSWORD])
        expect(page.locator("#pimp-login")).to_be_hidden()
        page.set_input_files("#pimp-file", str(upload))
        page.click("#pimp-submit")
        expect(page.locator("#pimp-state")).to_have_text("排队中")
        finished = platform.jobs.run_one()  # the test's server runs no job workers: this thread runs it
        assert finished is not None and finished.state == "succeeded"
        expect(page.locator("#pimp-state")).to_have_text("已完成", timeout=10_000)
        expect(page.locator("#pimp-registered dd")).to_have_text("5")
        expect(page.locator("#pimp-rejected dd")).to_have_text("1")
        row = page.locator("#pimp-row-errors tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("5")  # CSV line 5: the fourth person
        expect(row).to_contain_text("name")
        page.click("#lang-toggle")
        expect(page.locator("h1")).to_have_text("People import")
        expect(page.locator("#pimp-registered dt")).to_have_text("Registered")
        browser.close()
    assert errors == []
