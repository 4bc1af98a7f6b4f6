"""Citizen reports from the public door-plate page: task creation, bad input, rate limit, no personal data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from citybase.domains.access import SYSTEM
from citybase.domains.collect.reports import RateLimitedError, RateLimiter, check_report
from citybase.kernel.errors import InvalidInputError
from citybase.platform import Platform
from citybase.store.collect_tables import collect_task
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import Api

PHONE = "13812345678"


def code(platform: Platform, node_id: int) -> str:
    return platform.addresses.node(node_id).display_code


def report(api: Api, display_code: str, **over: Any) -> Any:
    body = {"code": display_code, "kind": "new_shop", "description": "一楼新开了一家便利店", **over}
    return api.post("/api/public/reports", json=body)


def task_count(platform: Platform) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(collect_task)).scalar_one())


def test_a_report_creates_an_open_scan_task_with_the_phone_encrypted(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    r = report(api.anonymous(), code(platform, tree.building), phone=PHONE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reference"] == f"SB{body['task_id']:08d}" and body["state"] == "open"
    task = platform.collect.get(SYSTEM, body["task_id"])
    assert (task.kind, task.source, task.state, task.address_node_id) == ("org.report", "scan", "open", tree.building)
    assert "新开店铺" in task.title and "檀溪花园3栋" in task.title
    assert task.detail["description"] == "一楼新开了一家便利店"
    assert task.detail["contact_phone_masked"] == "138****5678"
    assert platform.people.personal.decrypt(task.detail["contact_phone_encrypted"]) == PHONE
    with platform.store.read() as conn:  # the plain number is nowhere in the stored task
        row = conn.execute(select(collect_task).where(collect_task.c.id == body["task_id"])).one()
    assert PHONE not in repr(row._mapping)
    assert (task.lon, task.lat) == (112.1412, 32.0112)
    r = report(api, code(platform, tree.plate), kind="wrong_plate", description="门牌号码写错了，应为59号")
    assert r.status_code == 201
    assert platform.collect.get(SYSTEM, r.json()["task_id"]).kind == "address.report"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"description": "很" * 501}, "description"),
        ({"description": " "}, "description"),
        ({"kind": "burglary"}, "kind"),
        ({"phone": "call me maybe"}, "phone"),
        ({"extra": "x"}, "extra"),
        ({"description": "x" * 2001}, "description"),
    ],
)
def test_bad_reports_are_clear_400s_and_write_nothing(
    platform: Platform, api: Api, over: dict[str, Any], field: str
) -> None:
    tree = small_tree(platform)
    r = report(api, code(platform, tree.building), **over)
    assert r.status_code == 400, r.text
    assert field in [i["field"] for i in r.json()["issues"]]
    assert task_count(platform) == 0


def test_unknown_code_form_posts_and_huge_bodies_are_refused(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    r = report(api, "NO-SUCH-PLATE")
    assert r.status_code == 404 and "NO-SUCH-PLATE" in r.json()["detail"]
    # a cross-site HTML form can only send form encodings or text/plain: not accepted (CSRF)
    form = {"code": code(platform, tree.building), "kind": "other", "description": "表单提交"}
    assert api.post("/api/public/reports", data=form).status_code == 400
    text = api.post("/api/public/reports", content=b'{"code": "x"}', headers={"Content-Type": "text/plain"})
    assert text.status_code == 400
    big = api.post(
        "/api/public/reports",
        content=b'{"code": "' + b"x" * 9000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 400
    assert task_count(platform) == 0


def test_rate_limit_per_client(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    nodes = [tree.plate, tree.compound, tree.building, tree.unit, tree.room, tree.road]
    for node in nodes[:5]:
        assert report(api, code(platform, node)).status_code == 201
    r = report(api, code(platform, nodes[5]))
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) > 0
    assert "at most 5 reports" in r.json()["detail"]
    assert task_count(platform) == 5
    assert report(api, "NO-SUCH-PLATE").status_code == 404  # look-ups are answered before the limit


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=2, window=60, clock=lambda: now[0])
    limiter.hit("a")
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(RateLimitedError) as exc:
        limiter.hit("a")
    assert exc.value.retry_after == 61
    now[0] = 59.0
    with pytest.raises(RateLimitedError):
        limiter.hit("a")
    now[0] = 60.5
    limiter.hit("a")  # the first hit left the window


def test_check_report_names_every_bad_field() -> None:
    with pytest.raises(InvalidInputError) as exc:
        check_report("", "x", "", 5)
    assert [i.field for i in exc.value.issues] == ["code", "kind", "description", "phone"]
    ok = check_report(" A1 ", "other", " 路灯坏了 ", "")
    assert (ok.display_code, ok.description, ok.phone) == ("A1", "路灯坏了", None)


# --- no personal data on the public page -------------------------------------------------------------
def _citizen_id(prefix17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


def _people_at(platform: Platform, tree: SmallTree) -> list[str]:
    """Register a resident in the room; return the strings that must never reach a public page."""
    number = _citizen_id("42060219900101123")
    payload = {"id_number": number, "name": "欧阳娜娜", "phone": "13987654321", "residence_type": "registered"}
    try:
        platform.people.register(SYSTEM, {**payload, "address_node_id": tree.room})
    except InvalidInputError:  # the room has no house record: register without moving in
        platform.people.register(SYSTEM, payload)
    return [number, number[:4] + "*" * 10 + number[-4:], "欧阳娜娜", "欧阳**", "13987654321", "139****4321"]


def test_public_pages_show_no_personal_data(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    secrets = _people_at(platform, tree)
    assert report(api, code(platform, tree.room), phone=PHONE, description="有人搬走了").status_code == 201
    secrets += [PHONE, "138****5678", "有人搬走了"]  # reports are not shown publicly either
    anonymous = api.anonymous()
    for node in (tree.room, tree.unit, tree.building, tree.compound, tree.plate):
        html = anonymous.get(f"/a/{code(platform, node)}").text
        data = anonymous.get(f"/api/public/addresses/{code(platform, node)}").text
        for secret in secrets:
            assert secret not in html and secret not in data, (node, secret)
    # the check can fail: the address itself is on the page
    assert "502室" in anonymous.get(f"/a/{code(platform, tree.room)}").text
