"""Naming workflows: happy paths, wrong roles and wrong steps, audit, the API. Both databases."""

from __future__ import annotations

import pytest

from citybase.domains.access import SYSTEM, Actor, Role, audit_entries
from citybase.kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import ADMIN_PASSWORD, Api, add_building, add_department, add_user


def _actors(platform: Platform) -> dict[str, Actor]:
    ids = {
        code: add_department(platform, code, name).id
        for code, name in (("mzj", "民政局"), ("zjj", "住建局"), ("hjzy", "汉江置业"))
    }
    return {code: Actor(f"{code}_user", "user", Role.DEPARTMENT_USER, i) for code, i in ids.items()}


def test_road_name_is_proposed_approved_and_recorded(platform: Platform) -> None:
    t = small_tree(platform)
    who = _actors(platform)
    flows = platform.addresses.workflows
    wf = flows.propose(
        who["zjj"],
        "road_name",
        t.community,
        {"name": "檀溪东路", "aliases": ["檀溪路东段"], "lon": 112.142, "lat": 32.012},
    )
    assert (wf.state, wf.next_step) == ("proposed", ("approve", "civil"))
    with pytest.raises(PermissionDeniedError):
        flows.act(who["zjj"], wf.id, "approve")  # only 民政 approves names
    done = flows.act(who["mzj"], wf.id, "approve", note="符合命名规范")
    assert done.state == "recorded" and done.next_step is None
    [road_id] = done.result["node_ids"]  # type: ignore[index]
    road = platform.addresses.node(road_id)
    assert (road.level, road.name, road.parent_id, road.updated_by) == ("road", "檀溪东路", t.community, "mzj_user")
    assert ("檀溪路东段", "common") in platform.addresses.aliases(road_id)
    assert [s["step"] for s in done.steps] == ["propose", "approve"]
    with pytest.raises(ConflictError):
        flows.act(who["mzj"], wf.id, "approve")  # nothing is left to do
    actions = [e.action for e in audit_entries(platform.store, SYSTEM, target_type="address_workflow")]
    assert actions == ["address.road_name.approve", "address.road_name.propose"]


def test_compound_name_needs_review_by_housing_before_approval(platform: Platform) -> None:
    t = small_tree(platform)
    who = _actors(platform)
    flows = platform.addresses.workflows
    wf = flows.propose(who["hjzy"], "compound_name", t.community, {"name": "汉江壹号", "developer": "汉江置业"})
    with pytest.raises(ConflictError, match="next step is review"):
        flows.act(who["mzj"], wf.id, "approve")  # wrong step: 住建 reviews first
    with pytest.raises(PermissionDeniedError):
        flows.act(who["hjzy"], wf.id, "review")  # the developer cannot review its own proposal
    reviewed = flows.act(who["zjj"], wf.id, "review")
    assert (reviewed.state, reviewed.next_step) == ("reviewed", ("approve", "civil"))
    with pytest.raises(PermissionDeniedError):
        flows.act(who["zjj"], wf.id, "approve")
    recorded = flows.act(who["mzj"], wf.id, "approve")
    assert recorded.state == "recorded"
    assert platform.addresses.node(recorded.result["node_ids"][0]).name == "汉江壹号"  # type: ignore[index]
    # the same name again under the same community is refused at once
    with pytest.raises(ConflictError):
        flows.propose(who["hjzy"], "compound_name", t.community, {"name": "汉江壹号"})


def test_rejection_and_bad_proposals(platform: Platform) -> None:
    t = small_tree(platform)
    who = _actors(platform)
    flows = platform.addresses.workflows
    wf = flows.propose(who["hjzy"], "compound_name", t.community, {"name": "宇宙中心"})
    with pytest.raises(PermissionDeniedError):
        flows.act(who["mzj"], wf.id, "reject")  # 住建 holds the next step, so only 住建 may reject now
    rejected = flows.act(who["zjj"], wf.id, "reject", note="夸大地名")
    assert rejected.state == "rejected" and rejected.result is None
    assert not platform.addresses.search("宇宙中心")
    with pytest.raises(InvalidInputError):
        flows.propose(who["zjj"], "road_name", t.unit, {"name": "x路"})  # a road does not go under a unit
    with pytest.raises(InvalidInputError):
        flows.propose(who["zjj"], "bridge_name", t.community, {"name": "x桥"})
    with pytest.raises(InvalidInputError):
        flows.propose(who["zjj"], "road_name", t.community, {"name": ""})
    with pytest.raises(InvalidInputError):
        flows.act(who["mzj"], wf.id, "bless")
    viewer = Actor("v", "user", Role.VIEWER, None)
    with pytest.raises(PermissionDeniedError):
        flows.propose(viewer, "road_name", t.community, {"name": "y路"})


