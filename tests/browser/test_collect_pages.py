"""The collection loop in a real headless Chromium: a grid worker submits on the phone page (390×844), the
street reviewer approves, the department reviewer accepts, and the door plate is renamed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD
from tests.test_collect import PASSWORD, World, build_world

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, World]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c.db'}", job_workers=0, log_json=False
    )
    platform = Platform(settings)
    platform.init(admin_password=ADMIN_PASSWORD)
    world = build_world(platform)
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield base, world
    server.should_exit = True
    thread.join(10)


def login(page: Page, username: str) -> None:
    page.fill("#task-user", username)
    page.fill("#task-pass", PASSWORD)
    page.click("#task-login button[type=submit]")
    expect(page.locator("#task-login")).to_be_hidden()


def fresh_page(browser: Any, base: str, path: str, errors: list[str], **kw: Any) -> Page:
    page: Page = browser.new_page(**kw)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/portal/{path}")
    return page


def test_worker_submits_street_approves_department_accepts(served: tuple[str, World]) -> None:
    base, world = served
    task = world.rename_task()
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # the grid worker, on a phone
        page = fresh_page(browser, base, "tasks.html", errors, viewport=PHONE)
        login(page, "worker_a")
        item = page.locator("#task-list .task-item").first
        expect(item).to_contain_text("门牌变更")
        expect(item).to_contain_text("待采集")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the list is {width}px wide on a 390px phone"
        item.click()
        expect(page.locator("#task-card h2")).to_contain_text("门牌变更")
        page.fill("#field-name", "59号")
        page.fill("#field-note", "现场门牌已更换")
        page.click("#task-submit")
        expect(page.locator("#task-done")).to_contain_text("已提交")
        expect(page.locator("#task-card")).to_contain_text("待初审")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.close()
        # the street reviewer
        page = fresh_page(browser, base, "review.html", errors)
        login(page, "reviewer_a")
        row = page.locator("#task-list .task-item").first
        expect(row).to_contain_text("待初审")
        row.click()
        expect(page.locator("#task-card")).to_contain_text("59号")
        page.click("#review-pass")
        expect(page.locator("#task-card")).to_contain_text("待复审")
        page.close()
        # the civil-affairs department (民政): second review applies the change
        page = fresh_page(browser, base, "review.html", errors)
        login(page, "mzj_user")
        expect(page.locator("body")).to_have_attribute("data-queue", "second")
        row = page.locator("#task-list .task-item").first
        expect(row).to_contain_text("门牌变更")
        row.click()
        page.click("#review-pass")
        expect(page.locator("#task-card")).to_contain_text("已入库")
        expect(page.locator("#gaps-rows")).to_be_attached()
        page.click("#lang-toggle")
        expect(page.locator("#queue-first")).to_have_text("First review (street)")
        browser.close()
    assert errors == []
    assert world.platform.addresses.node(world.tree.plate).name == "59号"
    assert world.platform.collect.get(world["mzj_user"], task.id).state == "accepted"


def test_a_returned_task_shows_its_reason_on_the_phone(served: tuple[str, World]) -> None:
    base, world = served
    task = world.act("worker_a", world.rename_task(), "submit", collected={"name": "5 9"})
    world.act("reviewer_a", task, "return", reason="门牌号格式不对")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = fresh_page(browser, base, "tasks.html", errors, viewport=PHONE)
        login(page, "worker_a")
        item = page.locator("#task-list .task-item").first
        expect(item).to_contain_text("门牌号格式不对")
        item.click()
        expect(page.locator("#task-card .task-reason")).to_contain_text("门牌号格式不对")
        expect(page.locator("#field-name")).to_have_value("5 9")
        page.fill("#field-name", "")
        page.fill("#field-note", "")
        page.fill("#field-name", "59号")
        page.click("#task-submit")
        expect(page.locator("#task-card")).to_contain_text("待初审")
        browser.close()
    assert errors == []
