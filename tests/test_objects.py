"""City objects: validation, versions, lifecycle, as-of reads, search, bulk creation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from shapely.geometry import Point, Polygon

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.objects import NewObject, ObjectChanges, ObjectQuery
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.kernel.geo import BBox
from citybase.platform import Platform
from tests.helpers import ORIGIN, add_building, add_department, add_lamp, building_footprint, point_at


def test_every_change_is_a_new_version_and_old_ones_stay_readable(platform: Platform) -> None:
    b = add_building(platform, floors=6)
    t1 = datetime.now(UTC)
    b2 = platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(attributes={"floors": 7}, name="1号楼(改)"))
    assert (b2.version, b2.attributes["floors"], b2.name) == (2, 7, "1号楼(改)")
    history = platform.objects.history(b.id)
    assert [(v.version, v.change, v.attributes["floors"]) for v in history] == [(1, "create", 6), (2, "update", 7)]
    assert platform.objects.get(b.id, as_of=t1).attributes["floors"] == 6
    with pytest.raises(NotFoundError):
        platform.objects.get(b.id, as_of=datetime(2000, 1, 1, tzinfo=UTC))


def test_delete_retires_and_nothing_is_lost(platform: Platform) -> None:
    b = add_building(platform)
    retired = platform.objects.retire(SYSTEM, b.id, 1)
    assert retired.state == "retired" and retired.valid_to is not None
    assert platform.objects.get(b.id).state == "retired"
    assert len(platform.objects.history(b.id)) == 2
    with pytest.raises(ConflictError, match="retired"):
        platform.objects.update(SYSTEM, b.id, 2, ObjectChanges(name="x"))


def test_lifecycle_transitions_are_checked(platform: Platform) -> None:
    planned = platform.objects.create(
        SYSTEM, NewObject("050101", "规划楼", building_footprint(), {"floors": 3}, state="planned")
    )
    active = platform.objects.update(SYSTEM, planned.id, 1, ObjectChanges(state="active"))
    assert active.state == "active"
    with pytest.raises(ConflictError, match="cannot move"):
        platform.objects.update(SYSTEM, planned.id, 2, ObjectChanges(state="planned"))


def test_stale_version_is_refused(platform: Platform) -> None:
    b = add_building(platform)
    platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(attributes={"floors": 9}))
    with pytest.raises(ConflictError, match="version 2"):
        platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(attributes={"floors": 10}))


def test_concurrent_updates_lose_nothing(platform: Platform) -> None:
    b = add_building(platform)
    outcomes: list[str] = []

    def writer(floors: int) -> None:
        try:
            platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(attributes={"floors": floors}))
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(10, 16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("conflict") == 5
    assert [v.version for v in platform.objects.history(b.id)] == [1, 2]


@pytest.mark.parametrize(
    ("new", "field", "reason"),
    [
        (NewObject("999999", "x", Point(*ORIGIN)), "class_code", "not in the classification table"),
        (NewObject("050101", "x", building_footprint(), {"floors": "six"}), "attributes.floors", "not of type"),
        (NewObject("050101", "x", building_footprint(), {}), "attributes.floors", "required"),
        (NewObject("050101", "x", building_footprint(), {"floors": 3, "colour": "红"}), "attributes.colour", "allowed"),
        (
            NewObject("050101", "x", building_footprint(), {"floors": 3, "use": "宫殿"}),
            "attributes.use",
            "is not one of",
        ),
        (NewObject("050101", "x", Point(*ORIGIN), {"floors": 3}), "geometry", "takes Polygon"),
        (NewObject("010301", "x", Point(32.0, 112.1)), "geometry", "looks like (lat, lon)"),
        (NewObject("010301", "x", Point(-74.0, 40.7)), "geometry", "outside China"),
        (
            NewObject(
                "050101",
                "x",
                Polygon([(112.1, 32.0), (112.2, 32.1), (112.2, 32.0), (112.1, 32.1), (112.1, 32.0)]),
                {"floors": 3},
            ),
            "geometry",
            "Self-intersection",
        ),
        (NewObject("010301", "", Point(*ORIGIN)), "name", "1-300 characters"),
        (NewObject("010301", "x", Point(*ORIGIN), department_id=999), "department_id", "no department 999"),
        (NewObject("010301", "x", Point(*ORIGIN), parent_id=12345), "parent_id", "no object 12345"),
        (NewObject("010301", "x", Point(*ORIGIN), state="gone"), "state", "must be one of"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    platform: Platform, new: NewObject, field: str, reason: str
) -> None:
    with pytest.raises(InvalidInputError) as err:
        platform.objects.create(SYSTEM, new)
    assert any(i.field == field and reason in i.reason for i in err.value.issues), err.value.issues
    assert platform.objects.search(ObjectQuery()).items == []


def test_a_bad_record_rejects_the_whole_batch_naming_it(platform: Platform) -> None:
    news = [NewObject("010301", f"灯{i}", point_at(i * 1e-4, 0)) for i in range(5)]
    news[3] = NewObject("010301", "坏灯", point_at(0, 0), {"power_w": -5})
    with pytest.raises(InvalidInputError) as err:
        platform.objects.create_many(SYSTEM, news)
    assert [(i.record, i.field) for i in err.value.issues] == [(3, "attributes.power_w")]
    assert platform.objects.search(ObjectQuery()).items == []
    ids = platform.objects.create_many(SYSTEM, news[:3])
    assert len(ids) == 3 and [platform.objects.get(i).name for i in ids] == ["灯0", "灯1", "灯2"]
    assert all(len(platform.objects.history(i)) == 1 for i in ids)


def test_parents_are_checked_in_chunks(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch may name more parents than one query can bind (PostgreSQL: 65,535 values)."""
    from citybase.domains.objects import service

    monkeypatch.setattr(service, "PARENT_CHUNK", 2)
    poles = [NewObject("010301", f"杆{i}", point_at(i * 1e-4, 0)) for i in range(5)]
    parents = platform.objects.create_many(SYSTEM, poles)
    children = [NewObject("010301", f"灯{i}", point_at(i * 1e-4, 1e-4), parent_id=p) for i, p in enumerate(parents)]
    assert len(platform.objects.create_many(SYSTEM, children)) == 5
    missing = max(parents) + 1000
    with pytest.raises(InvalidInputError) as err:
        orphan = NewObject("010301", "孤灯", point_at(0, 0), parent_id=missing)
        platform.objects.create_many(SYSTEM, [*children, orphan])
    assert [(i.record, i.field, i.reason) for i in err.value.issues] == [(5, "parent_id", f"no object {missing}")]


