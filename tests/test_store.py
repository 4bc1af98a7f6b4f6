"""Every named spatial operation, the same test body on SQLite and PostGIS."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, box
from sqlalchemy import event, select

from citybase.domains.objects import ObjectQuery
from citybase.kernel.geo import BBox
from citybase.platform import Platform
from citybase.store import (
    Store,
    area_m2,
    bbox_intersects,
    bulk_load,
    contains,
    distance_m,
    intersects,
    nearest,
    reserve_ids,
    text_match,
    within,
)
from citybase.store.schema import city_object
from tests.helpers import ORIGIN, add_building, add_lamp, point_at

GEOD = Geod(ellps="GRS80")


def _ids(store: Store, *conds: object) -> set[int]:
    with store.read() as conn:
        return set(conn.execute(select(city_object.c.id).where(*conds)).scalars())


@pytest.fixture
def grid(platform: Platform) -> dict[str, int]:
    """Nine lamps on a 3x3 grid, 0.001° apart, and one building around the centre one."""
    ids = {}
    for i in range(3):
        for j in range(3):
            ids[f"lamp{i}{j}"] = add_lamp(platform, f"路灯{i}{j}", dx=i * 0.001, dy=j * 0.001).id
    ids["building"] = add_building(platform, "中心楼", dx=0.0009, dy=0.0009).id
    return ids


def test_bbox_query_uses_the_spatial_index(store: Store, grid: dict[str, int]) -> None:
    x, y = ORIGIN
    got = _ids(store, bbox_intersects(city_object.c.geom, BBox(x - 1e-4, y - 1e-4, x + 0.0011, y + 1e-4)))
    assert got == {grid["lamp00"], grid["lamp10"]}


def test_a_page_of_a_small_window_is_planned_on_the_spatial_index(
    platform: Platform, store: Store, grid: dict[str, int]
) -> None:
    """The search reads the R*Tree / GiST index, not the whole table in id order (a city-scale trap)."""
    x, y = ORIGIN
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "FROM city_object" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        page = platform.objects.search(ObjectQuery(bbox=BBox(x - 1e-4, y - 1e-4, x + 0.0011, y + 1e-4)))
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert {o.id for o in page.items} == {grid["lamp00"], grid["lamp10"]}
    (statement, parameters), *_ = statements
    with store.engine.connect() as conn:
        if store.name == "sqlite":
            plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            assert "city_object_rtree VIRTUAL TABLE INDEX" in plan and "SCAN city_object " not in plan + " ", plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: make the planner pick an index
            plan = " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            # either GiST (the 2-D one, or the class one of 0012: on a table this small both cost the same)
            assert "_gist" in plan and "pk_city_object" not in plan, plan


def test_intersects_within_contains_are_exact(store: Store, grid: dict[str, int]) -> None:
    # A triangle whose bbox covers lamp11 but whose area does not: the R*Tree alone would be wrong.
    x, y = ORIGIN
    tri = shapely.Polygon([(x - 5e-4, y - 5e-4), (x + 0.0015, y - 5e-4), (x - 5e-4, y + 0.0015)])
    assert grid["lamp11"] not in _ids(store, intersects(city_object.c.geom, tri))
    assert grid["lamp00"] in _ids(store, intersects(city_object.c.geom, tri))
    area = box(x - 5e-4, y - 5e-4, x + 0.0015, y + 0.0015)
    inside = _ids(store, within(city_object.c.geom, area))
    assert {grid["lamp00"], grid["lamp11"], grid["building"]} <= inside
    assert grid["lamp22"] not in inside
    assert _ids(store, contains(city_object.c.geom, point_at(0.0011, 0.001))) == {grid["building"]}


def test_nearest_k_is_ranked_by_geodesic_distance(store: Store, grid: dict[str, int]) -> None:
    target = point_at(0.0021, 0.0019)
    with store.read() as conn:
        found = nearest(conn, city_object, target, k=3, where=city_object.c.class_code == "010301")
    assert found[0].id == grid["lamp22"]
    assert len(found) == 3
    expected = GEOD.inv(target.x, target.y, ORIGIN[0] + 0.002, ORIGIN[1] + 0.002)[2]
    assert found[0].distance_m == pytest.approx(expected, rel=5e-3)
    assert [n.distance_m for n in found] == sorted(n.distance_m for n in found)


def test_nearest_finds_far_objects_and_respects_k(store: Store, grid: dict[str, int]) -> None:
    with store.read() as conn:
        far = nearest(conn, city_object, Point(ORIGIN[0] + 0.5, ORIGIN[1] + 0.5), k=2)
        everything = nearest(conn, city_object, Point(*ORIGIN), k=100)
    assert len(far) == 2 and far[0].id == grid["lamp22"]
    assert len(everything) == 10


def test_distance_in_metres(store: Store, grid: dict[str, int]) -> None:
    p = point_at(0.0, 0.01)  # about 1.1 km north of lamp00
    with store.read() as conn:
        d = conn.execute(
            select(distance_m(city_object.c.geom, p)).where(city_object.c.id == grid["lamp00"])
        ).scalar_one()
    expected = GEOD.inv(ORIGIN[0], ORIGIN[1], p.x, p.y)[2]
    assert d == pytest.approx(expected, rel=5e-3)
    assert 1100 < d < 1120


def test_area_in_square_metres(store: Store, grid: dict[str, int]) -> None:
    with store.read() as conn:
        a = conn.execute(select(area_m2(city_object.c.geom)).where(city_object.c.id == grid["building"])).scalar_one()
    fp = box(0, 0, 0.0003, 0.00015)
    lat = math.radians(ORIGIN[1])
    approx = (fp.bounds[2] * 111_320 * math.cos(lat)) * (fp.bounds[3] * 110_900)
    assert a == pytest.approx(approx, rel=0.01)
    assert 400 < a < 500


def test_text_search_finds_chinese_substrings(store: Store, grid: dict[str, int]) -> None:
    assert _ids(store, text_match(city_object.c.name, "中心")) == {grid["building"]}
    assert _ids(store, text_match(city_object.c.name, "路灯1")) == {grid["lamp10"], grid["lamp11"], grid["lamp12"]}
    assert _ids(store, text_match(city_object.c.name, "100%")) == set()


def test_bulk_load_and_index_stay_in_sync(store: Store, platform: Platform) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with store.write() as conn:
        ids = reserve_ids(conn, city_object, 50)
        rows = [
            {
                "id": i,
                "code": None,
                "class_code": "010301",
                "name": f"灯{i}",
                "geom": point_at(k * 1e-4, 0),
                "attributes": {"lamp_type": "LED"},
                "department_id": None,
                "parent_id": None,
                "state": "active",
                "valid_from": now,
                "valid_to": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "updated_by": "test",
            }
            for k, i in enumerate(ids)
        ]
        bulk_load(conn, city_object, rows)
    assert len(set(ids)) == 50
    x, y = ORIGIN
    got = _ids(store, bbox_intersects(city_object.c.geom, BBox(x - 1e-6, y - 1e-6, x + 0.00245, y + 1e-6)))
    assert got == set(ids[:25])
    # Moving an object moves it in the index.
    obj = platform.objects.get(ids[0])
    from citybase.domains.access import SYSTEM
    from citybase.domains.objects import ObjectChanges

    platform.objects.update(SYSTEM, obj.id, obj.version, ObjectChanges(geometry=point_at(0.05, 0.05)))
    assert ids[0] not in _ids(
        store, bbox_intersects(city_object.c.geom, BBox(x - 1e-6, y - 1e-6, x + 0.00245, y + 1e-6))
    )
    assert ids[0] in _ids(store, intersects(city_object.c.geom, point_at(0.05, 0.05).buffer(1e-6)))


def test_geometries_round_trip_exactly(store: Store, platform: Platform) -> None:
    line = LineString([(112.1, 32.0), (112.2, 32.05), (112.25, 32.1)])
    from citybase.domains.access import SYSTEM
    from citybase.domains.objects import NewObject

    obj = platform.objects.create(
        SYSTEM, NewObject(class_code="020101", name="长虹路", geometry=line, attributes={"road_class": "主干路"})
    )
    assert platform.objects.get(obj.id).geometry.equals_exact(line, 0)


def test_spatial_and_text_statements_are_compiled_once_with_their_values_bound(
    store: Store, grid: dict[str, int]
) -> None:
    """The neutral elements carry their values as bound parameters (store/elements.py): the same query
    shape with other values is one SQL text, compiled once and cached, and each run gets its own values
    (a value baked in at compile time would come back in every later query)."""
    x, y = ORIGIN
    texts: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "city_object" in statement:
            texts.append(statement)

    def cached(conds: list[Any]) -> list[set[int]]:
        texts.clear()
        event.listen(store.engine, "before_cursor_execute", record)
        try:
            return [_ids(store, c) for c in conds]
        finally:
            event.remove(store.engine, "before_cursor_execute", record)

    c = city_object.c
    windows = [BBox(x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4), BBox(x + 0.0019, y + 0.0019, x + 0.0021, y + 0.0021)]
    assert cached([bbox_intersects(c.geom, w) for w in windows]) == [{grid["lamp00"]}, {grid["lamp22"]}]
    assert len(set(texts)) == 1 and str(x - 1e-4) not in texts[0], texts
    shapes = [box(x - 5e-4, y - 5e-4, x + 5e-4, y + 5e-4), box(x + 0.0015, y - 5e-4, x + 0.0025, y + 5e-4)]
    assert cached([within(c.geom, s) for s in shapes]) == [{grid["lamp00"]}, {grid["lamp20"]}]
    assert len(set(texts)) == 1
    near = [
        c.id.in_([grid["lamp00"], grid["lamp22"]]) & (distance_m(c.geom, p) < 50)
        for p in (point_at(0, 0), point_at(0.002, 0.002))
    ]
    assert cached(near) == [{grid["lamp00"]}, {grid["lamp22"]}]
    assert cached([text_match(c.name, t) for t in ("路灯00", "路灯21", "中心", "灯2")]) == [
        {grid["lamp00"]},
        {grid["lamp21"]},
        {grid["building"]},
        {grid["lamp20"], grid["lamp21"], grid["lamp22"]},
    ]
    assert "路灯" not in "".join(texts) and "中心" not in "".join(texts)
