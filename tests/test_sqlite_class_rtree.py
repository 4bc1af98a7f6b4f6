"""SQLite's class R*Tree (store/dialects/sqlite_classes.py, migration 0011): kept in step with
``city_object`` on every write path, built on old databases by the migration, used by tiles whose
layers are restricted to classes, and giving the same tiles as the 2-D R*Tree.

SQLite only (0011 is a no-op on PostGIS, whose class index is the GiST of migration 0012,
tests/test_class_spatial_index.py): the tests build their own SQLite platform from the session template.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, box
from sqlalchemy import and_, or_

from citybase.domains.access import SYSTEM
from citybase.domains.objects import NewObject, ObjectChanges
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.standards.mvt import decode_tile
from citybase.store import TileLayerSpec, render_mvt
from citybase.store.dialects import sqlite_tiles
from citybase.store.dialects.sqlite_classes import class_rank, rank_ranges
from citybase.store.migrate import current_revision, head_revision, upgrade
from citybase.store.schema import city_object
from tests.helpers import ADMIN_PASSWORD, ORIGIN
from tests.test_tiles import tile_at

# Classes with consecutive ranks (010201, 010202: one range) and far apart ones.
POINT_CLASSES = ("010301", "010201", "010202", "040101")


def _platform(url: str, tmp_path: Path) -> Platform:
    p = Platform(load_settings(data_dir=tmp_path / "data", database_url=url, job_workers=0, log_json=False))
    p.init(admin_password=ADMIN_PASSWORD)
    return p


@pytest.fixture
def lite(sqlite_template: Path, tmp_path: Path) -> Iterator[Platform]:
    target = tmp_path / "citybase.db"
    shutil.copyfile(sqlite_template, target)
    p = _platform(f"sqlite:///{target}", tmp_path)
    yield p
    p.store.dispose()


def _objects(n: int = 60) -> list[NewObject]:
    """Buildings and point objects of several classes spread over ~0.02° around ORIGIN (z12–z16)."""
    out = []
    for i in range(n):
        dx, dy = (i % 10) * 0.0021, (i // 10) * 0.0017
        x, y = ORIGIN[0] + dx, ORIGIN[1] + dy
        footprint = box(x, y, x + 0.0003, y + 0.00015)
        out.append(
            NewObject(class_code="050101", name=f"{i}号楼", geometry=footprint, attributes={"floors": i % 9 + 1})
        )
        cls = POINT_CLASSES[i % len(POINT_CLASSES)]
        out.append(NewObject(class_code=cls, name=f"点{i}", geometry=Point(x + 0.0005, y), attributes={}))
    return out


def _trees(p: Platform) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(2-D tree rows with the expected class dimension, class tree rows), both by id."""
    with p.store.read() as conn:
        flat = conn.exec_driver_sql(
            "SELECT r.id, r.minx, r.maxx, r.miny, r.maxy, o.class_code FROM city_object_rtree r "
            "JOIN city_object o ON o.id = r.id ORDER BY r.id"
        ).all()
        by_class = conn.exec_driver_sql("SELECT * FROM city_object_class_rtree ORDER BY id").all()
    expected = [(*row[:5], class_rank(row[5]), class_rank(row[5]) + 0.5) for row in flat]
    return expected, [tuple(r) for r in by_class]


def test_class_rank_and_ranges() -> None:
    assert class_rank("050101") == 50101 and class_rank("010202") == 10202
    assert class_rank("5010") == -1 and class_rank("05010x") == -1 and class_rank(None) == -1
    assert class_rank("０５０１０１") == -1  # full-width digits are not a class code
    assert rank_ranges(["010202", "050101", "010201", "010201"]) == [(10201, 10202), (50101, 50101)]


def test_every_write_path_keeps_the_class_tree_in_step(lite: Platform) -> None:
    ids = lite.objects.create_many(SYSTEM, _objects(20))  # bulk_load
    one = lite.objects.create(SYSTEM, NewObject(class_code="010301", name="灯", geometry=Point(*ORIGIN)))
    moved = lite.objects.update(SYSTEM, ids[0], 1, ObjectChanges(geometry=box(112.2, 32.1, 112.201, 32.1005)))
    lite.objects.update(SYSTEM, one.id, 1, ObjectChanges(name="新灯"))  # no geometry change
    lite.objects.retire(SYSTEM, ids[1], 1)  # retired objects stay in both trees (tiles filter the state)
    expected, got = _trees(lite)
    assert len(got) == len(ids) + 1 and got == expected
    assert next(r for r in got if r[0] == moved.id)[1] == pytest.approx(112.2, abs=1e-4)