def test_door_plates_for_a_new_building(platform: Platform) -> None:
    t: SmallTree = small_tree(platform)
    who = _actors(platform)
    flows = platform.addresses.workflows
    building = add_building(platform, "新楼")
    wf = flows.propose(
        who["zjj"],
        "door_plates",
        t.road,
        {
            "numbers": ["61", "61附1"],
            "object_id": building.id,
            "building_name": "新楼",
            "lon": 112.1418,
            "lat": 32.0109,
        },
    )
    assert wf.payload["numbers"] == ["61号", "61附1号"]
    with pytest.raises(InvalidInputError):
        flows.propose(who["zjj"], "door_plates", t.community, {"numbers": ["1"]})  # plates go on a road
    with pytest.raises(ConflictError):
        flows.propose(who["zjj"], "door_plates", t.road, {"numbers": ["57"]})  # 57号 exists
    with pytest.raises(InvalidInputError):
        flows.propose(who["zjj"], "door_plates", t.road, {"numbers": ["71"], "object_id": 987_654})
    recorded = flows.act(who["mzj"], wf.id, "approve")
    plates = recorded.result["node_ids"]  # type: ignore[index]
    assert [platform.addresses.node(i).name for i in plates] == ["61号", "61附1号"]
    assert [n.level for n in platform.addresses.find_object(building.id)] == ["door_number", "door_number", "building"]
    rec = platform.addresses.record(recorded.result["building_id"])  # type: ignore[index]
    assert rec.full_address.endswith("长虹路61号新楼") and rec.lon == 112.1418
    with pytest.raises(ConflictError):  # the building has its address now
        flows.propose(who["zjj"], "door_plates", t.road, {"numbers": ["63"], "object_id": building.id})


def test_workflows_over_the_api(api: Api, platform: Platform) -> None:
    t = small_tree(platform)
    add_department(platform, "mzj", "民政局")
    add_department(platform, "zjj", "住建局")
    add_user(platform, "mzj_user", "department_user", "mzj")
    add_user(platform, "zjj_user", "department_user", "zjj")
    api.login("zjj_user", "user-pass-123")
    r = api.post(
        "/api/addresses/workflows",
        json={"kind": "road_name", "parent_id": t.community, "payload": {"name": "檀溪南路"}},
    )
    assert r.status_code == 201, r.text
    wf = r.json()
    assert wf["next_step"] == {"step": "approve", "department": "civil"}
    assert api.post(f"/api/addresses/workflows/{wf['id']}/approve").status_code == 403
    assert api.post(f"/api/addresses/workflows/{wf['id']}/review").status_code == 409
    api.login("mzj_user", "user-pass-123")
    done = api.post(f"/api/addresses/workflows/{wf['id']}/approve", json={"note": "同意"})
    assert done.status_code == 200 and done.json()["state"] == "recorded"
    assert [w["id"] for w in api.get("/api/addresses/workflows", params={"state": "recorded"}).json()["items"]] == [
        wf["id"]
    ]
    node = api.get(f"/api/addresses/nodes/{done.json()['result']['node_ids'][0]}").json()
    assert node["name"] == "檀溪南路" and node["path"][-2]["name"] == "檀溪社区"
    api.login("admin", ADMIN_PASSWORD)
    kids = api.get(f"/api/addresses/nodes/{t.community}/children").json()["items"]
    assert {(k["name"], k["children"]) for k in kids} == {("长虹路", 1), ("檀溪南路", 0)}
    renamed = api.post(f"/api/addresses/nodes/{t.road}/rename", json={"name": "长虹北路"})
    assert renamed.status_code == 200
    hist = api.get(f"/api/addresses/nodes/{t.road}").json()
    assert [h["change"] for h in hist["history"]] == ["create", "rename"]
    assert {"name": "长虹路", "kind": "old"} in hist["aliases"]
    found = api.get("/api/addresses/search", params={"q": "长虹路"}).json()["items"]
    assert [f["id"] for f in found] == [t.road]
    assert api.get("/api/addresses/nodes/987654").status_code == 404
    created = api.post("/api/addresses/nodes", json={"parent_id": t.unit, "level": "room", "name": "601室"})
    assert created.status_code == 201 and created.json()["display_code"]
    bad = api.post("/api/addresses/nodes", json={"parent_id": t.community, "level": "room", "name": "601室"})
    assert bad.status_code == 422 or bad.status_code == 400
    assert api.get("/api/addresses/nodes").json()["items"][0]["name"] == "湖北省"
