"""The tile cache across processes: two Platform instances on one database (and one data dir), as two
web workers would be. A write in one reaches the other's memory cache through the change log in
``platform_meta`` within about a second; reading that log costs one query per second at most.

Every test runs on SQLite and PostGIS with the same assertions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from citybase.domains.access import SYSTEM
from citybase.domains.objects import CityObject, NewObject, ObjectChanges, ObjectQuery
from citybase.domains.tiles import changes
from citybase.platform import Platform
from citybase.store.schema import platform_meta
from tests.helpers import add_building, building_footprint
from tests.imports_helpers import import_file
from tests.test_tiles import TILE, features
from tests.test_tiles_datasets import MAPPING, buildings
from tests.test_tiles_datasets import TILE as DATASET_TILE

WAIT = changes.INTERVAL_S + 0.1


@pytest.fixture
def other(platform: Platform) -> Iterator[Platform]:
    """A second platform on the same database and data dir (another worker process, in effect)."""
    p = Platform(platform.settings)
    yield p
    p.meter.flush()
    p.store.dispose()


def floors(p: Platform, tileset: str = "050101") -> dict[str, int]:
    """Floors per building name, as ``p`` serves the tile."""
    got = features(p.tiles.tile(tileset, *TILE).data, "050101")
    return {f["properties"]["name"]: f["properties"]["floors"] for f in got.values()}


def set_floors(p: Platform, obj: CityObject, n: int) -> CityObject:
    now = p.objects.get(obj.id)
    p.objects.update(SYSTEM, obj.id, now.version, ObjectChanges(attributes={**now.attributes, "floors": n}))
    return p.objects.get(obj.id)


def test_a_write_in_one_process_reaches_the_memory_cache_of_another(platform: Platform, other: Platform) -> None:
    a = add_building(platform, "甲楼", floors=6)
    assert floors(platform) == floors(other) == {"甲楼": 6}
    assert floors(other, "basemap") == {"甲楼": 6}
    assert other.tiles.cached("050101", *TILE) is not None  # a memory hit in the other process
    set_floors(platform, a, 9)
    assert floors(platform) == {"甲楼": 9}  # the writer at once
    time.sleep(WAIT)
    # The other process: its memory hit is not trusted once the log is due, and the log drops the tile.
    assert other.tiles.cached("050101", *TILE) is None
    assert floors(other) == {"甲楼": 9} and floors(other, "basemap") == {"甲楼": 9}
    hit = other.tiles.cached("050101", *TILE)
    assert hit is not None and features(hit.data, "050101")[a.id]["properties"]["floors"] == 9
    # The writer does not drop its tiles a second time for its own change (the log skips it).
    hits, misses = platform.tiles.cache.hits, platform.tiles.cache.misses
    assert floors(platform) == {"甲楼": 9}
    assert (platform.tiles.cache.hits, platform.tiles.cache.misses) == (hits + 1, misses)
    # And the other way round: a write in the second process reaches the first.
    set_floors(other, a, 12)
    time.sleep(WAIT)
    assert floors(platform) == floors(other) == {"甲楼": 12}


def test_the_log_is_read_at_most_once_per_interval(platform: Platform, other: Platform) -> None:
    a = add_building(platform, "甲楼", floors=6)
    other.tiles.changes.interval_s = 3600.0
    assert floors(other) == {"甲楼": 6}
    assert other.tiles.changes.checks == 1
    for _ in range(5):
        floors(other)
        assert other.tiles.cached("050101", *TILE) is not None
    set_floors(platform, a, 9)
    # Within the interval the other process serves its memory cache and asks the database nothing.
    assert floors(other) == {"甲楼": 6}
    assert other.tiles.changes.checks == 1


def test_a_process_that_fell_behind_the_log_retires_every_tile(
    platform: Platform, other: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    a = add_building(platform, "甲楼", floors=6)
    assert floors(other) == {"甲楼": 6}
    for n in range(changes.KEEP + 1):  # more changes than the log keeps
        a = set_floors(platform, a, 10 + n)
    time.sleep(WAIT)
    with caplog.at_level(logging.INFO, logger=changes.__name__):
        assert floors(other) == {"甲楼": 10 + changes.KEEP}
    assert "retiring every tile" in caplog.text


def test_a_change_of_many_objects_is_logged_as_their_union(platform: Platform, other: Platform) -> None:
    add_building(platform, "甲楼", floors=6)
    assert floors(other) == {"甲楼": 6}
    news = [
        NewObject(
            class_code="050101", name=f"{i}号楼", geometry=building_footprint(0.00004 * i), attributes={"floors": 2}
        )
        for i in range(changes.MAX_BOXES + 1)
    ]
    platform.objects.create_many(SYSTEM, news)  # one transaction, one change with more boxes than kept
    with platform.store.read() as conn:
        log = conn.execute(select(platform_meta.c.value).where(platform_meta.c.key == changes.KEY)).scalar_one()
    last = log["log"][-1]
    assert last["n"] == log["n"] and last["classes"] == ["050101"] and len(last["boxes"]) == 1
    time.sleep(WAIT)
    assert len(floors(other)) == changes.MAX_BOXES + 2


def test_an_edit_of_a_dataset_layer_member_reaches_the_other_process(
    platform: Platform, other: Platform, tmp_path: Path
) -> None:
    path = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    run = import_file(platform, path, layer="zjj", class_code="050101", mapping=MAPPING)
    assert run.state == "succeeded"
    lyr = other.layers.get(SYSTEM, "zjj")

    def drawn(p: Platform) -> dict[str, int]:
        got = features(p.tiles.layer_tile(lyr, *DATASET_TILE).data, "050101")
        return {f["properties"]["name"]: f["properties"]["floors"] for f in got.values()}

    assert drawn(other) == {"甲楼": 5, "乙楼": 6}
    a = next(o for o in platform.objects.search(ObjectQuery(class_code="050101")).items if o.name == "甲楼")
    set_floors(platform, a, 8)
    time.sleep(WAIT)
    assert drawn(other) == drawn(platform) == {"甲楼": 8, "乙楼": 6}
