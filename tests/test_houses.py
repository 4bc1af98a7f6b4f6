"""Actual houses (实有房屋): validation, the strict tree (a room needs its building), history, optimistic
locking, inspections, the house card and the collection-loop entry point. Both databases."""

from __future__ import annotations

import pytest

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.registry import apply_house_update
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import add_building


def test_bad_attributes_name_record_field_and_reason(platform: Platform) -> None:
    t = small_tree(platform)
    with pytest.raises(InvalidInputError) as exc:
        platform.houses.create(
            SYSTEM,
            t.building,
            {"use": "castle", "year_built": 1066, "safety_grade": "E", "floor_area_m2": -3, "colour": "red"},
        )
    got = {i.field: i for i in exc.value.issues}
    assert set(got) == {"use", "year_built", "safety_grade", "floor_area_m2", "colour"}
    assert got["use"].record == f"address node {t.building}" and "residential" in got["use"].reason
    with pytest.raises(InvalidInputError) as exc:
        platform.houses.create(SYSTEM, t.building, {"structure": "钢混"})  # use is required
    assert exc.value.issues[0].field == "use"
    with pytest.raises(InvalidInputError) as exc:
        platform.houses.create(SYSTEM, t.plate, {"use": "commercial"})  # a door plate is not a house
    assert exc.value.issues[0].field == "address_node_id" and "door_number" in exc.value.issues[0].reason
    with pytest.raises(NotFoundError):
        platform.houses.create(SYSTEM, 999_999, {"use": "commercial"})
    with platform.store.read() as conn:  # nothing half-written
        assert conn.exec_driver_sql("SELECT count(*) FROM house").scalar() == 0


def test_a_room_needs_its_building_house_first(platform: Platform) -> None:
    t = small_tree(platform)
    with pytest.raises(InvalidInputError) as exc:
        platform.houses.create(SYSTEM, t.room, {"use": "residential"})
    issue = exc.value.issues[0]
    assert issue.field == "address_node_id" and "building" in issue.reason and str(t.building) in issue.reason
    platform.houses.create(SYSTEM, t.building, {"use": "residential", "structure": "钢混", "year_built": 2008})
    room = platform.houses.create(SYSTEM, t.room, {"use": "residential", "rental_status": "出租"})
    assert room["level"] == "room" and room["version"] == 1
    with pytest.raises(ConflictError):  # one house per address
        platform.houses.create(SYSTEM, t.room, {"use": "residential"})


def test_updates_keep_history_and_stale_versions_are_refused(platform: Platform) -> None:
    t = small_tree(platform)
    b = platform.houses.create(SYSTEM, t.building, {"use": "residential", "safety_grade": "A"})
    v2 = platform.houses.update(SYSTEM, b["id"], 1, {"rental_status": "出租", "floor_area_m2": 4200.5})
    assert v2["version"] == 2 and v2["rental_status"] == "出租" and v2["use"] == "residential"
    with pytest.raises(ConflictError) as exc:
        platform.houses.update(SYSTEM, b["id"], 1, {"rental_status": "空置"})  # read at 1, now 2
    assert exc.value.issues[0].field == "version"
    card = platform.houses.card(SYSTEM, house_id=b["id"])
    assert [v["version"] for v in card["history"]] == [1, 2]
    assert card["history"][0]["rental_status"] is None and card["history"][1]["rental_status"] == "出租"


def test_inspections_set_the_safety_grade(platform: Platform) -> None:
    t = small_tree(platform)
    b = platform.houses.create(SYSTEM, t.building, {"use": "residential", "safety_grade": "B"})
    with pytest.raises(InvalidInputError) as exc:
        platform.houses.add_inspection(SYSTEM, b["id"], {"inspected_on": "2026-13-01", "grade": "Z"})
    assert {i.field for i in exc.value.issues} == {"inspected_on", "grade", "inspector"}
    platform.houses.add_inspection(
        SYSTEM,
        b["id"],
        {
            "inspected_on": "2025-05-01",
            "grade": "C",
            "inspector": "王工",
            "department": "住建局",
            "findings": "外墙开裂",
        },
    )
    card = platform.houses.card(SYSTEM, node_id=t.building)
    assert card["house"]["safety_grade"] == "C" and card["house"]["version"] == 2
    assert card["history"][-1]["change"] == "inspect"
    assert card["inspections"][0]["findings"] == "外墙开裂"


def test_the_card_shows_address_codes_summary_and_organisations(platform: Platform) -> None:
    t = small_tree(platform)
    obj = add_building(platform, "3栋")
    platform.codes.assign(SYSTEM, obj.id)
    with platform.store.write() as conn:
        conn.exec_driver_sql(f"UPDATE address_node SET object_id = {obj.id} WHERE id = {t.building}")
    platform.houses.create(SYSTEM, t.building, {"use": "mixed"})
    platform.houses.create(SYSTEM, t.room, {"use": "commercial"})
    from citybase.demo.houses import make_uscc

    platform.orgs.register(
        SYSTEM,
        {
            "uscc": make_uscc(42),
            "name": "檀溪便利店",
            "type": "self_employed",
            "legal_rep": "张三丰",
            "registered_address": "别处",
        },
    )
    platform.orgs.bind(SYSTEM, {"uscc": make_uscc(42), "address_node_id": t.room})
    card = platform.houses.card(SYSTEM, node_id=t.building)
    assert card["address"]["full_address"].endswith("檀溪花园3栋")
    assert card["address"]["display_code"] and card["address"]["lon"] is not None
    assert card["unified_code"] is not None and len(card["unified_code"]) == 21
    assert card["summary"] == {"unit": 1, "floor": 0, "room": 1, "houses": 2}
    [org] = card["organisations"]
    assert org["name"] == "檀溪便利店" and org["legal_rep"] == "张**" and org["address_node_id"] == t.room
    room_card = platform.houses.card(SYSTEM, node_id=t.room)
    assert room_card["building"]["unified_code"] == card["unified_code"]
    assert isinstance(room_card["residents"], list)


def test_collection_loop_entry_point(platform: Platform) -> None:
    t = small_tree(platform)
    with platform.store.write() as conn:
        made = apply_house_update(conn, SYSTEM, {"address_node_id": t.building, "use": "residential", "task_id": 7})
        changed = apply_house_update(conn, SYSTEM, {"address_node_id": t.building, "rental_status": "空置"})
    assert made["version"] == 1 and changed["version"] == 2 and changed["rental_status"] == "空置"
    with pytest.raises(ConflictError), platform.store.write() as conn:
        apply_house_update(conn, SYSTEM, {"house_id": made["id"], "version": 1, "use": "public"})
    with pytest.raises(InvalidInputError), platform.store.write() as conn:
        apply_house_update(conn, SYSTEM, {"use": "public"})


def test_viewers_and_grid_workers_cannot_write_houses(platform: Platform) -> None:
    t = small_tree(platform)
    for role in (Role.VIEWER, Role.GRID_WORKER, Role.REVIEWER):
        with pytest.raises(PermissionDeniedError):
            platform.houses.create(Actor("x", "user", role), t.building, {"use": "residential"})