def test_migration_builds_the_class_tree_of_an_old_database(lite: Platform) -> None:
    ids = lite.objects.create_many(SYSTEM, _objects(15))
    with lite.store.write() as conn:  # the database as it was at 0010: no class tree
        conn.exec_driver_sql("DROP TABLE city_object_class_rtree")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0010'")
    assert current_revision(lite.store) == "0010"
    # written at 0010 by today's code: the write path skips the tree it does not find
    ids += lite.objects.create_many(SYSTEM, _objects(5))
    lite.objects.create(SYSTEM, NewObject(class_code="010301", name="灯", geometry=Point(*ORIGIN)))
    tile = tile_at(ORIGIN[0], ORIGIN[1], 15)
    layers = _specs()[0]
    with lite.store.read() as conn:
        before = render_mvt(conn, tile, layers)  # by the 2-D tree, as before 0011
    upgrade(lite.store)
    assert current_revision(lite.store) == head_revision()
    expected, got = _trees(lite)
    assert len(got) == len(ids) + 1 and got == expected
    with lite.store.read() as conn:
        after = render_mvt(conn, tile, layers)
    assert _features(after) == _features(before) and _features(after)["b"]


def _features(data: bytes) -> dict[str, dict[int, Any]]:
    return {
        name: {f["id"]: (f["type"], f["geometry"], f["properties"]) for f in layer["features"]}
        for name, layer in decode_tile(data).items()
    }


def _specs() -> list[list[TileLayerSpec]]:
    c = city_object.c
    live = c.state != "retired"
    buildings = TileLayerSpec("b", and_(c.class_code == "050101", live), attributes=("floors",))
    points = [TileLayerSpec(k, and_(c.class_code == k, live)) for k in POINT_CLASSES]
    covers = TileLayerSpec("covers", or_(c.class_code == "010201", c.class_code == "010202"), simplify_px=1.0)
    return [[buildings], points, [buildings, *points], [covers], [buildings, covers]]


@pytest.mark.parametrize("z", [11, 12, 13, 14, 16])
def test_tiles_by_class_tree_equal_tiles_by_2d_tree(lite: Platform, z: int, monkeypatch: pytest.MonkeyPatch) -> None:
    lite.objects.create_many(SYSTEM, _objects())
    tiles = {tile_at(ORIGIN[0] + dx, ORIGIN[1] + dy, z) for dx in (0.0, 0.01, 0.019) for dy in (0.0, 0.009)}
    compared = 0
    for layers in _specs():
        for tile in sorted(tiles):
            with lite.store.read() as conn:
                monkeypatch.setattr(sqlite_tiles, "USE_CLASS_RTREE", True)
                new = render_mvt(conn, tile, layers)
                monkeypatch.setattr(sqlite_tiles, "USE_CLASS_RTREE", False)
                old = render_mvt(conn, tile, layers)
            assert _features(new) == _features(old), (tile, [s.name for s in layers])
            compared += sum(len(f) for f in _features(new).values())
    assert compared > 50  # the tiles were not all empty


def _plan(p: Platform, layers: list[TileLayerSpec], z: int) -> str:
    with p.store.read() as conn:
        by_class = sqlite_tiles._has_class_rtree(conn, city_object)
        stmt = sqlite_tiles._statement(city_object, z, layers, True, by_class)
        params = [0.0 if v is None else v for v in stmt.params]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt.sql, tuple(params)).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_class_layers_walk_the_class_tree_and_others_the_2d_tree(lite: Platform) -> None:
    buildings, _, basemap, covers, _ = _specs()
    for layers in (buildings, basemap, covers):
        for z in (12, 15):
            plan = _plan(lite, layers, z)
            assert "city_object_class_rtree VIRTUAL TABLE INDEX" in plan and "city_object_rtree" not in plan, plan
            assert "SCAN city_object " not in plan + " ", plan
    everything = [TileLayerSpec("all", None)]  # no class filter: the 2-D tree
    plan = _plan(lite, everything, 15)
    assert "city_object_rtree VIRTUAL TABLE INDEX" in plan and "class_rtree" not in plan, plan
    mixed = [buildings[0], TileLayerSpec("named", city_object.c.name == "1号楼")]
    assert "class_rtree" not in _plan(lite, mixed, 15)
    c = city_object.c
    nested = [TileLayerSpec("n", and_(c.state != "retired", or_(c.class_code == "010201", c.class_code == "010202")))]
    assert "city_object_class_rtree VIRTUAL TABLE INDEX" in _plan(lite, nested, 15)
    listed = [TileLayerSpec("in", c.class_code.in_(["010201", "050101"]))]
    assert "city_object_class_rtree VIRTUAL TABLE INDEX" in _plan(lite, listed, 15)
    never = [TileLayerSpec("none", and_(c.class_code == "050101", c.class_code == "010301"))]  # no class at all
    assert "class_rtree" not in _plan(lite, never, 15)


def test_class_codes_of_where_clauses() -> None:
    c = city_object.c
    codes = sqlite_tiles._class_codes
    assert codes(and_(c.class_code == "050101", c.state != "retired"), city_object) == {"050101"}
    assert codes(or_(c.class_code == "010201", and_(c.class_code == "010202", c.name == "x")), city_object) == {
        "010201",
        "010202",
    }
    assert codes(or_(c.class_code == "010201", c.name == "x"), city_object) is None
    assert codes(c.class_code != "050101", city_object) is None and codes(None, city_object) is None
    assert codes(and_(c.class_code.in_(["010201", "050101"]), c.state != "retired"), city_object) == {
        "010201",
        "050101",
    }
    assert codes(c.class_code.in_([]), city_object) is None and codes(c.class_code.not_in(["x"]), city_object) is None
