"""The population registry: registration, validation, moves, households, history, optimistic locking."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.kernel.errors import ConflictError, InvalidInputError
from citybase.platform import Platform
from citybase.store.people_tables import household_version, person, residence
from tests.address_tree_helpers import SmallTree, small_tree

ADULT = fake_citizen_id("420602", date(1985, 3, 14), 997)
CHILD = fake_citizen_id("420606", date(2016, 9, 1), 998)


def register(platform: Platform, number: str = ADULT, name: str = "张三丰", room: int | None = None,
             **extra: object) -> dict[str, Any]:
    payload = {"id_number": number, "name": name, "phone": "13812345678", **extra}
    if room is not None:
        payload["address_node_id"] = room
    return platform.people.register(SYSTEM, payload)


@pytest.fixture
def tree(platform: Platform) -> SmallTree:
    return small_tree(platform)


def test_register_derives_sex_and_birth_and_masks(platform: Platform, tree: SmallTree) -> None:
    p = register(platform, room=tree.room)
    assert p["id_number"] == ADULT[:4] + "*" * 10 + ADULT[-4:]
    assert p["name"] == "张**" and p["phone"] == "138****5678"
    assert p["sex"] == "male" and p["birth_year"] == 1985 and p["masked"] is True
    assert p["home"]["address_node_id"] == tree.room
    full = platform.people.get(SYSTEM, p["id"], unmasked=True, purpose="test")
    assert full["id_number"] == ADULT and full["name"] == "张三丰" and full["birth_date"] == "1985-03-14"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (ADULT[:-1] + ("0" if ADULT[-1] != "0" else "1"), "check character"),
        ("420602198502301234", "not a real date"),
        ("999999198503149970", "address code"),
    ],
)
def test_invalid_ids_are_rejected_with_field_and_reason(platform: Platform, number: str, reason: str) -> None:
    if reason != "check character":  # give the other cases a correct check character
        from stdnum.cn import ric

        number = number[:17] + ric.calc_check_digit(number[:17] + "0")
    with pytest.raises(InvalidInputError) as err:
        register(platform, number)
    issue = err.value.issues[0]
    assert issue.field == "id_number" and reason in issue.reason and issue.record == "person"
    with platform.store.read() as conn:
        assert conn.execute(select(person.c.id)).first() is None  # nothing half-written


def test_duplicate_id_is_a_conflict(platform: Platform) -> None:
    register(platform)
    with pytest.raises(ConflictError, match="already registered"):
        register(platform, name="李四")


def test_unknown_room_and_non_dwelling_rejected_and_nothing_written(platform: Platform, tree: SmallTree) -> None:
    with pytest.raises(InvalidInputError) as err:
        register(platform, room=987654)
    assert err.value.issues[0].field == "address_node_id" and "no address node 987654" in err.value.issues[0].reason
    with pytest.raises(InvalidInputError, match="not a dwelling"):
        register(platform, room=tree.community)
    with platform.store.read() as conn:  # the person row rolled back with the failed move-in
        assert conn.execute(select(person.c.id)).first() is None


def test_person_cannot_live_in_two_rooms(platform: Platform, tree: SmallTree) -> None:
    p = register(platform, room=tree.room)
    other = platform.addresses.create(SYSTEM, tree.unit, "room", "503室").id
    with pytest.raises(ConflictError, match="one place at a time"):
        platform.people.move(SYSTEM, p["id"], {"kind": "move_in", "address_node_id": other})
    # the database refuses too (partial unique index), whatever the service does
    with pytest.raises(Exception), platform.store.write() as conn:  # noqa: B017
        conn.execute(residence.insert().values(
            person_id=p["id"], address_node_id=other, relation="其他", residence_type="registered",
            move_in=date(2024, 1, 1), created_at=datetime.now(UTC), created_by="x"))


def test_move_keeps_history(platform: Platform, tree: SmallTree) -> None:
    p = register(platform, room=tree.room, move_in="2020-05-01")
    other = platform.addresses.create(SYSTEM, tree.unit, "room", "601室").id
    payload = {"address_node_id": other, "date": "2024-06-01", "version": p["version"]}
    moved = platform.people.move(SYSTEM, p["id"], payload)
    assert moved["home"]["address_node_id"] == other and moved["version"] == p["version"] + 1
    hist = platform.people.history(SYSTEM, p["id"])
    assert [r["address_node_id"] for r in hist["residences"]] == [tree.room, other]
    assert hist["residences"][0]["move_out"] == "2024-06-01" and hist["residences"][1]["move_out"] is None
    assert [v["change"] for v in hist["versions"]] == ["register", "move_in", "move"]
    out = platform.people.move(SYSTEM, p["id"], {"kind": "move_out", "move_out": "2024-07-01"})
    assert out["state"] == "moved_out" and out["residence_type"] == "moved_out" and out["home"] is None


def test_move_out_before_move_in_is_rejected(platform: Platform, tree: SmallTree) -> None:
    p = register(platform, room=tree.room, move_in="2024-05-01")
    with pytest.raises(InvalidInputError, match="bad move"):
        platform.people.move(SYSTEM, p["id"], {"kind": "move_out", "move_out": "2023-01-01"})


def test_stale_version_is_a_conflict(platform: Platform) -> None:
    p = register(platform)
    platform.people.update(SYSTEM, p["id"], p["version"], {"phone": "13900000000"})
    with pytest.raises(ConflictError, match="version"):
        platform.people.update(SYSTEM, p["id"], p["version"], {"phone": "13700000000"})
    assert platform.people.get(SYSTEM, p["id"], unmasked=True, purpose="t")["phone"] == "13900000000"


def test_households_and_head(platform: Platform, tree: SmallTree) -> None:
    hh = platform.households.create(SYSTEM, tree.room)
    head = register(platform, room=tree.room, household_id=hh["id"], relation="户主")
    register(platform, CHILD, "张小宝", room=tree.room, household_id=hh["id"], relation="子女")
    got = platform.households.get(SYSTEM, hh["id"])
    assert got["head_person_id"] == head["id"] and [m["relation"] for m in got["members"]] == ["户主", "子女"]
    with platform.store.read() as conn:
        history = [tuple(r) for r in conn.execute(select(household_version.c.version, household_version.c.change,
                                                         household_version.c.head_person_id))]
    assert history == [(1, "create", None), (2, "head", head["id"])]
    assert platform.population.households_per_building(SYSTEM)[0] == {
        "building_id": tree.building, "building": "3栋", "households": 1}


def test_search_by_id_name_and_subtree(platform: Platform, tree: SmallTree) -> None:
    p = register(platform, room=tree.room)
    assert [r["id"] for r in platform.people.search(SYSTEM, id_number=ADULT.lower())] == [p["id"]]
    assert [r["id"] for r in platform.people.search(SYSTEM, name="张三丰")] == [p["id"]]
    assert [r["id"] for r in platform.people.search(SYSTEM, node_id=tree.community)] == [p["id"]]
    assert platform.people.search(SYSTEM, node_id=tree.road + 10_000) == []


def test_statistics_without_personal_data(platform: Platform, tree: SmallTree) -> None:
    register(platform, room=tree.room)
    register(platform, CHILD, "李小明", room=tree.room, residence_type="temporary")
    at = date(2024, 9, 1)
    comm = platform.population.by_community(SYSTEM)
    assert comm == [{"community_id": tree.community, "community": "檀溪社区", "residents": 2,
                     "by_type": {"registered": 1, "temporary": 1}}]
    bands = {b["band"]: b["residents"] for b in platform.population.by_age_band(SYSTEM, at)}
    assert bands["6-14"] == 1 and bands["0-5"] == 0 and bands["35-59"] == 1
    zone = platform.population.create_zone(SYSTEM, "XQ1", "檀溪学区", [tree.community], "檀溪小学")
    zones = platform.population.school_age_by_zone(SYSTEM, date(2024, 9, 1))
    assert zones[0]["zone_id"] == zone and zones[0]["children"] == 1
    assert platform.population.school_age_by_zone(SYSTEM, date(2022, 8, 31))[0]["children"] == 0  # 5 the day before
    types = {t["residence_type"]: t["people"] for t in platform.population.by_residence_type(SYSTEM)}
    assert types == {"registered": 1, "resident": 0, "temporary": 1, "moved_out": 0}


def test_database_dump_holds_no_plain_id_or_name(platform: Platform) -> None:
    register(platform)
    with platform.store.read() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM person")) for v in row)
        dump += " ".join(str(v) for row in conn.execute(text("SELECT * FROM person_version")) for v in row)
    assert ADULT not in dump and ADULT[6:14] not in dump.replace("1985-03-14", "")
    assert "张三丰" not in dump and "13812345678" not in dump
