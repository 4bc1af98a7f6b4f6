"""Households (户): move a whole household, dissolve one; history kept, one transaction. Both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError
from citybase.platform import Platform
from citybase.store.people_tables import household_version, person_version, residence
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import ADMIN_PASSWORD, Api

HEAD = fake_citizen_id("420602", date(1985, 3, 14), 997)
SPOUSE = fake_citizen_id("420602", date(1987, 7, 2), 996)
CHILD = fake_citizen_id("420606", date(2016, 9, 1), 998)


def _family(platform: Platform, t: SmallTree) -> tuple[dict[str, Any], list[int]]:
    hh = platform.households.create(SYSTEM, t.room)
    ids = []
    for number, name, relation in ((HEAD, "张三丰", "户主"), (SPOUSE, "李四娘", "配偶"), (CHILD, "张小宝", "子女")):
        p = platform.people.register(SYSTEM, {"id_number": number, "name": name, "address_node_id": t.room,
                                              "household_id": hh["id"], "relation": relation,
                                              "move_in": "2020-05-01"})
        ids.append(p["id"])
    return platform.households.get(SYSTEM, hh["id"]), ids


def _count(platform: Platform, table: Any) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_moving_a_household_moves_every_member_and_keeps_history(platform: Platform) -> None:
    t = small_tree(platform)
    hh, ids = _family(platform, t)
    other = platform.addresses.create(SYSTEM, t.unit, "room", "601室").id
    moved = platform.households.move(SYSTEM, hh["id"], {"version": hh["version"], "address_node_id": other,
                                                         "date": "2024-06-01"})
    assert moved["address_node_id"] == other and moved["number"] == hh["number"]  # the 户号 stays
    assert moved["version"] == hh["version"] + 1
    members = platform.households.get(SYSTEM, hh["id"])["members"]
    assert sorted(m["id"] for m in members) == sorted(ids)
    assert {m["home"]["address_node_id"] for m in members} == {other}
    assert {m["relation"] for m in members} == {"户主", "配偶", "子女"}
    for pid in ids:
        hist = platform.people.history(SYSTEM, pid)
        assert [(r["address_node_id"], r["move_out"]) for r in hist["residences"]] == [
            (t.room, "2024-06-01"), (other, None)]
        assert hist["versions"][-1]["change"] == "move"
    changes = [v["change"] for v in platform.households.history(SYSTEM, hh["id"])]
    assert changes[0] == "create" and changes[-1] == "move"


def test_a_bad_or_stale_move_writes_nothing(platform: Platform) -> None:
    t = small_tree(platform)
    hh, _ = _family(platform, t)
    before = (_count(platform, residence), _count(platform, person_version), _count(platform, household_version))
    other = platform.addresses.create(SYSTEM, t.unit, "room", "602室").id
    with pytest.raises(ConflictError, match="version"):
        platform.households.move(SYSTEM, hh["id"], {"version": hh["version"] - 1, "address_node_id": other})
    with pytest.raises(InvalidInputError) as exc:
        platform.households.move(SYSTEM, hh["id"], {"version": hh["version"], "address_node_id": t.road})
    assert exc.value.issues[0].field == "address_node_id" and "road" in exc.value.issues[0].reason
    with pytest.raises(InvalidInputError) as exc:  # before the members moved in
        platform.households.move(SYSTEM, hh["id"], {"version": hh["version"], "address_node_id": other,
                                                    "date": "2019-01-01"})
    assert exc.value.issues[0].field == "date"
    with pytest.raises(InvalidInputError):
        platform.households.move(SYSTEM, hh["id"], {"version": hh["version"], "address_node_id": t.room})
    with pytest.raises(NotFoundError):
        platform.households.move(SYSTEM, 987654, {"version": 1, "address_node_id": other})
    after = (_count(platform, residence), _count(platform, person_version), _count(platform, household_version))
    assert after == before


def test_dissolving_keeps_members_at_home_or_moves_them_out(platform: Platform) -> None:
    t = small_tree(platform)
    hh, ids = _family(platform, t)
    gone = platform.households.dissolve(SYSTEM, hh["id"], {"version": hh["version"], "date": "2024-06-01"})
    assert gone["state"] == "dissolved" and gone["head_person_id"] is None
    for pid in ids:
        p = platform.people.get(SYSTEM, pid)
        assert p["home"]["address_node_id"] == t.room and p["home"]["household_id"] is None
    with pytest.raises(ConflictError, match="dissolved"):
        platform.households.dissolve(SYSTEM, hh["id"], {"version": gone["version"]})
    with pytest.raises(InvalidInputError):  # nobody joins a dissolved household
        platform.people.move(SYSTEM, ids[0], {"address_node_id": t.room, "household_id": hh["id"]})
    # a second household whose members leave the city
    other = platform.addresses.create(SYSTEM, t.unit, "room", "603室").id
    second = platform.households.create(SYSTEM, other)
    pid = platform.people.move(SYSTEM, ids[2], {"address_node_id": other, "household_id": second["id"],
                                                "relation": "户主", "date": "2024-07-01"})["id"]
    second = platform.households.get(SYSTEM, second["id"])
    with pytest.raises(InvalidInputError) as exc:
        platform.households.dissolve(SYSTEM, second["id"], {"version": second["version"], "members": "vanish"})
    assert exc.value.issues[0].field == "members"
    platform.households.dissolve(SYSTEM, second["id"], {"version": second["version"], "members": "leave",
                                                        "date": "2024-08-01"})
    p = platform.people.get(SYSTEM, pid)
    assert p["state"] == "moved_out" and p["home"] is None
    assert [v["change"] for v in platform.households.history(SYSTEM, second["id"])][-1] == "dissolve"


def test_household_move_and_dissolve_over_the_api(platform: Platform, api: Api) -> None:
    t = small_tree(platform)
    hh, _ = _family(platform, t)
    other = platform.addresses.create(SYSTEM, t.unit, "room", "604室").id
    url = f"/api/households/{hh['id']}"
    assert api.post(f"{url}/move", json={"version": hh["version"], "address_node_id": other}).status_code == 401
    api.login("admin", ADMIN_PASSWORD)
    r = api.post(f"{url}/move", json={"version": hh["version"], "address_node_id": other})
    assert r.status_code == 200, r.text
    assert api.post(f"{url}/move", json={"version": hh["version"], "address_node_id": t.room}).status_code == 409
    bad = api.post(f"{url}/dissolve", json={"version": r.json()["version"], "date": "2999-01-01"})
    assert bad.status_code == 400 and bad.json()["issues"][0]["field"] == "date"
    done = api.post(f"{url}/dissolve", json={"version": r.json()["version"]})
    assert done.status_code == 200 and done.json()["state"] == "dissolved"
    versions = api.get(f"{url}/history").json()["versions"]
    assert [v["change"] for v in versions][-2:] == ["move", "dissolve"]
    assert all("name" not in v for v in versions)
