"""The standard address tree: strictness, display codes, renames with aliases and history, retire, the
interface the matcher uses (records, nearest, revision), permissions. Both databases."""

from __future__ import annotations

import pytest

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.addresses import LEVELS, DisplayCodeTemplate
from citybase.kernel.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from citybase.kernel.settings import Settings
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import add_department


def test_the_tree_is_strict(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    with pytest.raises(InvalidInputError) as exc:
        a.create(SYSTEM, t.community, "room", "101室")  # a room needs its building
    assert exc.value.issues[0].field == "parent_id" and "building" in exc.value.issues[0].reason
    with pytest.raises(InvalidInputError):
        a.create(SYSTEM, t.road, "unit", "2单元")
    with pytest.raises(InvalidInputError):
        a.create(SYSTEM, None, "room", "101室")  # no parent at all
    with pytest.raises(InvalidInputError):
        a.create(SYSTEM, t.unit, "castle", "x")  # not a level
    with pytest.raises(NotFoundError):
        a.create(SYSTEM, 999_999, "room", "101室")
    with pytest.raises(ConflictError):
        a.create(SYSTEM, t.unit, "room", "502室")  # one name per level under one parent
    with pytest.raises(InvalidInputError):
        a.create(SYSTEM, t.unit, "room", "  ")
    with pytest.raises(InvalidInputError) as bad:
        a.create(SYSTEM, t.unit, "room", "503室", lon=2.35, lat=48.85)  # Paris is not in China
    assert bad.value.issues[0].field in ("lon", "lat")
    floor = a.create(SYSTEM, t.unit, "floor", "6层").id
    assert a.create(SYSTEM, floor, "room", "601室").level == "room"
    path = [n.level for n in a.path(t.room)]
    assert path == [
        "province",
        "city",
        "district",
        "town",
        "community",
        "road",
        "door_number",
        "compound",
        "building",
        "unit",
        "room",
    ]
    assert set(path) <= set(LEVELS)


def test_records_for_the_matcher(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    rec = a.record(t.room)
    assert rec.full_address == "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园3栋1单元502室"
    assert rec.level == "room" and rec.parts["building"] == "3栋" and rec.community == "檀溪社区"
    assert rec.aliases == {"community": ("檀溪社区居委会",)}
    assert (rec.lon, rec.lat) == (112.1412, 32.0112)  # a room has no point: its building's
    assert rec.grid is not None and rec.grid.startswith("N49")
    rooms = list(a.iter_records(levels=["room"], batch=1))
    assert [r.id for r in rooms] == [t.room]
    assert len(list(a.iter_records(batch=3))) == len(list(a.iter_records()))
    near = a.nearest(112.1412, 32.0113, k=2)
    assert [r.id for r, _ in near] == [t.building, t.plate]
    assert 10 < near[0][1] < 13  # 0.0001° of latitude is about 11 m
    with pytest.raises(NotFoundError):
        a.record(123_456)


def test_display_code_template(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    building = a.node(t.building)
    # 12-digit division (inherited from 襄城区 here: the town was created without a code) + level 60 + serial
    assert building.display_code == "420602000000" + "60" + "000001"
    second = a.create(SYSTEM, t.compound, "building", "4栋")
    assert second.display_code == "42060200000060000002"
    codes = [c.node.display_code for c in a.children(t.community)]
    assert len(set(codes)) == len(codes)
    custom = DisplayCodeTemplate("{county}-{level_name}-{id}")
    assert custom.render("420602001008", "room", 1, 77) == "420602-room-77"
    with pytest.raises(ConfigurationError):
        DisplayCodeTemplate("{division}{level}")  # codes would repeat
    with pytest.raises(ConfigurationError):
        DisplayCodeTemplate("{division}{nonsense}{serial}")


def test_display_code_template_comes_from_settings(settings: Settings) -> None:
    p = Platform(settings.model_copy(update={"address_code_template": "A{county}{town}{community}{level}{serial:05d}"}))
    p.init(admin_password="admin-pass-123")
    try:
        with p.store.write() as conn:
            ids = p.addresses.ensure_divisions(conn)
        town = p.addresses.create(SYSTEM, ids["420602000000"], "town", "真武山街道", division_code="420602002000")
        assert town.display_code == "A4206020020002000001"
    finally:
        p.store.dispose()


def test_rename_keeps_the_old_name_searchable_and_history(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    before = a.revision()
    renamed = a.rename(SYSTEM, t.road, "长虹北路")
    assert renamed.name == "长虹北路" and renamed.version == 2
    assert a.changed_since(before) == 1
    assert ("长虹路", "old") in a.aliases(t.road)
    assert [(v.version, v.change, v.name) for v in a.history(t.road)] == [
        (1, "create", "长虹路"),
        (2, "rename", "长虹北路"),
    ]
    found = a.search("长虹路")  # the old name still finds the road (and everything on it is renamed)
    assert [r.id for r in found] == [t.road]
    assert a.record(t.room).full_address.startswith("湖北省襄阳市襄城区真武山街道檀溪社区长虹北路57号")
    assert a.record(t.room).aliases["road"] == ("长虹路",)
    assert {r.id for r in a.search("檀溪", level="compound")} == {t.compound}
    assert [r.id for r in a.search("502", under=t.building)] == [t.room]
    a.create(SYSTEM, t.community, "road", "人民路")
    with pytest.raises(ConflictError):
        a.rename(SYSTEM, t.road, "人民路")


def test_retire_needs_a_leaf_and_keeps_the_node(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    with pytest.raises(ConflictError):
        a.retire(SYSTEM, t.unit)  # it still has a room
    a.retire(SYSTEM, t.room)
    assert a.node(t.room).state == "retired"
    assert [h.change for h in a.history(t.room)] == ["create", "retire"]
    assert not list(a.iter_records(levels=["room"]))
    assert a.children(t.unit) == []
    assert [c.children for c in a.children(t.building)] == [0]
    with pytest.raises(ConflictError):
        a.create(SYSTEM, t.room, "room", "x")  # nothing hangs under a retired node (and not under a room)
    # the name is free again, with a new node and a new display code
    again = a.create(SYSTEM, t.unit, "room", "502室")
    assert again.id != t.room and again.display_code != a.node(t.room).display_code


def test_children_come_with_counts(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    a.create(SYSTEM, t.building, "unit", "2单元")
    [building] = a.children(t.compound)
    assert (building.node.id, building.children) == (t.building, 2)
    roots = a.children(None)
    assert [(r.node.level, r.node.name, r.children) for r in roots] == [("province", "湖北省", 1)]
    with pytest.raises(NotFoundError):
        a.children(424_242)


def test_only_civil_affairs_and_admins_write_the_tree(platform: Platform) -> None:
    t = small_tree(platform)
    a = platform.addresses
    mzj = add_department(platform, "mzj", "民政局")
    zjj = add_department(platform, "zjj", "住建局")
    civil = Actor("mzj_user", "user", Role.DEPARTMENT_USER, mzj.id)
    housing = Actor("zjj_user", "user", Role.DEPARTMENT_USER, zjj.id)
    viewer = Actor("viewer", "user", Role.VIEWER, mzj.id)
    with pytest.raises(PermissionDeniedError):
        a.create(housing, t.unit, "room", "601室")
    with pytest.raises(PermissionDeniedError):
        a.rename(viewer, t.room, "601室")
    node = a.create(civil, t.unit, "room", "601室")
    assert node.updated_by == "mzj_user"
