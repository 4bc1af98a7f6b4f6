"""Statistics of the objects inside a drawn polygon: counts per class (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from pyproj import Geod
from shapely.geometry import LineString, box, mapping

from citybase.domains.access import SYSTEM
from citybase.domains.objects import NewObject, stats_in_area
from citybase.kernel.errors import InvalidInputError
from citybase.platform import Platform
from tests.helpers import ORIGIN, Api, add_building, add_lamp
from tests.test_api import assert_problem

X0, Y0 = ORIGIN
# Around the first three buildings and two lamps (see _city), not the far ones.
AREA = box(X0 - 0.0001, Y0 - 0.0001, X0 + 0.0025, Y0 + 0.0012)


def _city(platform: Platform) -> dict[str, Any]:
    near = [add_building(platform, f"{i}号楼", dx=i * 0.0008) for i in range(3)]
    far = add_building(platform, "远处楼", dx=0.01, dy=0.01)
    lamps = [add_lamp(platform, f"路灯{i}", dx=i * 0.001, dy=0.0008) for i in range(2)]
    add_lamp(platform, "远处路灯", dx=0.02)
    # A road that crosses the area but has no vertex inside: intersects, so it counts.
    road = platform.objects.create(
        SYSTEM,
        NewObject(
            class_code="020101",
            name="穿过路",
            geometry=LineString([(X0 - 0.001, Y0 + 0.0005), (X0 + 0.004, Y0 + 0.0005)]),
        ),
    )
    return {"near": near, "far": far, "lamps": lamps, "road": road}


def test_counts_per_class_inside_a_polygon(platform: Platform) -> None:
    city = _city(platform)
    stats = stats_in_area(platform.store, platform.classes, AREA)
    counts = {c.class_code: c.count for c in stats.classes}
    assert counts == {"050101": 3, "010301": 2, "020101": 1}
    assert stats.total == 6
    assert [c.class_code for c in stats.classes] == ["050101", "010301", "020101"]  # largest first
    buildings = stats.classes[0]
    assert (buildings.name, buildings.name_en) == ("建筑物", "Building")
    expected_area = abs(Geod(ellps="GRS80").geometry_area_perimeter(AREA)[0])
    assert stats.area_m2 == pytest.approx(expected_area, rel=1e-9)
    assert 20_000 < stats.area_m2 < 40_000  # ~245 m × 133 m at latitude 32°

    # Retired objects are history, not city: they leave the count.
    platform.objects.retire(SYSTEM, city["near"][0].id, city["near"][0].version)
    after = {c.class_code: c.count for c in stats_in_area(platform.store, platform.classes, AREA).classes}
    assert after["050101"] == 2


def test_class_filter_and_unknown_classes(platform: Platform) -> None:
    _city(platform)
    only = stats_in_area(platform.store, platform.classes, AREA, ["010301"])
    assert [(c.class_code, c.count) for c in only.classes] == [("010301", 2)]
    with pytest.raises(InvalidInputError) as err:
        stats_in_area(platform.store, platform.classes, AREA, ["010301", "999999"])
    assert err.value.issues[0].field == "classes[1]"
    empty = stats_in_area(platform.store, platform.classes, box(X0 + 0.05, Y0 + 0.05, X0 + 0.06, Y0 + 0.06))
    assert (empty.total, empty.classes) == (0, [])


def test_the_stats_endpoint(api: Api, platform: Platform) -> None:
    _city(platform)
    r = api.post("/api/objects/stats", json={"geometry": mapping(AREA)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 6
    assert body["classes"][0] == {"class_code": "050101", "name": "建筑物", "name_en": "Building", "count": 3}
    assert body["area_m2"] > 20_000
    r = api.post("/api/objects/stats", json={"geometry": mapping(AREA), "classes": ["020101"]})
    assert [c["class_code"] for c in r.json()["classes"]] == ["020101"]


@pytest.mark.parametrize(
    ("geometry", "field", "reason"),
    [
        ({"type": "Point", "coordinates": [X0, Y0]}, "geometry", "expected a Polygon or MultiPolygon"),
        (  # a bow tie
            {
                "type": "Polygon",
                "coordinates": [[[X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]],
            },
            "geometry",
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[Y0, X0], [Y0, X0 + 0.01], [Y0 + 0.01, X0], [Y0, X0]]]},
            "geometry",
            "looks like (lat, lon)",
        ),
        ({"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 1]]]}, "geometry", "not valid GeoJSON"),
        ("not a geometry", "geometry", "valid dictionary"),
        ({"coordinates": [X0, Y0]}, "geometry", "expected a GeoJSON geometry object"),
        (mapping(box(X0, Y0, X0 + 0.01, Y0 + 0.01).buffer(0.01, quad_segs=3000)), "geometry", "at most 10000"),
    ],
)
def test_bad_polygons_get_a_clear_400(api: Api, geometry: Any, field: str, reason: str) -> None:
    r = api.post("/api/objects/stats", json={"geometry": geometry})
    assert_problem(r, 400, field, reason)


def test_bad_class_filter_and_body(api: Api) -> None:
    r = api.post("/api/objects/stats", json={"geometry": mapping(AREA), "classes": ["abc"]})
    assert_problem(r, 400, "classes[0]", "not in the classification table")
    r = api.post("/api/objects/stats", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")
