"""The class spatial index on both databases: a tile whose layers are restricted to classes reads the
index that holds the class beside the geometry (SQLite: the class R*Tree of migration 0011; PostGIS: the
(class_code, geom) GiST of migration 0012), and a layer over every class reads a spatial index too."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import and_

from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from citybase.store import TileLayerSpec, render_tile
from citybase.store.dialects import postgis, postgis_tiles
from citybase.store.migrate import _config, current_revision, upgrade
from citybase.store.schema import city_object
from tests.helpers import ORIGIN
from tests.test_sqlite_class_rtree import _objects
from tests.test_sqlite_class_rtree import _plan as sqlite_plan
from tests.test_tiles import tile_at

c = city_object.c
BUILDINGS = [TileLayerSpec("b", and_(c.class_code == "050101", c.state != "retired"), attributes=("floors",))]
EVERYTHING = [TileLayerSpec("all")]


def _plan(p: Platform, layers: list[TileLayerSpec], z: int) -> str:
    if p.store.name == "sqlite":
        return sqlite_plan(p, layers, z)
    _, x, y = tile_at(ORIGIN[0], ORIGIN[1], z)
    with p.store.read() as conn:
        sql, fixed = postgis_tiles._statement(conn.dialect, city_object, z, layers, 4096, 64, "WebMercatorQuad")
        params: dict[str, Any] = fixed | {"tile_z": z, "tile_x": x, "tile_y": y, "tile_margin": 64 / 4096}
        conn.exec_driver_sql("SET enable_seqscan = off")  # a small table: make the planner pick an index
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))


def _class_index(p: Platform) -> str:
    return "city_object_class_rtree" if p.store.name == "sqlite" else postgis.CLASS_GEOM_INDEX


def _flat_index(p: Platform) -> str:
    return "city_object_rtree VIRTUAL TABLE" if p.store.name == "sqlite" else "ix_city_object_geom_gist"


@pytest.mark.parametrize("z", [12, 15])
def test_class_tiles_read_the_class_spatial_index(platform: Platform, z: int) -> None:
    platform.objects.create_many(SYSTEM, _objects(200))
    if platform.store.name == "postgis":
        with platform.store.write() as conn:
            conn.exec_driver_sql("ANALYZE city_object")
    plan = _plan(platform, BUILDINGS, z)
    assert _class_index(platform) in plan and _flat_index(platform) not in plan, plan
    plan = _plan(platform, EVERYTHING, z)
    if platform.store.name == "sqlite":
        assert _flat_index(platform) in plan and _class_index(platform) not in plan, plan
    else:  # on a table this small either GiST costs the same; at city scale the planner takes the 2-D one
        assert "Index Scan" in plan and "Seq Scan" not in plan, plan


def test_postgis_migration_0012_adds_and_drops_the_class_index(platform: Platform) -> None:
    """On PostGIS 0012 builds the index on an existing database and its downgrade removes it; on SQLite
    it changes nothing (the class R*Tree of 0011 stays)."""

    def indexes() -> set[str]:
        with platform.store.read() as conn:
            if platform.store.name == "sqlite":
                rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE tbl_name LIKE 'city_object%'")
            else:
                rows = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'city_object'")
            return {r[0] for r in rows}

    before = indexes()
    with platform.store.write() as conn:
        command.downgrade(_config(conn), "0011")
    assert current_revision(platform.store) == "0011"
    if platform.store.name == "postgis":
        assert postgis.CLASS_GEOM_INDEX in before and postgis.CLASS_GEOM_INDEX not in indexes()
    else:
        assert indexes() == before and "city_object_class_rtree" in before
    platform.objects.create_many(SYSTEM, _objects(10))  # written without the index
    upgrade(platform.store)
    assert current_revision(platform.store) == "0012" and indexes() == before


def test_tile_sessions_plan_each_tile_without_jit_or_workers(platform: Platform) -> None:
    """Tiles run on PostGIS in sessions of their own settings (store/tiles.py): a custom plan per tile
    (its box), no parallel workers and no JIT compilation. SQLite has no such settings."""
    from citybase.store.tiles import _tile_engine

    if platform.store.name == "sqlite":
        assert render_tile(platform.store, (0, 0, 0), BUILDINGS) == b""
        return
    with _tile_engine(platform.store).connect() as conn:
        got = {k: conn.exec_driver_sql(f"SHOW {k}").scalar_one() for k in ("plan_cache_mode", "jit")}
        got["workers"] = conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar_one()
    assert got == {"plan_cache_mode": "force_custom_plan", "jit": "off", "workers": "0"}


def test_session_options_keep_those_of_the_url(platform: Platform) -> None:
    """A URL's own ``options`` (a search path, a timeout) survive the settings the pools add."""
    from citybase.store import Store
    from citybase.store.engine import session_options
    from citybase.store.tiles import _tile_engine

    assert session_options("postgresql://h/db", "-c jit=off") == "-c jit=off"
    assert session_options("postgresql://h/db?options=-c%20statement_timeout%3D5s", "-c jit=off") == (
        "-c statement_timeout=5s -c jit=off"
    )
    if platform.store.name == "sqlite":
        return
    store = Store(platform.store.url + "?options=-c%20statement_timeout%3D12345")
    try:
        for engine in (store.engine, _tile_engine(store)):
            with engine.connect() as conn:
                got = [conn.exec_driver_sql(f"SHOW {k}").scalar_one() for k in ("statement_timeout", "plan_cache_mode")]
            assert got == ["12345ms", "force_custom_plan"], got
    finally:
        store.dispose()
