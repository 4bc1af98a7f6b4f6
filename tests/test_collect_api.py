"""/api/tasks on both databases: the loop over HTTP, error statuses (422, 403, 409, 401), the gaps list."""

from __future__ import annotations

from typing import Any

from citybase.platform import Platform
from tests.helpers import Api
from tests.test_collect import GRID_A, PASSWORD, build_world


def as_user(api: Api, username: str) -> Api:
    api.anonymous()
    api.login(username, PASSWORD)
    return api


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_loop_over_http(api: Api, platform: Platform) -> None:
    w = build_world(platform)
    as_user(api, "reviewer_a")
    task = ok(api.post("/api/tasks", json={"kind": "address.rename", "title": "门牌变更", "detail": {"note": "改号"},
                                            "address_node_id": w.tree.plate}), 201)  # fmt: skip
    assert (task["state"], task["grid_id"], task["kind_zh"]) == ("open", GRID_A, "门牌变更")
    tid = task["id"]
    as_user(api, "worker_a")
    mine = ok(api.get("/api/tasks", params={"mine": "true"}))
    assert [t["id"] for t in mine["items"]] == [tid] and mine["total"] == 1
    task = ok(api.post(f"/api/tasks/{tid}/submit", json={"version": 1, "collected": {"name": "59号"}}))
    stale = api.post(f"/api/tasks/{tid}/submit", json={"version": 1, "collected": {"name": "60号"}})
    assert stale.status_code == 409
    as_user(api, "reviewer_a")
    assert [t["id"] for t in ok(api.get("/api/tasks", params={"queue": "first"}))["items"]] == [tid]
    bad = api.post(f"/api/tasks/{tid}/review-first", json={"version": 2, "decision": "reject"})
    assert bad.status_code == 400 and bad.json()["issues"][0]["field"] == "reason"
    wrong = api.post(f"/api/tasks/{tid}/review-first", json={"version": 2, "decision": "accept"})
    assert wrong.status_code == 400
    task = ok(api.post(f"/api/tasks/{tid}/review-first", json={"version": 2, "decision": "approve"}))
    again = api.post(f"/api/tasks/{tid}/review-first", json={"version": 3, "decision": "approve"})
    assert again.status_code == 409 and "already first_approved" in again.json()["detail"]
    as_user(api, "zjj_user")
    assert api.post(f"/api/tasks/{tid}/review-second", json={"version": 3, "decision": "accept"}).status_code == 403
    assert api.get(f"/api/tasks/{tid}").status_code == 403
    as_user(api, "mzj_user")
    task = ok(api.post(f"/api/tasks/{tid}/review-second", json={"version": 3, "decision": "accept"}))
    assert task["state"] == "accepted" and [e["action"] for e in task["events"]][-1] == "accept"
    assert platform.addresses.node(w.tree.plate).name == "59号"
    assert ok(api.get(f"/api/tasks/{tid}"))["version"] == 4


def test_return_cancel_and_gaps_over_http(api: Api, platform: Platform) -> None:
    w = build_world(platform)
    as_user(api, "reviewer_a")
    body = {"kind": "address.report", "title": "门牌破损", "address_node_id": w.tree.plate}
    a, b = ok(api.post("/api/tasks", json=body), 201), ok(api.post("/api/tasks", json=body), 201)
    ok(api.post(f"/api/tasks/{b['id']}/cancel", json={"version": 1, "reason": "重复上报"}))
    as_user(api, "worker_a")
    ok(api.post(f"/api/tasks/{a['id']}/submit", json={"version": 1, "collected": {"ok": True}}))
    as_user(api, "reviewer_a")
    back = ok(api.post(f"/api/tasks/{a['id']}/return", json={"version": 2, "reason": "照片不清楚"}))
    assert back["state"] == "returned" and back["last_reason"] == "照片不清楚"
    gaps = ok(api.get("/api/tasks/gaps"))
    assert gaps["total"] == 1 and gaps["rows"][0]["id"] == GRID_A and gaps["rows"][0]["ages"]["le_7d"] == 1
    assert ok(api.get("/api/tasks/gaps", params={"by": "department"}))["rows"][0]["scope"] == "department"
    assert api.get("/api/tasks/gaps", params={"by": "street"}).status_code == 400
    assert api.get("/api/tasks", params={"state": "lost"}).status_code == 400
    assert api.post("/api/tasks", json={**body, "kind": "castle"}).status_code == 400
    naive = api.post("/api/tasks", json={**body, "due_at": "2026-12-31T18:00:00"})
    assert naive.status_code == 400 and naive.json()["issues"][0]["field"] == "due_at"
    due = ok(api.post("/api/tasks", json={**body, "due_at": "2026-12-31T18:00:00+08:00"}), 201)
    assert due["due_at"] == "2026-12-31T10:00:00Z"
    assert api.post("/api/tasks/rules").status_code == 403
    assert len(ok(api.get("/api/tasks/kinds"))) > 5
    api.anonymous()
    assert api.get("/api/tasks").status_code == 401
    assert api.post("/api/tasks", json=body).status_code == 401
    assert api.post("/api/tasks", json={**body, "source": "scan"}).status_code == 401


def test_a_department_api_key_sees_only_its_departments_tasks(api: Api, platform: Platform) -> None:
    from citybase.domains.access import SYSTEM

    w = build_world(platform)
    mzj = platform.collect.create_task(SYSTEM, kind="address.report", title="门牌破损", address_node_id=w.tree.plate)
    zjj = platform.collect.create_task(SYSTEM, kind="house.update", title="房屋核实", address_node_id=w.tree.building)
    key = platform.access.issue_api_key(SYSTEM, "zjj", "住建系统对接").secret
    api.as_key(key)
    assert [t["id"] for t in ok(api.get("/api/tasks"))["items"]] == [zjj.id]
    assert api.get(f"/api/tasks/{mzj.id}").status_code == 403
    assert [g["id"] for g in ok(api.get("/api/tasks/gaps", params={"by": "department"}))["rows"]] == [
        platform.access.department("zjj").id
    ]