def test_search_by_class_name_text_bbox_attribute_and_department(platform: Platform) -> None:
    dept = add_department(platform)
    a = add_building(platform, "阳光小区1栋", floors=6, department_id=dept.id)
    b = add_building(platform, "阳光小区2栋", dx=0.01, floors=18, department_id=dept.id)
    lamp = add_lamp(platform, "路灯A")
    search = platform.objects.search
    assert {o.id for o in search(ObjectQuery(class_code="050101")).items} == {a.id, b.id}
    assert [o.id for o in search(ObjectQuery(text="小区2")).items] == [b.id]
    assert [o.id for o in search(ObjectQuery(name="路灯A")).items] == [lamp.id]
    x, y = ORIGIN
    assert {o.id for o in search(ObjectQuery(bbox=BBox(x - 0.001, y - 0.001, x + 0.001, y + 0.001))).items} == {
        a.id,
        lamp.id,
    }
    assert [o.id for o in search(ObjectQuery(class_code="050101", attributes={"floors": "18"})).items] == [b.id]
    assert [o.id for o in search(ObjectQuery(department_id=dept.id, limit=1)).items] == [a.id]
    page = search(ObjectQuery(department_id=dept.id, limit=1, count=True))
    assert page.has_more and page.total == 2
    with pytest.raises(InvalidInputError, match="bad filter"):
        search(ObjectQuery(class_code="050101", attributes={"colour": "红"}))


