"""Registry search (GET /api/registry/search): what the box recognises, what each role sees. Both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from citybase.demo.houses import make_uscc
from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.domains.registry.search import classify
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import ADMIN_PASSWORD, Api, add_building, add_department, add_user

PERSON = fake_citizen_id("420602", date(1985, 3, 14), 997)


@dataclass
class World:
    t: SmallTree
    org_id: int
    uscc: str
    code: str
    building_code: str


@pytest.fixture
def world(platform: Platform) -> World:
    t = small_tree(platform)
    uscc = make_uscc(11)
    org = platform.orgs.register(SYSTEM, {"uscc": uscc, "name": "襄阳檀溪便利店", "type": "self_employed",
                                          "legal_rep": "欧阳修文", "registered_address": "长虹路57号"})
    platform.orgs.bind(SYSTEM, {"organisation_id": org["id"], "address_node_id": t.building})
    obj = add_building(platform, "3栋")
    code = platform.codes.assign(SYSTEM, obj.id).code
    with platform.store.write() as conn:
        conn.exec_driver_sql(f"UPDATE address_node SET object_id = {obj.id} WHERE id = {t.building}")
    platform.people.register(SYSTEM, {"id_number": PERSON, "name": "张三丰", "address_node_id": t.room})
    building_code = platform.addresses.node(t.building).display_code
    assert building_code
    add_department(platform, "jyj", "教育局")
    add_user(platform, "jyj_user", "department_user", "jyj")
    return World(t, org["id"], uscc, code, building_code)


def search(api: Api, q: str) -> dict[str, Any]:
    r = api.get("/api/registry/search", params={"q": q})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_classify_recognises_each_kind() -> None:
    assert classify(PERSON) == "person"
    assert classify(make_uscc(3)) == "uscc"
    assert classify(PERSON[:17] + ("0" if PERSON[17] != "0" else "1")) == "person"  # a mistyped ID stays an ID
    assert classify("4206020010010001000010") != "object_code"  # 22 characters
    assert classify("42060200000060000001") == "display_code"
    assert classify("长虹路57号") == "text"


def test_each_kind_finds_its_record_with_links(world: World, api: Api) -> None:
    api.login("admin", ADMIN_PASSWORD)
    found = search(api, world.uscc.lower())  # case does not matter
    assert found["kind"] == "uscc" and [i["id"] for i in found["items"]] == [world.org_id]
    org = found["items"][0]
    assert org["links"]["org"] == f"/portal/registry.html?org={world.org_id}"
    assert org["links"]["house"] == f"/portal/house.html?node={world.t.building}"
    assert org["links"]["plate"] == f"/a/{world.building_code}"

    found = search(api, world.code)
    assert found["kind"] == "object_code" and found["items"][0]["code"] == world.code
    assert found["items"][0]["links"]["house"] == f"/portal/house.html?node={world.t.building}"
    assert found["items"][0]["links"]["code"] == f"/portal/code.html?code={world.code}"

    found = search(api, world.building_code)
    assert found["kind"] == "display_code" and found["items"][0]["id"] == world.t.building
    assert found["items"][0]["links"]["plate"] == f"/a/{world.building_code}"

    found = search(api, "长虹路57号檀溪花园3栋")
    assert found["kind"] == "text"
    assert found["items"][0]["type"] == "address" and found["items"][0]["id"] == world.t.building
    assert search(api, "檀溪便利店")["items"][-1]["type"] == "org"

    found = search(api, PERSON)
    assert found["kind"] == "person" and len(found["items"]) == 1
    person = found["items"][0]
    assert person["id_number"] != PERSON and "*" in person["id_number"] and person["title"].startswith("张*")  # masked
    assert person["links"]["person"] == f"/portal/people.html?node={world.t.room}"
    assert person["links"]["house"] == f"/portal/house.html?node={world.t.room}"


def test_bad_codes_say_what_is_wrong(world: World, api: Api) -> None:
    api.login("admin", ADMIN_PASSWORD)
    bad = world.uscc[:17] + ("1" if world.uscc[17] != "1" else "2")
    found = search(api, bad)
    assert found["items"] == [] and found["issues"][0]["field"] == "uscc"
    assert "check character" in found["issues"][0]["reason"]
    wrong_id = PERSON[:17] + ("0" if PERSON[17] != "0" else "1")
    found = search(api, wrong_id)
    assert found["kind"] == "person" and found["items"] == [] and found["issues"]
    assert api.get("/api/registry/search", params={"q": ""}).status_code == 400
    assert api.get("/api/registry/search", params={"q": "x" * 101}).status_code == 400


def test_person_search_only_for_allowed_roles(world: World, api: Api) -> None:
    assert api.get("/api/registry/search", params={"q": PERSON}).status_code == 401  # anonymous
    api.login("jyj_user", "user-pass-123")  # a department without a personal-data grant
    found = search(api, PERSON)
    assert found["kind"] == "person" and found["items"] == []
    assert "身份证号查询仅限" in found["message"] and "ID number" in found["message"]
    assert search(api, world.uscc)["items"][0]["id"] == world.org_id  # organisations it may find
