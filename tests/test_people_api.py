"""The population API end to end (both databases): register, move, history, households, statistics,
enrolment zones, grants listing."""

from __future__ import annotations

from datetime import date

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import Api, add_department, add_user

HEAD = fake_citizen_id("420602", date(1975, 4, 5), 999)
KID = fake_citizen_id("420602", date(2015, 10, 1), 998)


def test_population_api_round_trip(platform: Platform, admin_api: Api) -> None:
    tree = small_tree(platform)
    api = admin_api
    hh = api.post("/api/households", json={"address_node_id": tree.room})
    assert hh.status_code == 201, hh.text
    hid = hh.json()["id"]
    head = api.post("/api/people", json={"id_number": HEAD, "name": "钱大海", "address_node_id": tree.room,
                                         "household_id": hid, "relation": "户主", "move_in": "2018-03-01"})
    assert head.status_code == 201, head.text
    kid = api.post("/api/people", json={"id_number": KID, "name": "钱小溪", "address_node_id": tree.room,
                                        "household_id": hid, "relation": "子女", "residence_type": "resident",
                                        "move_in": "2016-01-01"})
    assert kid.status_code == 201
    members = api.get(f"/api/households/{hid}").json()["members"]
    assert [(m["name"], m["relation"]) for m in members] == [("钱**", "户主"), ("钱**", "子女")]
    assert [h["id"] for h in api.get("/api/households", params={"node_id": tree.room}).json()["households"]] == [hid]

    other = platform.addresses.create(SYSTEM, tree.unit, "room", "602室").id
    moved = api.post(f"/api/people/{kid.json()['id']}/move",
                     json={"address_node_id": other, "date": "2024-01-15", "version": kid.json()["version"]})
    assert moved.status_code == 200 and moved.json()["home"]["address_node_id"] == other
    hist = api.get(f"/api/people/{kid.json()['id']}/history").json()
    assert [r["move_out"] for r in hist["residences"]] == ["2024-01-15", None]

    zone = api.post("/api/enrolment-zones", json={"code": "XQ9", "name": "檀溪学区", "node_ids": [tree.compound]})
    assert zone.status_code == 201
    school = api.get("/api/stats/population/school-age", params={"at": "2024-09-01"}).json()["zones"]
    assert school == [{"zone_id": zone.json()["id"], "code": "XQ9", "name": "檀溪学区", "school": None,
                       "children": 1, "at": "2024-09-01"}]
    per_building = api.get("/api/stats/population/households-per-building").json()["buildings"]
    assert per_building == [{"building_id": tree.building, "building": "3栋", "households": 1}]
    types = api.get("/api/stats/population/residence-types").json()["types"]
    assert {t["residence_type"]: t["people"] for t in types}["resident"] == 1
    ages = api.get("/api/stats/population/age-bands", params={"at": "2024-09-01", "node_id": tree.community}).json()
    assert {b["band"]: b["residents"] for b in ages["bands"]}["6-14"] == 1

    out = api.post(f"/api/people/{head.json()['id']}/move", json={"kind": "move_out", "move_out": "2024-02-01"})
    assert out.json()["state"] == "moved_out"
    comm = api.get("/api/stats/population/communities").json()["communities"]
    assert comm[0]["residents"] == 1


def test_grants_listing_is_per_department(platform: Platform, api: Api) -> None:
    gaj = add_department(platform, "gaj", "公安局")
    jyj = add_department(platform, "jyj", "教育局")
    add_user(platform, "jyj_user", "department_user", "jyj")
    platform.personal_grants.grant(SYSTEM, gaj.id, "all", "治安")
    platform.personal_grants.grant(SYSTEM, jyj.id, "node:1", "招生")
    bad = platform.personal_grants
    api.login("jyj_user", "user-pass-123")
    mine = api.get("/api/personal-data-grants").json()["grants"]
    assert [(g["department_id"], g["scope"]) for g in mine] == [(jyj.id, "node:1")]
    assert bad.list(SYSTEM)[0]["department_id"] == gaj.id
    r = api.post("/api/personal-data-grants/1/revoke")
    assert r.status_code == 403