def test_as_of_search_sees_the_past(platform: Platform) -> None:
    b = add_building(platform, "旧名")
    t1 = datetime.now(UTC)
    platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(name="新名"))
    assert [o.name for o in platform.objects.search(ObjectQuery(as_of=t1)).items] == ["旧名"]
    assert [o.name for o in platform.objects.search(ObjectQuery(name="旧名", as_of=t1)).items] == ["旧名"]
    assert platform.objects.search(ObjectQuery(name="旧名")).items == []


def test_one_source_per_dataset_only_the_owner_writes(platform: Platform) -> None:
    zjj = add_department(platform, "zjj", "住建局")
    gaj = add_department(platform, "gaj", "公安局")
    b = add_building(platform, department_id=zjj.id)
    police = Actor("police", "user", Role.DEPARTMENT_USER, department_id=gaj.id)
    housing = Actor("housing", "user", Role.DEPARTMENT_USER, department_id=zjj.id)
    with pytest.raises(PermissionDeniedError, match="一数一源"):
        platform.objects.update(police, b.id, 1, ObjectChanges(name="x"))
    assert platform.objects.update(housing, b.id, 1, ObjectChanges(name="y")).name == "y"
    viewer = Actor("v", "user", Role.VIEWER, department_id=zjj.id)
    with pytest.raises(PermissionDeniedError):
        platform.objects.create(viewer, NewObject("010301", "x", Point(*ORIGIN)))
    # A department user creating without a department gets their own.
    lamp = platform.objects.create(housing, NewObject("010301", "灯", Point(*ORIGIN)))
    assert lamp.department_id == zjj.id


def test_the_audit_log_records_writes_and_cannot_be_changed(platform: Platform) -> None:
    from sqlalchemy import delete, update

    from citybase.domains.access import audit_entries
    from citybase.store.schema import audit_log

    b = add_building(platform)
    platform.objects.update(SYSTEM, b.id, 1, ObjectChanges(name="x"))
    actions = [e.action for e in audit_entries(platform.store, SYSTEM, target_type="city_object")]
    assert actions == ["object.update", "object.create"]
    for stmt in (update(audit_log).values(actor="mallory"), delete(audit_log)):
        with pytest.raises(Exception, match="append-only"), platform.store.write() as conn:
            conn.execute(stmt)
    assert len(audit_entries(platform.store, SYSTEM)) >= 2


def test_classes_are_data_and_operators_extend_them(platform: Platform) -> None:
    codes = {c.code for c in platform.classes.all()}
    assert {"050101", "020101", "010301", "010101", "010102", "040101", "020301", "060101", "060201"} <= codes
    new = platform.classes.create(
        SYSTEM,
        {
            "code": "019901",
            "major": "公用设施",
            "medium": "城市自定义",
            "name": "充电桩",
            "name_en": "EV charger",
            "geometry_type": "Point",
            "attributes": [{"name": "power_kw", "type": "number", "min": 1, "max": 500, "required": True}],
        },
    )
    assert new.code == "019901"
    obj = platform.objects.create(SYSTEM, NewObject("019901", "充电桩1", Point(*ORIGIN), {"power_kw": 60}))
    assert obj.attributes == {"power_kw": 60}
    with pytest.raises(ConflictError):
        platform.classes.create(SYSTEM, new.as_dict())
    with pytest.raises(InvalidInputError) as err:
        platform.classes.create(SYSTEM, {"code": "12", "attributes": [{"name": "1x", "type": "blob"}]})
    assert {i.field for i in err.value.issues} >= {"code", "name", "attributes[0]"}


def test_all_problems_of_a_record_are_reported_together(platform: Platform) -> None:
    bad = NewObject("050101", "", Point(32.0, 112.1), {"floors": "many", "colour": "红"}, state="gone")
    with pytest.raises(InvalidInputError) as err:
        platform.objects.create(SYSTEM, bad)
    assert {i.field for i in err.value.issues} == {
        "name",
        "attributes.floors",
        "attributes.colour",
        "geometry",
        "state",
    }
