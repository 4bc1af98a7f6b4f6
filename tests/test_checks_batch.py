"""Batch checks of the import path: ``check_geometries`` and ``ObjectService.check_many`` must reject
exactly what their one-at-a-time forms reject, with the same wording (issue 4, import throughput)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.objects import NewObject
from citybase.kernel.errors import InvalidInputError, Issue, PermissionDeniedError
from citybase.kernel.geo import check_geometries, check_geometry
from citybase.platform import Platform
from tests.helpers import ORIGIN, add_department, building_footprint

X, Y = ORIGIN
with np.errstate(invalid="ignore"):  # shapely warns when it builds a non-finite coordinate
    NOT_FINITE = [shapely.from_wkt(f"LINESTRING ({X} {Y}, {X + 0.01} NaN)"), shapely.from_wkt(f"POINT (Inf {Y})")]
BOW_TIE = Polygon([(X, Y), (X + 0.001, Y + 0.001), (X + 0.001, Y), (X, Y + 0.001), (X, Y)])
GEOMETRIES: list[BaseGeometry] = [
    Point(X, Y),
    building_footprint(),
    Point(Y, X),  # swapped lon/lat
    Point(10.0, 10.0),  # outside China
    *NOT_FINITE,
    shapely.Polygon(),  # empty
    BOW_TIE,
    MultiPolygon([building_footprint(), BOW_TIE]),
    LineString([(X, Y), (X + 0.01, Y), (X + 0.01, 60.0)]),  # last vertex north of China
]


def _one(geom: BaseGeometry, record: int) -> Issue | None:
    try:
        check_geometry(geom, record=record)
    except InvalidInputError as exc:
        return exc.issues[0]
    return None


def test_check_geometries_rejects_exactly_what_check_geometry_rejects() -> None:
    records = list(range(1, len(GEOMETRIES) + 1))
    expected = {i: issue for i, g in enumerate(GEOMETRIES) if (issue := _one(g, records[i])) is not None}
    assert set(expected) == {2, 3, 4, 5, 6, 7, 8, 9}  # the test data covers every kind of rejection
    assert check_geometries(GEOMETRIES, records) == expected
    assert "looks like (lat, lon)" in expected[2].reason and "outside China" in expected[3].reason
    assert "(112.15, 60.0)" in expected[9].reason
    assert check_geometries([], []) == {}


def test_check_many_matches_check_row_by_row(platform: Platform) -> None:
    news = [
        NewObject("050101", "1号楼", building_footprint(), {"floors": 3}),
        NewObject("050101", "", Point(*ORIGIN), {"floors": "three"}),  # name, attribute and geometry type
        NewObject("050101", "2号楼", BOW_TIE, {"floors": 4}),
        NewObject("nope", "x", Point(*ORIGIN)),
        NewObject("010301", "灯", Point(*ORIGIN), department_id=999_999, state="gone"),
        NewObject("010301", "灯2", Point(Y, X)),
    ]
    records = [10, 11, 12, 13, 14, 15]
    with platform.store.read() as conn:
        depts = platform.objects.departments(conn)
        rows, problems = platform.objects.check_many(conn, SYSTEM, news, records, depts)
        one_by_one: dict[int, list[Issue]] = {}
        for i, new in enumerate(news):
            try:
                platform.objects.check(conn, SYSTEM, new, records[i], depts)
            except InvalidInputError as exc:
                one_by_one[i] = exc.issues
    assert problems == one_by_one
    assert sorted(problems) == [1, 2, 3, 4, 5]
    assert {x.field for x in problems[1]} == {"name", "attributes.floors", "geometry"}
    assert {x.field for x in problems[4]} >= {"state", "department_id"}
    assert [r["name"] for r in rows] == ["1号楼"]
    assert rows[0]["created_at"] == rows[0]["updated_at"]


def test_check_many_refuses_a_writer_of_another_department(platform: Platform) -> None:
    zjj = add_department(platform, "zjj", "住建局")
    gaj = add_department(platform, "gaj", "公安局")
    police = Actor("police", "user", Role.DEPARTMENT_USER, department_id=gaj.id)
    news = [NewObject("010301", "灯", Point(*ORIGIN)), NewObject("010301", "灯", Point(*ORIGIN), department_id=zjj.id)]
    with platform.store.read() as conn:
        depts = platform.objects.departments(conn)
        with pytest.raises(PermissionDeniedError, match=r"record 2: .*一数一源"):
            platform.objects.check_many(conn, police, news, [1, 2], depts)


def test_a_batch_shares_one_timestamp(platform: Platform) -> None:
    ids = platform.objects.create_many(
        SYSTEM, [NewObject("010301", f"灯{i}", Point(X + i * 1e-4, Y)) for i in range(5)]
    )
    objs = [platform.objects.get(i) for i in ids]
    assert len({o.updated_at for o in objs}) == 1
    history = [platform.objects.history(i)[0] for i in ids]
    assert len({v.recorded_at for v in history}) == 1 and history[0].recorded_at == objs[0].updated_at
