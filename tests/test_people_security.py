"""Who sees which people, through the API, on both databases: grid workers see their grids only;
departments see masked data and statistics unless granted; unmasked reads need a purpose and are audited;
one department's API key cannot use another department's grant; a raw dump reveals no identity."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from shapely.geometry import box
from sqlalchemy import text

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import ANONYMOUS, SYSTEM, audit_entries
from citybase.domains.grids import NewGrid
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import ADMIN_PASSWORD, Api, add_department, add_user

PASSWORD = "user-pass-123"
ID_A = fake_citizen_id("420602", date(1980, 1, 2), 997)
ID_B = fake_citizen_id("420606", date(1992, 6, 30), 996)


class City:
    def __init__(self, platform: Platform, api: Api) -> None:
        self.platform, self.api = platform, api
        self.tree = small_tree(platform)
        a = platform.addresses
        b_building = a.create(SYSTEM, self.tree.community, "building", "8栋", lon=112.17, lat=32.02).id
        self.room_b = a.create(SYSTEM, b_building, "room", "101室").id
        self.gaj = add_department(platform, "gaj", "襄阳市公安局")
        self.jyj = add_department(platform, "jyj", "襄阳市教育局")
        add_user(platform, "gaj_user", "department_user", "gaj")
        add_user(platform, "jyj_user", "department_user", "jyj")
        add_user(platform, "worker_a", "grid_worker", None)
        g = platform.grids
        district = g.create(SYSTEM, NewGrid("district", "襄城区", box(112.0, 31.9, 112.3, 32.2),
                                            division_code="420602"))
        street = g.create(SYSTEM, NewGrid("street", "真武山街道", box(112.05, 31.95, 112.25, 32.15), district.id,
                                          None, "420602001"))
        community = g.create(SYSTEM, NewGrid("community", "檀溪社区", box(112.05, 31.95, 112.25, 32.15),
                                             street.id, None, "420602001001"))
        self.grid_a = g.create(SYSTEM, NewGrid("grid", "第一网格", box(112.10, 32.00, 112.15, 32.05), community.id)).id
        self.grid_b = g.create(SYSTEM, NewGrid("grid", "第二网格", box(112.15, 32.00, 112.20, 32.05), community.id)).id
        g.assign(SYSTEM, self.grid_a, platform.access.user("worker_a").id, "worker")
        g.refresh_address_grids()
        self.a = platform.people.register(SYSTEM, {"id_number": ID_A, "name": "王大明",
                                                   "address_node_id": self.tree.room})
        self.b = platform.people.register(SYSTEM, {"id_number": ID_B, "name": "李小红", "address_node_id": self.room_b,
                                                   "residence_type": "temporary"})

    def login(self, username: str) -> Api:
        self.api.anonymous()
        self.api.login(username, ADMIN_PASSWORD if username == "admin" else PASSWORD)
        return self.api

    def grant(self, department_id: int, scope: str = "all") -> dict[str, Any]:
        r = self.login("admin").post("/api/personal-data-grants",
                                     json={"department_id": department_id, "scope": scope, "purpose": "治安管理"})
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture
def city(platform: Platform, api: Api) -> City:
    return City(platform, api)


def test_grid_worker_sees_only_people_in_their_grid(city: City) -> None:
    api = city.login("worker_a")
    found = api.get("/api/people", params={"node_id": city.tree.community}).json()["people"]
    assert [p["id"] for p in found] == [city.a["id"]] and found[0]["name"] == "王**"
    assert api.get(f"/api/people/{city.b['id']}").status_code == 404
    assert api.get("/api/people", params={"id_number": ID_B}).json()["people"] == []
    full = api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "入户走访"})
    assert full.status_code == 200 and full.json()["id_number"] == ID_A
    assert api.get(f"/api/people/{city.b['id']}", params={"unmasked": "true", "purpose": "x"}).status_code == 404
    grids = {g["grid_id"]: g["residents"] for g in api.get("/api/stats/population/grids").json()["grids"]}
    assert grids == {city.grid_a: 1, city.grid_b: 1}  # statistics carry no personal data


def test_department_without_grant_sees_masked_and_statistics_only(city: City) -> None:
    api = city.login("jyj_user")
    p = api.get(f"/api/people/{city.a['id']}").json()
    assert p["masked"] is True and p["id_number"] != ID_A and "birth_date" not in p
    r = api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "招生"})
    assert r.status_code == 403 and "grant" in r.json()["detail"]
    assert api.get("/api/people", params={"name": "王大明"}).status_code == 403
    comm = api.get("/api/stats/population/communities").json()["communities"]
    assert comm[0]["residents"] == 2 and comm[0]["by_type"] == {"registered": 1, "temporary": 1}
    body = api.get("/api/stats/population/age-bands").text
    assert ID_A not in body and "王大明" not in body


def test_grant_and_purpose_unmask_and_are_audited(city: City) -> None:
    grant = city.grant(city.gaj.id)
    api = city.login("gaj_user")
    no_purpose = api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true"})
    assert no_purpose.status_code == 400 and no_purpose.json()["issues"][0]["field"] == "purpose"
    full = api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "案件核查 2024-17"})
    assert full.status_code == 200 and (full.json()["id_number"], full.json()["name"]) == (ID_A, "王大明")
    assert [p["id"] for p in api.get("/api/people", params={"name": "王大明"}).json()["people"]] == [city.a["id"]]
    entries = audit_entries(city.platform.store, SYSTEM, action="person.read_unmasked")
    assert [(e.actor, e.target_id, e.purpose, e.department_id) for e in entries] == [
        ("gaj_user", str(city.a["id"]), "案件核查 2024-17", city.gaj.id)]
    assert entries[0].detail == {"basis": "grant:all", "fields": ["id_number", "name", "phone", "birth_date"]}
    city.login("admin").post(f"/api/personal-data-grants/{grant['id']}/revoke")
    api = city.login("gaj_user")
    assert api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "x"}).status_code == 403


def test_grant_scoped_to_a_subtree(city: City) -> None:
    city.grant(city.gaj.id, f"node:{city.tree.compound}")
    api = city.login("gaj_user")
    assert api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "p"}).status_code == 200
    assert api.get(f"/api/people/{city.b['id']}", params={"unmasked": "true", "purpose": "p"}).status_code == 403


def test_api_key_of_one_department_cannot_use_another_departments_grant(city: City) -> None:
    city.grant(city.gaj.id)
    key_a = city.platform.access.issue_api_key(SYSTEM, "jyj", "教育局系统").secret
    key_b = city.platform.access.issue_api_key(SYSTEM, "gaj", "公安系统").secret
    api = city.api.as_key(key_a)
    assert api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "p"}).status_code == 403
    assert api.get(f"/api/people/{city.a['id']}").json()["masked"] is True
    api = city.api.as_key(key_b)
    full = api.get(f"/api/people/{city.a['id']}", params={"unmasked": "true", "purpose": "p"})
    assert full.json()["name"] == "王大明"


def test_only_admins_grant_and_anonymous_sees_nothing(city: City) -> None:
    api = city.login("gaj_user")
    r = api.post("/api/personal-data-grants", json={"department_id": city.gaj.id, "purpose": "自己给自己"})
    assert r.status_code == 403
    api.anonymous()
    assert api.get(f"/api/people/{city.a['id']}").status_code == 401
    assert api.get("/api/stats/population/communities").status_code == 401


def test_api_bad_input_and_stale_version(city: City) -> None:
    api = city.login("gaj_user")
    bad = api.post("/api/people", json={"id_number": ID_A[:-1] + ("1" if ID_A[-1] == "0" else "0"), "name": "赵六"})
    assert bad.status_code == 400 and bad.json()["issues"][0] == {
        "field": "id_number", "record": "person", "reason": bad.json()["issues"][0]["reason"]}
    room = api.post(f"/api/people/{city.b['id']}/move", json={"kind": "move_in", "address_node_id": city.tree.room})
    assert room.status_code == 409  # already lives elsewhere
    unknown = api.post(f"/api/people/{city.b['id']}/move", json={"address_node_id": 999_999})
    assert unknown.status_code == 400 and "no address node" in unknown.json()["issues"][0]["reason"]
    v = city.b["version"]
    assert api.patch(f"/api/people/{city.b['id']}", json={"version": v, "phone": "13900001111"}).status_code == 200
    stale = api.patch(f"/api/people/{city.b['id']}", json={"version": v, "phone": "13900002222"})
    assert stale.status_code == 409


def test_raw_dump_contains_no_identity(city: City) -> None:
    with city.platform.store.read() as conn:
        dump = repr([tuple(r) for t in ("person", "person_version", "residence", "household")
                     for r in conn.execute(text(f"SELECT * FROM {t}"))])
    for secret in (ID_A, ID_B, "王大明", "李小红", ID_A[-8:]):
        assert secret not in dump


def test_house_card_residents_follow_the_same_rules(city: City) -> None:
    p = city.platform
    worker = p.access.actor_for_token(p.access.login("worker_a", PASSWORD)[0])
    rooms = [city.tree.room, city.room_b]
    with p.store.read() as conn:
        assert [r["id"] for r in p.people.residents_at(conn, SYSTEM, rooms)] == [city.a["id"], city.b["id"]]
        assert [r["id"] for r in p.people.residents_at(conn, worker, rooms)] == [city.a["id"]]
        assert p.people.residents_at(conn, ANONYMOUS, rooms) == []
        assert all(r["masked"] for r in p.people.residents_at(conn, SYSTEM, rooms))
