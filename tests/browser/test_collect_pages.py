"""The collection loop in a real headless Chromium: a grid worker submits on the phone page (390×844), the
street reviewer approves, the department reviewer accepts, and the door plate is renamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.live import ARGS, CHROMIUM, new_platform, serve
from tests.test_collect import PASSWORD, World, build_world

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, World]]:
    base, port, platform = new_platform(tmp_path)
    world = build_world(platform)
    with serve(platform, port):
        yield base, world


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


def test_the_street_reassigns_an_open_task_from_the_dispatch_tab(served: tuple[str, World]) -> None:
    base, world = served
    task = world.rename_task()  # in grid A: worker_a's; the street of reviewer_a has no other worker
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = fresh_page(browser, base, "review.html", errors)
        login(page, "reviewer_a")
        page.click("#queue-open")
        row = page.locator("#task-list .task-item").first
        expect(row).to_contain_text("待采集")
        row.click()
        expect(page.locator("#reassign-form")).to_be_visible()
        expect(page.locator("#review-actions")).to_be_hidden()
        options = page.locator("#reassign-to option")
        expect(options).to_have_count(3)  # the pool, worker_a (the street's worker, now) and 民政's collector
        expect(page.locator("#reassign-to option:checked")).to_contain_text("(worker_a)")
        page.select_option("#reassign-to", value=str(world["mzj_user"].user_id))
        page.click("#reassign-go")  # no reason yet: refused, nothing changes
        expect(page.locator("#toast")).to_contain_text("reason")
        page.fill("#reassign-reason", "王师傅请假，改派")
        page.click("#reassign-go")
        expect(page.locator("#task-done")).to_contain_text("已改派")
        expect(page.locator("#task-card .task-events")).to_contain_text("改派")
        page.click("#lang-toggle")
        expect(page.locator("#queue-open")).to_have_text("Dispatch (to collect)")
        browser.close()
    assert errors == []
    moved = world.platform.collect.get(world["reviewer_a"], task.id)
    assert moved.assignee_id == world["mzj_user"].user_id and moved.events[-1].reason == "王师傅请假，改派"
